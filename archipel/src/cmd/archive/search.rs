//! `archipel archive search`: full text, filters on description and management rules, and facet counts.

use std::process::ExitCode;

use reqwest::Method;
use serde_json::Value;

use super::http::{Front, FrontArgs};

#[derive(clap::Args)]
pub struct SearchArgs {
    #[arg(long)]
    tenant: String,
    /// Full-text query over titles, descriptions, keywords and all descriptive metadata.
    query: Option<String>,
    #[arg(long)]
    flow: Option<String>,
    /// Units whose dates overlap [from, to] (YYYY-MM-DD).
    #[arg(long)]
    from: Option<String>,
    #[arg(long)]
    to: Option<String>,
    /// SEDA description level (RecordGrp, File, Item, …).
    #[arg(long)]
    level: Option<String>,
    /// Originating agency identifier (service producteur).
    #[arg(long)]
    originating_agency: Option<String>,
    /// Units with a rule of this category (AppraisalRule, AccessRule, StorageRule, DisseminationRule, ReuseRule,
    /// ClassificationRule, HoldRule); --final-action and --rule-end-* then apply to that same rule.
    #[arg(long)]
    rule_category: Option<String>,
    /// Final action of that rule (AppraisalRule: Keep, Destroy; StorageRule: RestrictAccess, Transfer, Copy).
    #[arg(long)]
    final_action: Option<String>,
    /// The rule's computed end date is on or after this day (YYYY-MM-DD).
    #[arg(long)]
    rule_end_from: Option<String>,
    /// The rule's computed end date is on or before this day, e.g. 2025-12-31 for "ended before 2026".
    #[arg(long)]
    rule_end_to: Option<String>,
    /// Units carrying this rule id (own or inherited).
    #[arg(long)]
    rule_id: Option<String>,
    /// Only units under a HoldRule in force (today, or on --hold-on).
    #[arg(long, conflicts_with = "not_held")]
    held: bool,
    /// Only units under no HoldRule in force (today, or on --hold-on).
    #[arg(long)]
    not_held: bool,
    /// The day --held / --not-held refer to (YYYY-MM-DD).
    #[arg(long)]
    hold_on: Option<String>,
    /// Only units freely communicable (today, or on --communicable-at).
    #[arg(long, conflicts_with = "not_communicable")]
    communicable: bool,
    /// Only units not yet communicable (today, or on --communicable-at).
    #[arg(long)]
    not_communicable: bool,
    /// The day --communicable / --not-communicable refer to (YYYY-MM-DD).
    #[arg(long)]
    communicable_at: Option<String>,
    /// Skip the facet counts.
    #[arg(long)]
    no_facets: bool,
    #[arg(long, default_value_t = 20)]
    limit: usize,
    #[arg(long, default_value_t = 0)]
    offset: usize,
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    front: FrontArgs,
}

impl SearchArgs {
    /// The API's query parameters.
    fn params(&self) -> anyhow::Result<Vec<(&'static str, String)>> {
        if self.hold_on.is_some() && !self.held && !self.not_held {
            anyhow::bail!("--hold-on needs --held or --not-held");
        }
        let mut params = vec![("limit", self.limit.to_string()), ("offset", self.offset.to_string())];
        let optional = [
            ("q", &self.query),
            ("flow", &self.flow),
            ("from", &self.from),
            ("to", &self.to),
            ("level", &self.level),
            ("originating_agency", &self.originating_agency),
            ("rule_category", &self.rule_category),
            ("final_action", &self.final_action),
            ("rule_end_from", &self.rule_end_from),
            ("rule_end_to", &self.rule_end_to),
            ("rule_id", &self.rule_id),
            ("hold_on", &self.hold_on),
            ("communicable_at", &self.communicable_at),
        ];
        params.extend(optional.into_iter().filter_map(|(k, v)| v.clone().map(|v| (k, v))));
        if self.held || self.not_held {
            params.push(("hold", self.held.to_string()));
        }
        if self.communicable_at.is_some() && !self.communicable && !self.not_communicable {
            anyhow::bail!("--communicable-at needs --communicable or --not-communicable");
        }
        if self.communicable || self.not_communicable {
            params.push(("communicable", self.communicable.to_string()));
        }
        if self.no_facets {
            params.push(("facets", "false".into()));
        }
        Ok(params)
    }
}

pub async fn run(args: SearchArgs) -> anyhow::Result<ExitCode> {
    let params = args.params()?;
    let f = Front::new(&args.front)?;
    let r = f
        .request(Method::GET, &format!("/v1/tenants/{}/units", args.tenant))
        .query(&params);
    let v: Value = f.json(r).await?;
    if args.json {
        crate::output::print_json(&v)?;
        return Ok(ExitCode::SUCCESS);
    }
    outln!("{} units match", v["total"]);
    for hit in v["hits"].as_array().into_iter().flatten() {
        let cells: Vec<String> = ["unit_id", "title", "level", "flow", "start_date", "end_date"]
            .iter()
            .map(|k| match &hit[*k] {
                Value::String(s) if !s.is_empty() => s.clone(),
                Value::Null | Value::String(_) => "-".into(),
                other => other.to_string(),
            })
            .collect();
        outln!("{}", cells.join("\t"));
    }
    print_facets(&v["facets"]);
    Ok(ExitCode::SUCCESS)
}

/// One line per facet: `level: File 12, Item 30, (none) 2`.
fn print_facets(facets: &Value) {
    for (key, label) in [
        ("level", "level"),
        ("flow", "flow"),
        ("originating_agency", "originating agency"),
        ("year", "year"),
    ] {
        let facet = &facets[key];
        if facet.is_null() {
            continue;
        }
        let mut parts: Vec<String> = facet["buckets"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|b| format!("{} {}", b["value"].as_str().unwrap_or("?"), b["count"]))
            .collect();
        for (field, name) in [("other", "(other)"), ("missing", "(none)")] {
            if facet[field].as_u64().unwrap_or(0) > 0 {
                parts.push(format!("{name} {}", facet[field]));
            }
        }
        if !parts.is_empty() {
            outln!("{label}: {}", parts.join(", "));
        }
    }
}
