//! Who is looking: the session cookie, checked and re-authenticated on every request. Without
//! a live session, pages redirect to the sign-in page (which says when a session expired).

use archipel_archive::auth::{Principal, Role};
use archipel_archive::ArchiveError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};

use crate::error::{UiError, UiResult};
use crate::i18n::Lang;
use crate::session::{self, Closed};
use crate::UiState;

pub struct Viewer {
    pub lang: Lang,
    pub who: Principal,
    pub csrf: String,
    /// The session cookie's value (to close it).
    pub cookie: String,
    /// This request's path and query, for the language switch.
    pub here: String,
}

impl Viewer {
    /// The tenant this credential acts in; operators have none and see no tenant page.
    pub fn tenant(&self) -> UiResult<&str> {
        self.who
            .tenant
            .as_deref()
            .ok_or_else(|| UiError::Archive(ArchiveError::NotFound("tenant".into())))
    }

    /// The viewer's tenant, once the archive allowed one of `roles` there (a refusal is logged).
    pub async fn allow(&self, ui: &UiState, roles: &[Role]) -> UiResult<String> {
        let tenant = self.tenant()?.to_owned();
        ui.archive.authorize(&self.who, &tenant, roles).await?;
        Ok(tenant)
    }

    pub fn is(&self, roles: &[Role]) -> bool {
        roles.contains(&self.who.role)
    }
}

/// Where to send a reader without a session, coming back to `here` afterwards.
fn to_sign_in(here: &str, why: Option<&str>) -> Response {
    let back = if here.starts_with("/ui/") && !here.starts_with("/ui/connexion") {
        format!("?retour={}", encode(here))
    } else {
        String::new()
    };
    let why = match (why, back.is_empty()) {
        (Some(w), true) => format!("?motif={w}"),
        (Some(w), false) => format!("&motif={w}"),
        (None, _) => String::new(),
    };
    Redirect::to(&format!("/ui/connexion{back}{why}")).into_response()
}

/// Percent-encodes a path for a query value.
pub fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl FromRequestParts<UiState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, ui: &UiState) -> Result<Self, Self::Rejection> {
        let lang = Lang::from_headers(&parts.headers);
        let here = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| "/ui/".into());
        let Some(cookie) = session::cookie(&parts.headers, session::COOKIE).map(str::to_owned) else {
            return Err(to_sign_in(&here, None));
        };
        let s = match ui.sessions.touch(&cookie) {
            Ok(s) => s,
            Err(Closed::Expired) => return Err(to_sign_in(&here, Some("expiree"))),
            Err(Closed::Unknown) => return Err(to_sign_in(&here, None)),
        };
        let who = match ui.archive.auth.authenticate(&s.token).await {
            Ok(p) => p,
            Err(ArchiveError::Unauthenticated(_)) => {
                ui.sessions.close(&cookie);
                return Err(to_sign_in(&here, Some("revoque")));
            }
            Err(e) => return Err(UiError::Archive(e).into_response()),
        };
        Ok(Viewer {
            lang,
            who,
            csrf: s.csrf,
            cookie,
            here,
        })
    }
}

/// The reader's language, for pages without a session.
pub struct Reader(pub Lang);

impl<S: Send + Sync> FromRequestParts<S> for Reader {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Reader(Lang::from_headers(&parts.headers)))
    }
}
