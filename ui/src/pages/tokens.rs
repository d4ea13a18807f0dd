//! Jetons d'accès (operators): the tokens of the platform, a form to create one (its secret shown
//! once, on the answer to the form) and a button to revoke each. Both go through the REST API's
//! own handlers (`archipel_archive::api::admin`), so checks and logbook entries are the API's.

use archipel_archive::api::admin::{create_token, list_tokens, revoke_token, NewToken};
use archipel_archive::api::{ApiError, Caller};
use archipel_archive::auth::{IssuedToken, Role, TokenRecord};
use archipel_archive::ArchiveError;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use maud::{html, Markup};
use serde::Deserialize;

use crate::error::{UiError, UiResult};
use crate::extract::{encode, Viewer};
use crate::format;
use crate::i18n::Lang;
use crate::layout::{self, role_label, Nav};
use crate::UiState;

/// The roles a token may take, in the order the form offers them.
const ROLES: [Role; 5] = [
    Role::Archivist,
    Role::ControlAuthority,
    Role::TransferringAgency,
    Role::Requester,
    Role::Operator,
];

#[derive(Deserialize, Default)]
pub struct Shown {
    /// A token just revoked (after the redirect).
    #[serde(default)]
    revoque: String,
}

pub async fn page(State(ui): State<UiState>, v: Viewer, Query(q): Query<Shown>) -> UiResult<Response> {
    render(&ui, &v, &TokenForm::default(), None, Some(q.revoque.as_str())).await
}

#[derive(Deserialize, Default)]
pub struct TokenForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    role: String,
    /// The tenant (service d'archives); empty for an operator.
    #[serde(default)]
    service: String,
    /// The transferring agency a transferring-agency token acts as.
    #[serde(default)]
    versant: String,
    /// The access contract a requester token acts under.
    #[serde(default)]
    contrat: String,
    #[serde(default)]
    libelle: String,
}

/// The page, with `notice` on top; `revoked` names a token just revoked (from the URL: said only
/// when the list confirms it, so a crafted link cannot make the page claim a revocation).
async fn render(
    ui: &UiState,
    v: &Viewer,
    f: &TokenForm,
    notice: Option<Markup>,
    revoked: Option<&str>,
) -> UiResult<Response> {
    let l = v.lang;
    // The API's handler checks the role (operators), and logs a refusal.
    let Json(mut tokens) = list_tokens(State(ui.archive.clone()), Caller(v.who.clone())).await?;
    let notice = notice.or_else(|| {
        let id = revoked.filter(|id| tokens.iter().any(|t| t.id == *id && t.revoked_at.is_some()))?;
        Some(html! { div.notice.ok role="status" { p {
            (l.t("Jeton ", "Token ")) code { (id) } (l.t(" révoqué : il n’ouvre plus aucune session.", " revoked: it opens no session any more."))
        } } })
    });
    tokens.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| a.id.cmp(&b.id)));
    let mut tenants = ui.archive.refs.tenants().await?;
    tenants.sort_by(|a, b| a.id.cmp(&b.id));
    let role = if f.role.is_empty() {
        "archivist"
    } else {
        f.role.as_str()
    };
    let body = html! {
        @if let Some(n) = notice { (n) }
        h2 { (l.t("Créer un jeton", "Create a token")) }
        p.hint { (l.t(
            "Un jeton est la clé d’un compte : il ouvre une session dans cette interface et donne accès à l’API, avec un rôle dans un service d’archives. Son secret n’est affiché qu’une fois, à la création.",
            "A token is an account's key: it opens a session in this interface and gives access to the API, with one role in one archive service. Its secret is shown once, when it is created.",
        )) }
        form.stack #nouveau-jeton method="post" action="/ui/jetons" {
            (super::csrf_field(&v.csrf))
            label for="role" { (l.t("Rôle", "Role")) }
            select #role name="role" {
                @for r in ROLES {
                    @let value = r.to_string();
                    option value=(value) selected[value == role] { (role_label(l, r)) }
                }
            }
            label for="service" { (l.t("Service d’archives (tenant)", "Archive service (tenant)")) }
            select #service name="service" aria-describedby="service-aide" {
                option value="" selected[f.service.is_empty()] { (l.t("— aucun (exploitant) —", "— none (operator) —")) }
                @for t in &tenants {
                    option value=(t.id) selected[f.service == t.id] {
                        (t.id) @if !t.name.is_empty() && t.name != t.id { " — " (t.name) }
                    }
                }
            }
            p.hint #service-aide { (l.t("Tous les rôles sauf l’exploitant agissent dans un service d’archives.", "Every role but the operator acts in one archive service.")) }
            label for="versant" { (l.t("Service versant (pour un service versant)", "Transferring agency (for a transferring agency)")) }
            input #versant type="text" name="versant" value=(f.versant);
            label for="contrat" { (l.t("Contrat d’accès (pour un demandeur)", "Access contract (for a requester)")) }
            input #contrat type="text" name="contrat" value=(f.contrat);
            label for="libelle" { (l.t("Libellé (à qui il est remis)", "Label (who it is given to)")) }
            input #libelle type="text" name="libelle" value=(f.libelle);
            div { button.primary type="submit" { (l.t("Créer le jeton", "Create the token")) } }
        }
        h2 { (l.t("Jetons existants", "Existing tokens")) }
        (list(l, v, &tokens))
    };
    Ok(layout::page(
        v,
        Some(Nav::Tokens),
        l.t("Jetons d’accès", "Access tokens"),
        body,
    ))
}

fn list(l: Lang, v: &Viewer, tokens: &[TokenRecord]) -> Markup {
    html! {
        @if tokens.is_empty() {
            p { (l.t("Aucun jeton.", "No token.")) }
        } @else {
            table {
                caption.visually-hidden { (l.t("Jetons existants", "Existing tokens")) }
                thead { tr {
                    th scope="col" { (l.t("Identifiant", "Identifier")) }
                    th scope="col" { (l.t("Rôle", "Role")) }
                    th scope="col" { (l.t("Service d’archives", "Archive service")) }
                    th scope="col" { (l.t("Service versant ou contrat", "Agency or contract")) }
                    th scope="col" { (l.t("Libellé", "Label")) }
                    th scope="col" { (l.t("Créé le", "Created on")) }
                    th scope="col" { (l.t("État", "State")) }
                } }
                tbody { @for t in tokens { tr {
                    td { code { (t.id) } }
                    td { (role_label(l, t.role)) }
                    td { (t.tenant.as_deref().unwrap_or("—")) }
                    td { (t.agency.as_deref().or(t.access_contract.as_deref()).unwrap_or("—")) }
                    td { (t.label) }
                    td { (format::datetime(l, t.created_at)) }
                    td {
                        @if let Some(at) = t.revoked_at {
                            span.status.ko { (l.t("Révoqué", "Revoked")) } " " (format::datetime(l, at))
                        } @else if t.id == v.who.id {
                            span.status.ok { (l.t("Actif", "Active")) } " " (l.t("(celui de votre session)", "(your session's)"))
                        } @else {
                            span.status.ok { (l.t("Actif", "Active")) }
                            form.inline method="post" action={ "/ui/jetons/" (encode(&t.id)) "/revocation" } {
                                (super::csrf_field(&v.csrf))
                                button.secondary type="submit" aria-label={ (l.t("Révoquer le jeton ", "Revoke token ")) (t.id) } { (l.t("Révoquer", "Revoke")) }
                            }
                        }
                    }
                } } }
            }
        }
    }
}

fn optional(s: &str) -> Option<String> {
    Some(s.trim().to_owned()).filter(|s| !s.is_empty())
}

pub async fn create(State(ui): State<UiState>, v: Viewer, Form(f): Form<TokenForm>) -> UiResult<Response> {
    crate::csrf::check(&ui, &v, &f.csrf, "jetons").await?;
    ui.archive.authorize_operator(&v.who).await?;
    let l = v.lang;
    let request = NewToken {
        tenant: optional(&f.service),
        role: f.role.trim().to_owned(),
        agency: optional(&f.versant),
        label: f.libelle.trim().to_owned(),
        access_contract: optional(&f.contrat),
    };
    match create_token(State(ui.archive.clone()), Caller(v.who.clone()), Json(request)).await {
        Ok((_, Json(issued))) => render(&ui, &v, &TokenForm::default(), Some(secret(l, &issued)), None).await,
        Err(ApiError(e @ (ArchiveError::Invalid(_) | ArchiveError::NotFound(_) | ArchiveError::Conflict(_)))) => {
            let notice = html! { div.notice.ko role="alert" { p {
                strong { (l.t("Refusé, aucun jeton créé : ", "Refused, no token created: ")) } (e.to_string())
            } } };
            let mut r = render(&ui, &v, &f, Some(notice), None).await?;
            *r.status_mut() = StatusCode::BAD_REQUEST;
            Ok(r)
        }
        Err(e) => Err(e.into()),
    }
}

/// The new token, shown this once (pages are never cached: `layout::security_headers`).
fn secret(l: Lang, issued: &IssuedToken) -> Markup {
    html! { div.notice.ok role="status" {
        p { strong { (l.t("Jeton créé : ", "Token created: ")) } code { (issued.id) } " — " (role_label(l, issued.role))
            @if let Some(t) = &issued.tenant { " · " (t) } }
        p { (l.t(
            "Copiez-le maintenant et remettez-le à son titulaire par un canal sûr : il ne sera plus jamais affiché.",
            "Copy it now and hand it to its holder over a safe channel: it will never be shown again.",
        )) }
        label for="secret" { (l.t("Jeton (secret)", "Token (secret)")) }
        input #secret.mono type="text" readonly value=(issued.token) size="90" autocomplete="off" spellcheck="false";
    } }
}

#[derive(Deserialize, Default)]
pub struct RevokeForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

pub async fn revoke(
    State(ui): State<UiState>,
    v: Viewer,
    Path(id): Path<String>,
    Form(f): Form<RevokeForm>,
) -> UiResult<Response> {
    crate::csrf::check(&ui, &v, &f.csrf, "jetons.revocation").await?;
    ui.archive.authorize_operator(&v.who).await?;
    if id == v.who.id {
        return Err(UiError::Archive(ArchiveError::Invalid(
            "this is the token of your own session: sign in with another operator token to revoke it".into(),
        )));
    }
    let Json(revoked) = revoke_token(State(ui.archive.clone()), Caller(v.who.clone()), Path(id)).await?;
    Ok(Redirect::to(&format!("/ui/jetons?revoque={}", encode(&revoked.id))).into_response())
}
