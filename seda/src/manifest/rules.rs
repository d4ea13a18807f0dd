//! Management (an ArchiveUnit's rules) and ManagementMetadata (the transfer's defaults).

use serde_json::Map;

use super::ctx::{boolean, child_path, text, Ctx};
use super::error::ManifestError;
use super::json::{insert_child, to_json};
use super::model::{ClassificationFields, HoldFields, Management, ManagementMetadata, Rule, RuleBlock, RuleCategory};
use super::tree::Node;

/// Elements of ManagementType besides the rule categories.
const MANAGEMENT_OTHER: &[&str] = &["LogBook", "UpdateOperation", "OtherManagementAbstract"];

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

/// One rule category element (AccessRule, ...), read strictly in the XSD's order: each Rule
/// followed by its own StartDate (and, for HoldRule, its hold fields); then PreventInheritance
/// or RefNonRuleId, never both; then FinalAction. A field given twice, or before any Rule, is
/// an error naming the element: silently keeping one of two values would change a date.
fn rule_block(ctx: &mut Ctx, category: RuleCategory, parent: &str, node: Node) -> Result<RuleBlock, ManifestError> {
    let path = child_path(parent, &node);
    let mut block = RuleBlock {
        category,
        rules: Vec::new(),
        prevent_inheritance: None,
        ref_non_rule_ids: Vec::new(),
        final_action: None,
        other: Map::new(),
        classification: ClassificationFields::default(),
        line: node.line,
    };
    for child in node.children {
        if child.foreign {
            ctx.keep(&mut block.other, &path, child, &[]);
            continue;
        }
        match child.name.as_str() {
            "Rule" => block.rules.push(Rule {
                rule_id: child.text.trim().to_owned(),
                start_date: None,
                other: Map::new(),
                hold: HoldFields::default(),
                line: child.line,
            }),
            "StartDate" => {
                let rule = last_rule(&mut block.rules, &path, &child)?;
                set_once(&mut rule.start_date, &path, &child)?;
            }
            name if category == RuleCategory::Hold && HOLD_FIELDS.contains(&name) => {
                let rule = last_rule(&mut block.rules, &path, &child)?;
                let slot = match name {
                    "HoldEndDate" => &mut rule.hold.end_date,
                    "HoldOwner" => &mut rule.hold.owner,
                    "HoldReassessingDate" => &mut rule.hold.reassessing_date,
                    "HoldReason" => &mut rule.hold.reason,
                    _ => &mut rule.hold.prevent_rearrangement,
                };
                set_once(slot, &path, &child)?;
            }
            "PreventInheritance" => {
                if block.prevent_inheritance.is_some() || !block.ref_non_rule_ids.is_empty() {
                    return Err(invalid(
                        &path,
                        &child,
                        "PreventInheritance appears twice or beside RefNonRuleId: SEDA allows one or the other",
                    ));
                }
                block.prevent_inheritance = Some(boolean(&child, &path)?);
            }
            "RefNonRuleId" => {
                if block.prevent_inheritance.is_some() {
                    return Err(invalid(
                        &path,
                        &child,
                        "RefNonRuleId beside PreventInheritance: SEDA allows one or the other",
                    ));
                }
                block.ref_non_rule_ids.extend(text(&child));
            }
            "FinalAction" => set_once(&mut block.final_action, &path, &child)?,
            "ClassificationAudience" if category == RuleCategory::Classification => {
                set_once(&mut block.classification.audience, &path, &child)?
            }
            "ClassificationLevel" if category == RuleCategory::Classification => {
                set_once(&mut block.classification.level, &path, &child)?
            }
            "ClassificationOwner" if category == RuleCategory::Classification => {
                set_once(&mut block.classification.owner, &path, &child)?
            }
            "ClassificationReassessingDate" if category == RuleCategory::Classification => {
                set_once(&mut block.classification.reassessing_date, &path, &child)?
            }
            "NeedReassessingAuthorization" if category == RuleCategory::Classification => {
                set_once(&mut block.classification.need_reassessing_authorization, &path, &child)?
            }
            _ => ctx.keep(&mut block.other, &path, child, &[]),
        }
    }
    Ok(block)
}

/// The Rule a StartDate or hold field qualifies.
fn last_rule<'a>(rules: &'a mut [Rule], path: &str, node: &Node) -> Result<&'a mut Rule, ManifestError> {
    rules.last_mut().ok_or_else(|| {
        invalid(
            path,
            node,
            &format!(
                "{} comes before any Rule: put it right after the Rule it qualifies",
                node.name
            ),
        )
    })
}

/// Stores an element's text in a slot that must not be filled yet.
fn set_once(slot: &mut Option<String>, path: &str, node: &Node) -> Result<(), ManifestError> {
    if slot.is_some() {
        return Err(invalid(
            path,
            node,
            &format!("{} is given twice here: keep one value", node.name),
        ));
    }
    *slot = text(node);
    Ok(())
}

fn invalid(path: &str, node: &Node, reason: &str) -> ManifestError {
    ManifestError::Invalid {
        path: child_path(path, node),
        line: node.line,
        reason: reason.to_owned(),
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
