//! Sign-in with an Archipel token, sign-out, and the language switch.

use archipel_archive::journal::PLATFORM;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::html;
use serde::Deserialize;

use crate::csrf;
use crate::error::UiResult;
use crate::extract::{Reader, Viewer};
use crate::i18n::{self, Lang};
use crate::session::{self, random_hex};
use crate::UiState;

#[derive(Deserialize, Default)]
pub struct SignInQuery {
    #[serde(default)]
    retour: Option<String>,
    #[serde(default)]
    motif: Option<String>,
}

/// Only this interface's own pages are places to come back to (no open redirect).
fn safe_return(r: Option<&str>) -> &str {
    match r {
        Some(p) if p.starts_with("/ui/") && !p.starts_with("//") && !p.contains('\\') => p,
        _ => "/ui/",
    }
}

fn form_page(l: Lang, csrf_token: &str, retour: &str, notice: Option<(&str, String)>) -> Response {
    let body = html! {
        @if let Some((class, text)) = &notice {
            div class={ "notice " (class) } role="alert" { p { (text) } }
        }
        p { (l.t(
            "Connectez-vous avec le jeton d’accès Archipel que l’administrateur de la plateforme vous a remis. Votre rôle et votre service d’archives en découlent.",
            "Sign in with the Archipel access token the platform administrator gave you. Your role and archives follow from it.",
        )) }
        form.stack method="post" action="/ui/connexion" {
            (super::csrf_field(csrf_token))
            input type="hidden" name="retour" value=(retour);
            label for="token" { (l.t("Jeton d’accès", "Access token")) }
            p.hint #token-hint { (l.t("Il commence par « ark_ ».", "It starts with “ark_”.")) }
            input #token type="password" name="token" required autocomplete="current-password" size="60" aria-describedby="token-hint";
            div { button.primary type="submit" { (l.t("Se connecter", "Sign in")) } }
        }
        p.hint { (l.t(
            "Session fermée après 30 minutes sans activité. Pensez à vous déconnecter sur un poste partagé.",
            "Sessions close after 30 minutes without activity. Sign out on a shared computer.",
        )) }
        p { a lang=(match l { Lang::Fr => "en", Lang::En => "fr" }) href={ "/ui/langue/" (match l { Lang::Fr => "en", Lang::En => "fr" }) "?retour=/ui/connexion" } {
            (l.t("English", "Français"))
        } }
    };
    crate::layout::bare(l, l.t("Connexion", "Sign in"), body)
}

pub async fn form(
    State(ui): State<UiState>,
    Reader(l): Reader,
    headers: HeaderMap,
    Query(q): Query<SignInQuery>,
) -> Response {
    let token = session::cookie(&headers, csrf::SIGNIN_COOKIE)
        .filter(|t| t.len() == 64)
        .map(str::to_owned)
        .unwrap_or_else(random_hex);
    let notice = match q.motif.as_deref() {
        Some("expiree") => Some((
            "warning",
            l.t(
                "Votre session a expiré après une période d’inactivité. Reconnectez-vous.",
                "Your session expired after a period of inactivity. Sign in again.",
            )
            .to_owned(),
        )),
        Some("revoque") => Some((
            "ko",
            l.t(
                "Votre jeton n’est plus valide (révoqué). Demandez-en un nouveau à l’administrateur.",
                "Your token is no longer valid (revoked). Ask the administrator for a new one.",
            )
            .to_owned(),
        )),
        Some("deconnecte") => Some(("ok", l.t("Vous êtes déconnecté.", "You are signed out.").to_owned())),
        _ => None,
    };
    let mut r = form_page(l, &token, safe_return(q.retour.as_deref()), notice);
    if let Ok(v) = ui.sessions.set_cookie(csrf::SIGNIN_COOKIE, &token).parse() {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

#[derive(Deserialize)]
pub struct SignIn {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    retour: String,
}

pub async fn submit(
    State(ui): State<UiState>,
    Reader(l): Reader,
    headers: HeaderMap,
    Form(f): Form<SignIn>,
) -> UiResult<Response> {
    let expected = session::cookie(&headers, csrf::SIGNIN_COOKIE).unwrap_or("");
    if !csrf::same(expected, &f.csrf) {
        csrf::refuse(&ui, None, "anonymous", "connexion").await;
        return Err(crate::error::UiError::Csrf);
    }
    let retour = safe_return(Some(&f.retour)).to_owned();
    let who = match ui.archive.auth.authenticate(f.token.trim()).await {
        Ok(p) => p,
        Err(e) => {
            tracing::info!("web interface: sign-in refused: {e}");
            let detail = serde_json::json!({"reason": e.to_string()});
            if let Err(e) = ui
                .archive
                .journal
                .record(PLATFORM, "ui.signin", "KO", "anonymous", None, detail)
                .await
            {
                tracing::error!("a refused sign-in could not be logged: {e}");
            }
            let message = l.t(
                "Ce jeton n’est pas reconnu (inconnu, révoqué ou mal copié). Vérifiez-le et recommencez.",
                "This token is not recognised (unknown, revoked or mistyped). Check it and try again.",
            );
            let mut r = form_page(l, expected, &retour, Some(("ko", message.to_owned())));
            *r.status_mut() = StatusCode::UNAUTHORIZED;
            return Ok(r);
        }
    };
    let book = who.tenant.clone().unwrap_or_else(|| PLATFORM.to_owned());
    ui.archive
        .journal
        .record(
            &book,
            "ui.signin",
            "OK",
            &who.id,
            None,
            serde_json::json!({"role": who.role.to_string()}),
        )
        .await?;
    let cookie = ui.sessions.open(f.token.trim().to_owned());
    // Operators have no tenant pages: they land on the cluster.
    // Requesters have only their communications.
    let target = match who.role {
        archipel_archive::auth::Role::Operator if retour == "/ui/" => "/ui/exploitation".to_owned(),
        archipel_archive::auth::Role::Requester if retour == "/ui/" => "/ui/communications".to_owned(),
        _ => retour,
    };
    let mut r = Redirect::to(&target).into_response();
    let h = r.headers_mut();
    if let Ok(v) = ui.sessions.set_cookie(session::COOKIE, &cookie).parse() {
        h.append(header::SET_COOKIE, v);
    }
    if let Ok(v) = ui.sessions.set_cookie(csrf::SIGNIN_COOKIE, "").parse() {
        h.append(header::SET_COOKIE, v);
    }
    Ok(r)
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default, rename = "_csrf")]
    pub csrf: String,
}

pub async fn sign_out(State(ui): State<UiState>, v: Viewer, Form(f): Form<CsrfOnly>) -> UiResult<Response> {
    csrf::check(&ui, &v, &f.csrf, "deconnexion").await?;
    ui.sessions.close(&v.cookie);
    let book = v.who.tenant.clone().unwrap_or_else(|| PLATFORM.to_owned());
    ui.archive
        .journal
        .record(&book, "ui.signout", "OK", &v.who.id, None, serde_json::json!({}))
        .await?;
    let mut r = Redirect::to("/ui/connexion?motif=deconnecte").into_response();
    if let Ok(h) = ui.sessions.set_cookie(session::COOKIE, "").parse() {
        r.headers_mut().insert(header::SET_COOKIE, h);
    }
    Ok(r)
}

#[derive(Deserialize)]
pub struct Back {
    #[serde(default)]
    retour: Option<String>,
}

/// The language switch: remembered in a cookie for a year.
pub async fn language(Path(lang): Path<String>, Query(b): Query<Back>) -> Response {
    let Some(l) = Lang::parse(&lang) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut r = Redirect::to(safe_return(b.retour.as_deref())).into_response();
    let cookie = format!(
        "{}={}; Path=/ui; Max-Age=31536000; SameSite=Strict",
        i18n::COOKIE,
        l.code()
    );
    if let Ok(v) = cookie.parse() {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}
