//! One module per screen. Screens still to come (communication, élimination, registre des
//! entrées) get a module here, routes in `lib.rs` and a line in `layout::nav_items`.

pub mod dashboard;
pub mod logbook;
pub mod operations;
pub mod referentials;
pub mod search;
pub mod signin;
pub mod transfers;
pub mod unit;
pub mod upload;

use archipel_archive::model::TransferStatus;
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
