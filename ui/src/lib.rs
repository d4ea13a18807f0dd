//! Archipel's web interface: the screens archivists, control authorities, transferring agencies
//! and operators use, served by the archive front under `/ui/` (docs/ui.md).
//!
//! Invariants this crate keeps:
//! - It sits on the archive service (`archipel_archive::service::Archive` and its public
//!   modules) and, for the operators' screen, on the client crate; never on node internals.
//! - Every page is rendered on the server (maud, which escapes every value unless told not to)
//!   and works without JavaScript; the one script is a progressive enhancement of the upload.
//!   Assets are compiled into the binary; nothing is fetched from elsewhere.
//! - The tenant and role of every page come from the signed-in credential, never from the URL:
//!   a URL naming another tenant's transfer or unit answers 404, like one that does not exist.
//!   Each page asks `Archive::authorize` with the same roles as the REST API, so refusals are
//!   logged the same way.
//! - A session is an unguessable cookie (`HttpOnly`, `SameSite=Strict`, `Secure` behind TLS) for
//!   a server-side record that holds the bearer token; the token is re-checked on every request
//!   (a revocation reaches open sessions within the authenticator's cache time). Sessions end on
//!   sign-out, after an idle time and after a maximum age.
//! - Every form carries a CSRF token; a POST without the right one is refused with 403 and
//!   logged, before anything else is read.

mod assets;
mod csrf;
mod error;
mod extract;
mod format;
mod i18n;
mod layout;
mod pages;
mod paris;
mod session;

use std::sync::Arc;
use std::time::Duration;

use archipel_archive::service::Archive;
use axum::routing::{get, post};
use axum::Router;

pub use session::{Clock, SystemClock};

/// How the interface treats sessions.
#[derive(Debug, Clone)]
pub struct UiConfig {
    /// A session unused this long ends.
    pub idle_timeout: Duration,
    /// A session ends this long after sign-in, used or not.
    pub max_session_age: Duration,
    /// Mark cookies `Secure`: the front is reached over HTTPS (through a TLS proxy).
    pub secure_cookies: bool,
    /// Sessions open at once on this front; the least recently used goes first beyond it.
    pub max_sessions: usize,
}

impl Default for UiConfig {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::from_secs(30 * 60),
            max_session_age: Duration::from_secs(12 * 3600),
            secure_cookies: false,
            max_sessions: 10_000,
        }
    }
}

/// What every handler shares.
pub(crate) struct Ui {
    pub archive: Arc<Archive>,
    pub sessions: session::Sessions,
}

pub(crate) type UiState = Arc<Ui>;

/// The interface's routes, to merge beside the REST API (`archipel_archive::server::serve_with`).
pub fn router(archive: Arc<Archive>, config: UiConfig) -> Router {
    router_with_clock(archive, config, Arc::new(SystemClock))
}

/// [`router`] with an injected clock, so tests can age sessions.
pub fn router_with_clock(archive: Arc<Archive>, config: UiConfig, clock: Arc<dyn Clock>) -> Router {
    let ui = Arc::new(Ui {
        sessions: session::Sessions::new(clock, config),
        archive,
    });
    // A SIP upload streams under the front's own SIP limit, not axum's buffered-body one.
    let upload_limit = axum::extract::DefaultBodyLimit::disable();
    let forms_limit = axum::extract::DefaultBodyLimit::max(4 << 20);
    // Full paths rather than `nest`: the REST API's fallback answers everything else, and a
    // catch-all under /ui/ keeps unknown pages HTML.
    Router::new()
        .route("/", get(|| async { axum::response::Redirect::to("/ui/") }))
        .route("/ui", get(|| async { axum::response::Redirect::to("/ui/") }))
        .route("/ui/", get(pages::dashboard::page))
        .route("/ui/assets/{name}", get(assets::serve))
        .route("/ui/connexion", get(pages::signin::form).post(pages::signin::submit))
        .route("/ui/deconnexion", post(pages::signin::sign_out))
        .route("/ui/langue/{lang}", get(pages::signin::language))
        .route("/ui/versements", get(pages::transfers::list))
        .route(
            "/ui/versements/nouveau",
            get(pages::upload::form).post(pages::upload::submit).layer(upload_limit),
        )
        .route("/ui/versements/{id}", get(pages::transfers::detail))
        .route("/ui/versements/{id}/ars", get(pages::transfers::atr))
        .route("/ui/versements/{id}/accuse", get(pages::transfers::ack))
        .route("/ui/recherche", get(pages::search::page))
        .route("/ui/unites/{id}", get(pages::unit::page))
        .route("/ui/unites/{id}/objets/{object}", get(pages::unit::download))
        .route("/ui/unites/{id}/objets/{object}/apercu", get(pages::unit::preview))
        .route("/ui/communications", get(pages::communications::list))
        .route(
            "/ui/communications/nouvelle",
            get(pages::communications::new_form).post(pages::communications::submit),
        )
        .route("/ui/communications/{id}", get(pages::communication::page))
        .route("/ui/communications/{id}/avis", post(pages::communication::answer))
        .route("/ui/communications/{id}/dip", get(pages::communication::dip))
        .route(
            "/ui/communications/{id}/messages/{name}",
            get(pages::communication::message),
        )
        .route("/ui/eliminations", get(pages::eliminations::page))
        .route("/ui/eliminations/proposition", post(pages::eliminations::propose))
        .route("/ui/eliminations/{id}", get(pages::elimination::page))
        .route("/ui/eliminations/{id}/visa", post(pages::elimination::visa))
        .route("/ui/eliminations/{id}/execution", post(pages::elimination::execute))
        .route("/ui/eliminations/{id}/proces-verbal", get(pages::elimination::record))
        .route(
            "/ui/eliminations/{id}/messages/{name}",
            get(pages::elimination::message),
        )
        .route("/ui/sorties", get(pages::outgoing::list))
        .route("/ui/sorties/nouvelle", get(pages::outgoing::new_form))
        .route("/ui/sorties/restitution", post(pages::outgoing::start_restitution))
        .route("/ui/sorties/transfert", post(pages::outgoing::start_transfer_out))
        .route("/ui/sorties/{id}", get(pages::outgoing_detail::page))
        .route("/ui/sorties/{id}/paquet", get(pages::outgoing_detail::package))
        .route("/ui/sorties/{id}/accuse", post(pages::outgoing_detail::receipt))
        .route(
            "/ui/sorties/{id}/reponse",
            post(pages::outgoing_detail::reply).layer(axum::extract::DefaultBodyLimit::max(
                pages::outgoing_detail::REPLY_BODY_LIMIT,
            )),
        )
        .route("/ui/sorties/{id}/messages/{name}", get(pages::outgoing_detail::message))
        .route("/ui/gels", get(pages::holds::page).post(pages::holds::submit))
        .route("/ui/registre", get(pages::register::page))
        .route("/ui/registre/usage", get(pages::register::usage_page))
        .route("/ui/journal", get(pages::logbook::page))
        .route("/ui/journal/verifier", post(pages::logbook::verify))
        .route("/ui/referentiels", get(pages::referentials::page))
        .route("/ui/referentiels/regles", post(pages::referentials::rules))
        .route("/ui/referentiels/services", post(pages::referential_forms::agency))
        .route("/ui/referentiels/contrats", post(pages::referential_forms::agreement))
        .route("/ui/referentiels/profils", post(pages::referential_forms::profile))
        .route(
            "/ui/referentiels/contrats-acces",
            post(pages::referential_forms::access_contract),
        )
        .route("/ui/exploitation", get(pages::operations::page))
        .route("/ui/jetons", get(pages::tokens::page).post(pages::tokens::create))
        .route("/ui/jetons/{id}/revocation", post(pages::tokens::revoke))
        .route("/ui/{*rest}", axum::routing::any(error::not_found))
        .layer(forms_limit)
        .layer(axum::middleware::from_fn(error::render))
        .layer(axum::middleware::map_response(layout::security_headers))
        .with_state(ui)
}
