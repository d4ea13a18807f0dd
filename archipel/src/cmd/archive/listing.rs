//! `… show [ID]` for the front's records: one record, or the list with one line per record.

use std::process::ExitCode;

use serde_json::Value;

use super::http::Front;

/// GETs `path/ID` and prints it with `one`, or, without an id, GETs `path` and prints one `line`
/// per record (the JSON as is with `--json`).
pub(super) async fn show_or_list(
    front: &Front,
    path: &str,
    id: Option<String>,
    json: bool,
    one: impl Fn(&Value, bool) -> anyhow::Result<ExitCode>,
    line: impl Fn(&Value) -> String,
) -> anyhow::Result<ExitCode> {
    if let Some(id) = id {
        let v: Value = front.get(&format!("{path}/{id}")).await?;
        return one(&v, json);
    }
    let v: Value = front.get(path).await?;
    if json {
        crate::output::print_json(&v)?;
    } else {
        for record in v.as_array().into_iter().flatten() {
            outln!("{}", line(record));
        }
    }
    Ok(ExitCode::SUCCESS)
}
