//! One module per screen: each gets routes in `lib.rs` and, if it is a screen of its own, a line
//! in `layout::nav_items`.

pub mod communication;
pub mod communications;
pub mod dashboard;
pub mod elimination;
pub mod eliminations;
pub mod holds;
pub mod logbook;
pub mod operations;
pub mod outgoing;
pub mod outgoing_detail;
pub mod referential_forms;
pub mod referentials;
pub mod register;
pub mod search;
pub mod signin;
pub mod tokens;
pub mod transfers;
pub mod unit;
pub mod upload;

use archipel_archive::model::TransferStatus;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};

use crate::i18n::Lang;

/// A transfer's status, in words and colour (never colour alone).
pub fn status_badge(l: Lang, s: TransferStatus) -> Markup {
    let (class, text) = match s {
        TransferStatus::Received => ("running", l.t("Reçu", "Received")),
        TransferStatus::Running => ("running", l.t("En cours", "Running")),
        TransferStatus::Ok => ("ok", l.t("OK", "OK")),
        TransferStatus::Warning => ("warning", l.t("Avertissement", "Warning")),
        TransferStatus::Ko => ("ko", l.t("Rejeté (KO)", "Rejected (KO)")),
    };
    html! { span class={ "status " (class) } { (text) } }
}

/// An outcome (OK, WARNING, KO) in words.
pub fn outcome_badge(l: Lang, outcome: &str) -> Markup {
    let (class, text) = match outcome {
        "OK" => ("ok", "OK"),
        "WARNING" => ("warning", l.t("Avertissement", "Warning")),
        _ => ("ko", "KO"),
    };
    html! { span class={ "status " (class) } { (text) } }
}

/// The hidden field every signed-in form carries.
pub fn csrf_field(token: &str) -> Markup {
    html! { input type="hidden" name=(crate::csrf::FIELD) value=(token); }
}

/// A stored SEDA message, as a download: never rendered by the browser on this origin (a
/// message an authority wrote could carry markup), and sandboxed should it be.
pub fn xml_response(xml: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/xml"),
            (header::CONTENT_DISPOSITION, "attachment"),
            (header::CONTENT_SECURITY_POLICY, "sandbox; default-src 'none'"),
        ],
        xml,
    )
        .into_response()
}
