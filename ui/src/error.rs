//! Errors as pages: a handler returns `UiError`, and `render` (a middleware that knows the
//! reader's language) turns it into an HTML page with the right status. Another tenant's
//! resources answer exactly like missing ones.

use archipel_archive::ArchiveError;
use axum::http::{Request, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use maud::html;

use crate::i18n::Lang;

#[derive(Debug)]
pub enum UiError {
    Archive(ArchiveError),
    /// A form without the session's CSRF token.
    Csrf,
}

impl From<ArchiveError> for UiError {
    fn from(e: ArchiveError) -> Self {
        Self::Archive(e)
    }
}

/// The REST API's handlers, called by the pages that act through them, fail as the archive does.
impl From<archipel_archive::api::ApiError> for UiError {
    fn from(e: archipel_archive::api::ApiError) -> Self {
        Self::Archive(e.0)
    }
}

pub type UiResult<T> = Result<T, UiError>;

/// Carried from the handler to [`render`].
#[derive(Clone)]
struct ErrorPage {
    status: StatusCode,
    detail: Option<String>,
    csrf: bool,
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let page = match &self {
            UiError::Csrf => ErrorPage {
                status: StatusCode::FORBIDDEN,
                detail: None,
                csrf: true,
            },
            UiError::Archive(e) => {
                let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                if status.is_server_error() {
                    tracing::warn!("web interface: {e}");
                }
                // Not-found messages name what was asked; nothing else to say about it.
                let detail = match e {
                    ArchiveError::NotFound(_) => None,
                    other => Some(other.to_string()),
                };
                ErrorPage {
                    status,
                    detail,
                    csrf: false,
                }
            }
        };
        let mut r = page.status.into_response();
        r.extensions_mut().insert(page);
        r
    }
}

pub async fn not_found() -> UiError {
    UiError::Archive(ArchiveError::NotFound("page".into()))
}

/// Renders the error pages handlers asked for, in the reader's language.
pub async fn render(request: Request<axum::body::Body>, next: Next) -> Response {
    let lang = Lang::from_headers(request.headers());
    let response = next.run(request).await;
    let Some(page) = response.extensions().get::<ErrorPage>().cloned() else {
        return response;
    };
    let l = lang;
    let (title, text) = match page.status.as_u16() {
        404 => (
            l.t("Page introuvable", "Page not found"),
            l.t(
                "Cette page n’existe pas, ou elle n’est pas accessible avec votre compte.",
                "This page does not exist, or your account cannot see it.",
            ),
        ),
        403 if page.csrf => (
            l.t("Formulaire refusé", "Form refused"),
            l.t(
                "Ce formulaire ne vient pas d’une page d’Archipel ouverte dans votre session (jeton anti-falsification absent ou faux). La tentative est journalisée. Rechargez la page et recommencez.",
                "This form did not come from an Archipel page of your session (anti-forgery token missing or wrong). The attempt is logged. Reload the page and try again.",
            ),
        ),
        403 => (
            l.t("Action non autorisée", "Not allowed"),
            l.t(
                "Votre rôle ne permet pas cette action. Le refus est journalisé.",
                "Your role does not allow this. The refusal is logged.",
            ),
        ),
        413 => (
            l.t("Fichier trop volumineux", "File too large"),
            l.t(
                "Le fichier dépasse la taille acceptée par ce service ; rien n’a été enregistré.",
                "The file is larger than this service accepts; nothing was stored.",
            ),
        ),
        400 | 409 => (
            l.t("Demande refusée", "Request refused"),
            l.t("La demande n’a pas pu être traitée :", "The request could not be processed:"),
        ),
        _ => (
            l.t("Service indisponible", "Service unavailable"),
            l.t(
                "Le service n’a pas pu répondre. Réessayez dans un instant ; si cela persiste, prévenez l’exploitation.",
                "The service could not answer. Try again shortly; if it persists, tell the operators.",
            ),
        ),
    };
    let body = html! {
        p { (text) }
        @if let Some(d) = &page.detail {
            p { code { (d) } }
        }
        p { a href="/ui/" { (l.t("Retour au tableau de bord", "Back to the dashboard")) } }
    };
    let mut r = crate::layout::bare(l, title, body).into_response();
    *r.status_mut() = page.status;
    r
}
