//! One line per unit for the ArchiveTransferReply: each rule in force with its end, saying
//! which of "computed", "unlimited", "unknown (no StartDate)" it is, and where it comes from.

use crate::model::{AppliedRule, EndKind, UnitRecord};

fn end(r: &AppliedRule) -> String {
    match (r.end_kind, r.end_date) {
        (Some(EndKind::Computed), Some(d)) => format!("fin {d}"),
        (Some(EndKind::HoldEndDate), Some(d)) => format!("fin {d} (HoldEndDate)"),
        (Some(EndKind::Unlimited), _) => "sans fin (règle illimitée)".into(),
        (Some(EndKind::Unknown), _) => "fin inconnue (pas de StartDate)".into(),
        (Some(EndKind::Indefinite), _) => "gel sans date de fin".into(),
        (_, Some(d)) => format!("fin {d}"),
        (_, None) => "fin non calculée".into(),
    }
}

/// `AccessRule ACC-00003 : fin 2025-01-01, héritée de ID12 ; ...`, or None without rules.
pub fn unit_rules(u: &UnitRecord) -> Option<String> {
    if u.rules.is_empty() {
        return None;
    }
    let parts: Vec<String> = u
        .rules
        .iter()
        .map(|r| {
            let mut s = format!("{} {} : {}", r.category, r.rule_id, end(r));
            if let Some(fa) = &r.final_action {
                s.push_str(&format!(", sort final {fa}"));
            }
            if r.inherited {
                s.push_str(&format!(", héritée de {}", r.sip_unit_ids.join(", ")));
            }
            s
        })
        .collect();
    Some(parts.join(" ; "))
}
