//! Management (an ArchiveUnit's rules) and ManagementMetadata (the transfer's defaults).

use serde_json::Map;

use super::ctx::{boolean, child_path, text, Ctx};
use super::error::ManifestError;
use super::json::{insert_child, to_json};
use super::model::{Management, ManagementMetadata, Rule, RuleBlock, RuleCategory};
use super::tree::Node;

/// Elements of ManagementType besides the rule categories.
const MANAGEMENT_OTHER: &[&str] = &["LogBook", "UpdateOperation", "OtherManagementAbstract"];

/// Elements a rule category may hold besides Rule, StartDate, PreventInheritance,
/// RefNonRuleId and FinalAction.
const RULE_OTHER: &[&str] = &[
    "ClassificationAudience",
    "ClassificationLevel",
    "ClassificationOwner",
    "ClassificationReassessingDate",
    "NeedReassessingAuthorization",
];

/// HoldRule fields that belong to the Rule they follow.
const HOLD_FIELDS: &[&str] = &[
    "HoldEndDate",
    "HoldOwner",
    "HoldReassessingDate",
    "HoldReason",
    "PreventRearrangement",
];

/// Reads one child of Management/ManagementMetadata into `m` when it is a management element;
/// gives it back otherwise.
pub(crate) fn management_child(
    ctx: &mut Ctx,
    m: &mut Management,
    path: &str,
    child: Node,
) -> Result<Option<Node>, ManifestError> {
    if child.foreign {
        return Ok(Some(child));
    }
    let category =
        RuleCategory::from_element(&child.name).filter(|c| *c != RuleCategory::Hold || ctx.version.has_hold_rule());
    if let Some(category) = category {
        let block = rule_block(ctx, category, path, child)?;
        m.rules.push(block);
        return Ok(None);
    }
    match child.name.as_str() {
        "NeedAuthorization" => m.need_authorization = Some(boolean(&child, path)?),
        name if MANAGEMENT_OTHER.contains(&name) => insert_child(&mut m.other, child.name.clone(), to_json(child)),
        _ => return Ok(Some(child)),
    }
    Ok(None)
}

/// An ArchiveUnit's Management element.
pub(crate) fn management(ctx: &mut Ctx, node: Node, parent: &str) -> Result<Management, ManifestError> {
    let path = child_path(parent, &node);
    let mut m = Management::default();
    for child in node.children {
        if let Some(unknown) = management_child(ctx, &mut m, &path, child)? {
            let mut other = std::mem::take(&mut m.other);
            ctx.keep(&mut other, &path, unknown, &[]);
            m.other = other;
        }
    }
    Ok(m)
}

fn rule_block(ctx: &mut Ctx, category: RuleCategory, parent: &str, node: Node) -> Result<RuleBlock, ManifestError> {
    let path = child_path(parent, &node);
    let mut block = RuleBlock {
        category,
        rules: Vec::new(),
        prevent_inheritance: None,
        ref_non_rule_ids: Vec::new(),
        final_action: None,
        other: Map::new(),
    };
    for child in node.children {
        let name = child.name.as_str();
        if child.foreign {
            ctx.keep(&mut block.other, &path, child, &[]);
            continue;
        }
        match name {
            "Rule" => block.rules.push(Rule {
                rule_id: child.text.trim().to_owned(),
                start_date: None,
                other: Map::new(),
            }),
            // StartDate and the Hold fields qualify the Rule they follow.
            "StartDate" => match block.rules.last_mut() {
                Some(rule) => rule.start_date = text(&child),
                None => return Err(orphan(&path, &child)),
            },
            n if HOLD_FIELDS.contains(&n) && category == RuleCategory::Hold => match block.rules.last_mut() {
                Some(rule) => insert_child(&mut rule.other, child.name.clone(), to_json(child)),
                None => return Err(orphan(&path, &child)),
            },
            "PreventInheritance" => block.prevent_inheritance = Some(boolean(&child, &path)?),
            "RefNonRuleId" => block.ref_non_rule_ids.extend(text(&child)),
            "FinalAction" => block.final_action = text(&child),
            _ => ctx.keep(&mut block.other, &path, child, RULE_OTHER),
        }
    }
    Ok(block)
}

fn orphan(path: &str, node: &Node) -> ManifestError {
    ManifestError::Invalid {
        path: child_path(path, node),
        line: node.line,
        reason: format!(
            "{} comes before any Rule: put it right after the Rule it qualifies",
            node.name
        ),
    }
}

pub(crate) fn management_metadata(
    ctx: &mut Ctx,
    node: Node,
    parent: &str,
) -> Result<ManagementMetadata, ManifestError> {
    let path = child_path(parent, &node);
    let mut mm = ManagementMetadata::default();
    for child in node.children {
        if child.foreign {
            let mut other = std::mem::take(&mut mm.rules.other);
            ctx.keep(&mut other, &path, child, &[]);
            mm.rules.other = other;
            continue;
        }
        let slot = match child.name.as_str() {
            "ArchivalProfile" => &mut mm.archival_profile,
            "ServiceLevel" => &mut mm.service_level,
            "AcquisitionInformation" => &mut mm.acquisition_information,
            "LegalStatus" => &mut mm.legal_status,
            "OriginatingAgencyIdentifier" => &mut mm.originating_agency_identifier,
            "SubmissionAgencyIdentifier" => &mut mm.submission_agency_identifier,
            _ => {
                if let Some(unknown) = management_child(ctx, &mut mm.rules, &path, child)? {
                    let mut other = std::mem::take(&mut mm.rules.other);
                    ctx.keep(&mut other, &path, unknown, &[]);
                    mm.rules.other = other;
                }
                continue;
            }
        };
        *slot = text(&child);
    }
    Ok(mm)
}
