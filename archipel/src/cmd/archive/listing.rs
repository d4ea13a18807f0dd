//! `… show [ID]` for the front's records: one record, or the list with one line per record.

use std::process::ExitCode;

use serde_json::Value;

use super::http::{Front, FrontArgs};

/// `… show [ID] --tenant T`: the tenant's records of one kind, or one of them.
#[derive(clap::Args)]
pub struct ShowArgs {
    #[arg(long)]
    tenant: String,
    id: Option<String>,
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    front: FrontArgs,
}

/// GETs `/v1/tenants/T/{records}/ID` and prints it with `one`, or, without an id, GETs the list
/// and prints one `line` per record (the JSON as is with `--json`).
pub(super) async fn show_or_list(
    args: ShowArgs,
    records: &str,
    one: impl Fn(&Value, bool) -> anyhow::Result<ExitCode>,
    line: impl Fn(&Value) -> String,
) -> anyhow::Result<ExitCode> {
    let front = Front::new(&args.front)?;
    let path = format!("/v1/tenants/{}/{records}", args.tenant);
    if let Some(id) = args.id {
        let v: Value = front.get(&format!("{path}/{id}")).await?;
        return one(&v, args.json);
    }
    let v: Value = front.get(&path).await?;
    if args.json {
        crate::output::print_json(&v)?;
    } else {
        for record in v.as_array().into_iter().flatten() {
            outln!("{}", line(record));
        }
    }
    Ok(ExitCode::SUCCESS)
}
