//! Content's dates: every date SEDA types as DateType must parse, and StartDate must not come
//! after EndDate.

use archipel_seda::manifest::Content;
use chrono::NaiveDate;

use super::dates::{content_date, ContentDate};
use crate::model::Reason;

/// Checks Content's dates and returns its StartDate and EndDate as days.
pub fn check(content: &Content, subject: &str, errors: &mut Vec<Reason>) -> (Option<NaiveDate>, Option<NaiveDate>) {
    let fields = [
        ("CreatedDate", &content.created_date),
        ("TransactedDate", &content.transacted_date),
        ("AcquiredDate", &content.acquired_date),
        ("SentDate", &content.sent_date),
        ("ReceivedDate", &content.received_date),
        ("RegisteredDate", &content.registered_date),
    ];
    let mut report = |name: &str, v: &str| {
        errors.push(Reason {
            step: "rules".into(),
            subject: Some(subject.to_owned()),
            message: format!(
                "{subject}, Content/{name}: `{v}` is not a SEDA date; write YYYY-MM-DD, YYYY-MM-DDThh:mm:ss, YYYY or YYYY-MM"
            ),
        })
    };
    for (name, value) in fields {
        if let Some(v) = value.as_deref() {
            if content_date(v, false).is_none() {
                report(name, v);
            }
        }
    }
    let mut day =
        |name: &str, value: &Option<String>, end: bool| match value.as_deref().map(|v| (v, content_date(v, end))) {
            None => None,
            Some((_, Some(ContentDate::Day(d)))) => Some(d),
            Some((_, Some(ContentDate::Partial))) => None,
            Some((v, None)) => {
                report(name, v);
                None
            }
        };
    let start = day("StartDate", &content.start_date, false);
    let end = day("EndDate", &content.end_date, true);
    if let (Some(s), Some(e)) = (start, end) {
        if s > e {
            errors.push(Reason {
                step: "rules".into(),
                subject: Some(subject.to_owned()),
                message: format!(
                    "{subject}, Content/StartDate ({s}) comes after Content/EndDate ({e}): correct one of them"
                ),
            });
        }
    }
    (start, end)
}
