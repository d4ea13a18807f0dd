//! Every check of a SIP before anything is stored. Errors are collected per step, each naming the
//! element, object or entry at fault; a step whose input is unsound stops the run.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use archipel_seda::manifest::{self, ArchiveTransfer, ParseLimits, RuleBlock};
use archipel_seda::sip::{Sip, SipLimits};
use archipel_seda::validate;
use archipel_seda::version::{self, SedaVersion};
use chrono::{NaiveDate, Utc};

use super::progress;
use super::verify::{self, VerifiedObject};
use crate::model::{Agreement, AppliedRule, Profile, Reason, Rule, Tenant, Transfer, UnitRecord};
use crate::referentials::{AGREEMENT, PROFILE, RULE};
use crate::service::Archive;

/// A SIP that passed every check, ready to store.
pub struct Checked {
    pub version: SedaVersion,
    pub manifest: ArchiveTransfer,
    pub manifest_bytes: Vec<u8>,
    pub agreement: Option<Agreement>,
    pub tenant: Tenant,
    pub aip_id: String,
    pub units: Vec<UnitRecord>,
    /// Object key -> verified file in the work directory.
    pub files: Vec<(String, PathBuf)>,
}

pub(super) type Reasons = Vec<Reason>;

pub(super) fn reason(step: &str, subject: Option<String>, message: impl Into<String>) -> Reason {
    Reason {
        step: step.into(),
        subject,
        message: message.into(),
    }
}

pub async fn check(
    a: &Arc<Archive>,
    t: &mut Transfer,
    sip_path: PathBuf,
    work: &Path,
    caller_agency: Option<&str>,
) -> Result<Checked, Reasons> {
    progress(a, t, "unzip").await;
    let work_dir = work.to_path_buf();
    let limits = SipLimits {
        max_zip_bytes: a.config.max_sip_bytes,
        max_total_bytes: a.config.max_sip_bytes.max(SipLimits::default().max_total_bytes),
        ..SipLimits::default()
    };
    let (sip, manifest_bytes) = {
        let (sip_path, limits) = (sip_path.clone(), limits.clone());
        tokio::task::spawn_blocking(move || open_sip(&sip_path, &limits))
    }
    .await
    .map_err(|e| vec![reason("unzip", None, format!("internal error: {e}"))])??;

    progress(a, t, "manifest").await;
    let detected = version::detect(&manifest_bytes).map_err(|e| vec![reason("version", None, e.to_string())])?;
    t.seda_version = Some(detected.to_string());
    let parsed = manifest::parse(&manifest_bytes, &ParseLimits::default())
        .map_err(|e| vec![reason("manifest", None, e.to_string())])?;
    t.message_identifier = parsed.message_identifier.clone();
    t.agreement = parsed.archival_agreement.clone();
    t.transferring_agency = parsed.transferring_agency.as_ref().and_then(|x| x.identifier.clone());
    for ext in &parsed.extensions {
        t.warnings.push(reason(
            "manifest",
            Some(format!("{}/{}", ext.path, ext.element)),
            format!(
                "element {} (line {}) is not in SEDA {detected}; it is kept in the AIP but not interpreted",
                ext.element, ext.line
            ),
        ));
    }

    if let Some(archival) = parsed.archival_agency.as_ref().and_then(|x| x.identifier.clone()) {
        super::reply::acknowledge(a, t, detected, &archival).await;
    }

    progress(a, t, "structure").await;
    let problems = validate::check_structure(&parsed);
    if !problems.is_empty() {
        return Err(problems
            .iter()
            .map(|p| reason("structure", None, p.to_string()))
            .collect());
    }
    let mut bad = super::levels::check_levels(&parsed);
    bad.extend(super::objects::check_versions(&parsed));
    if !bad.is_empty() {
        return Err(bad);
    }

    progress(a, t, "agreement").await;
    let tenant = a
        .refs
        .tenant(&t.tenant)
        .await
        .map_err(|e| vec![reason("agreement", None, e.to_string())])?;
    let (agreement, profile) = check_agreement(a, &tenant, &parsed, caller_agency).await?;
    if let Some(p) = profile.as_ref().filter(|p| p.rng.is_some()) {
        progress(a, t, "profile").await;
        super::rng::check_manifest(p, &manifest_bytes, work).await?;
    }

    // Before the costly steps: a resend stops here, with no reason, and `run` answers with the
    // earlier transfer (see `message`).
    progress(a, t, "message").await;
    if let super::message::Claim::Resend(earlier) = super::message::claim(a, t, &manifest_bytes).await? {
        t.resend_of = Some(earlier);
        return Err(Vec::new());
    }

    progress(a, t, "objects").await;
    let entries: Vec<String> = sip.entries().iter().map(|e| e.name().to_owned()).collect();
    let identifier = a.identifier.clone();
    let manifest_for_objects = parsed.clone();
    let policy = agreement.clone();
    let profile_formats = profile.as_ref().map(|p| p.allowed_formats.clone()).unwrap_or_default();
    let reopen = (sip_path.clone(), limits.clone());
    let (verified, mut warnings) = tokio::task::spawn_blocking(move || {
        verify::verify_objects(
            sip,
            &reopen,
            &manifest_for_objects,
            &entries,
            &work_dir,
            identifier.as_deref(),
            policy.as_ref(),
            &profile_formats,
        )
    })
    .await
    .map_err(|e| vec![reason("objects", None, format!("internal error: {e}"))])??;
    t.warnings.append(&mut warnings);

    progress(a, t, "rules").await;
    let rules: HashMap<String, Rule> = a
        .refs
        .list::<Rule>(&t.tenant, RULE)
        .await
        .map_err(|e| vec![reason("rules", None, e.to_string())])?
        .into_iter()
        .map(|r| (r.id.clone(), r))
        .collect();
    let aip_id = uuid::Uuid::new_v4().simple().to_string();
    let units = build_units(t, &parsed, &verified, &rules, agreement.as_ref(), &aip_id)?;
    let files = units
        .iter()
        .flat_map(|u| u.objects.iter())
        .filter_map(|o| verified.get(&o.sip_id).map(|v| (o.key.clone(), v.path.clone())))
        .collect::<HashMap<_, _>>()
        .into_iter()
        .collect();
    Ok(Checked {
        version: detected,
        manifest: parsed,
        manifest_bytes,
        agreement,
        tenant,
        aip_id,
        units,
        files,
    })
}

fn open_sip(path: &Path, limits: &SipLimits) -> Result<(Sip, Vec<u8>), Reasons> {
    let mut sip = Sip::open(path, limits).map_err(|e| vec![reason("unzip", None, e.to_string())])?;
    let bytes = sip
        .manifest_bytes()
        .map_err(|e| vec![reason("unzip", Some("manifest.xml".into()), e.to_string())])?;
    Ok((sip, bytes))
}

async fn check_agreement(
    a: &Archive,
    tenant: &Tenant,
    m: &ArchiveTransfer,
    caller_agency: Option<&str>,
) -> Result<(Option<Agreement>, Option<Profile>), Reasons> {
    let step = "agreement";
    let mut errors = Vec::new();
    let archival = m
        .archival_agency
        .as_ref()
        .and_then(|x| x.identifier.as_deref())
        .unwrap_or("");
    if archival != tenant.archival_agency {
        errors.push(reason(
            step,
            Some("ArchivalAgency/Identifier".into()),
            format!(
                "the SIP is addressed to archival agency `{archival}`, but this tenant's is `{}`",
                tenant.archival_agency
            ),
        ));
    }
    let transferring = m
        .transferring_agency
        .as_ref()
        .and_then(|x| x.identifier.as_deref())
        .unwrap_or("");
    if let Some(own) = caller_agency {
        if own != transferring {
            errors.push(reason(
                step,
                Some("TransferringAgency/Identifier".into()),
                format!("your credential transfers for agency `{own}`, not `{transferring}`"),
            ));
        }
    }
    let Some(id) = m.archival_agreement.as_deref() else {
        errors.push(reason(
            step,
            Some("ArchivalAgreement".into()),
            "the SIP names no ArchivalAgreement; every transfer must be made under an agreement",
        ));
        return Err(errors);
    };
    let agreement: Agreement = match a.refs.get(&tenant.id, AGREEMENT, id).await {
        Ok(ag) => ag,
        Err(_) => {
            errors.push(reason(
                step,
                Some("ArchivalAgreement".into()),
                format!(
                    "agreement `{id}` is unknown in tenant `{}`; ask the archivist to create it",
                    tenant.id
                ),
            ));
            return Err(errors);
        }
    };
    if !agreement.active {
        errors.push(reason(
            step,
            Some("ArchivalAgreement".into()),
            format!("agreement `{id}` is inactive"),
        ));
    }
    if !agreement.transferring_agencies.iter().any(|x| x == transferring) {
        errors.push(reason(
            step,
            Some("TransferringAgency/Identifier".into()),
            format!("agency `{transferring}` may not transfer under agreement `{id}`"),
        ));
    }
    let mut profile = None;
    if let Some(pid) = &agreement.profile {
        let declared = m
            .package
            .as_ref()
            .and_then(|p| p.management.as_ref())
            .and_then(|mm| mm.archival_profile.as_deref());
        if let Some(d) = declared.filter(|d| d != pid) {
            errors.push(reason(
                step,
                Some("ManagementMetadata/ArchivalProfile".into()),
                format!("the SIP declares profile `{d}` but agreement `{id}` requires `{pid}`"),
            ));
        }
        match a.refs.get::<Profile>(&tenant.id, PROFILE, pid).await {
            Ok(p) => {
                check_profile(&p, m, &mut errors);
                profile = Some(p);
            }
            Err(e) => errors.push(reason(step, Some(format!("profile {pid}")), e.to_string())),
        }
    }
    if errors.is_empty() {
        Ok((Some(agreement), profile))
    } else {
        Err(errors)
    }
}

/// Every top-level unit carries the fields the profile requires.
fn check_profile(p: &Profile, m: &ArchiveTransfer, errors: &mut Reasons) {
    let roots = m.package.iter().flat_map(|pk| pk.units.iter());
    for u in roots.filter(|u| u.archive_unit_ref_id.is_none()) {
        let raw = u.content.as_ref().map(|c| &c.raw);
        for field in &p.required_fields {
            let present = raw
                .and_then(|r| r.get(field))
                .is_some_and(|v| !v.is_null() && v != &serde_json::Value::String(String::new()));
            if !present {
                errors.push(reason(
                    "profile",
                    Some(format!("ArchiveUnit {}", u.id)),
                    format!("profile `{}` requires Content/{field}, which unit {} lacks", p.id, u.id),
                ));
            }
        }
    }
}

/// The rules a unit (or ManagementMetadata) declares itself, checked against the referential.
fn own_rules(
    blocks: &[&RuleBlock],
    rules: &HashMap<String, Rule>,
    subject: &str,
    errors: &mut Reasons,
) -> Vec<AppliedRule> {
    let mut applied: Vec<AppliedRule> = Vec::new();
    for block in blocks {
        let category = block.category.element();
        for r in &block.rules {
            let Some(def) = rules.get(&r.rule_id) else {
                errors.push(reason(
                    "rules",
                    Some(subject.to_owned()),
                    format!(
                        "rule `{}` ({category}) is not in the tenant's rules referential; import it first",
                        r.rule_id
                    ),
                ));
                continue;
            };
            if def.rule_type != category {
                errors.push(reason(
                    "rules",
                    Some(subject.to_owned()),
                    format!("rule `{}` is a {}, not a {category}", r.rule_id, def.rule_type),
                ));
                continue;
            }
            if applied.iter().any(|x| x.category == category && x.rule_id == r.rule_id) {
                continue;
            }
            let start = parse_date(r.start_date.as_deref());
            applied.push(AppliedRule {
                category: category.into(),
                rule_id: r.rule_id.clone(),
                start_date: start,
                end_date: start.and_then(|s| def.end_date(s)),
                final_action: block.final_action.clone(),
                inherited: false,
            });
        }
    }
    applied
}

fn parse_date(s: Option<&str>) -> Option<NaiveDate> {
    let s = s?.trim();
    NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok()
}

/// One catalog record per described unit, with its objects and its rules computed.
fn build_units(
    t: &Transfer,
    m: &ArchiveTransfer,
    verified: &HashMap<String, VerifiedObject>,
    rules: &HashMap<String, Rule>,
    agreement: Option<&Agreement>,
    aip_id: &str,
) -> Result<Vec<UnitRecord>, Reasons> {
    let flat = validate::units_in_order(m).map_err(|e| vec![reason("structure", None, e.to_string())])?;
    let mut system_ids: HashMap<&str, String> = HashMap::new();
    for f in &flat {
        system_ids.insert(f.unit.id.as_str(), uuid::Uuid::new_v4().simple().to_string());
    }
    let attach = super::objects::Objects::new(m);
    let defaults = m
        .package
        .as_ref()
        .and_then(|p| p.management.as_ref())
        .map(|mm| &mm.rules);
    let originating = m
        .package
        .as_ref()
        .and_then(|p| p.management.as_ref())
        .and_then(|mm| mm.originating_agency_identifier.clone());
    let mut errors = Vec::new();
    let default_blocks: Vec<&RuleBlock> = defaults.into_iter().flat_map(|d| d.rules.iter()).collect();
    let default_rules: Vec<AppliedRule> = own_rules(&default_blocks, rules, "ManagementMetadata", &mut errors)
        .into_iter()
        .map(|r| AppliedRule { inherited: true, ..r })
        .collect();
    let mut computed: HashMap<&str, Vec<AppliedRule>> = HashMap::new();
    let mut out = Vec::with_capacity(flat.len());
    let now = Utc::now();
    for f in &flat {
        let u = f.unit;
        let id = system_ids[u.id.as_str()].clone();
        let (objects, physical_objects) = attach.for_unit(u, verified, aip_id);
        let own_blocks: Vec<&RuleBlock> = u.management.iter().flat_map(|mg| mg.rules.iter()).collect();
        let mut applied = own_rules(&own_blocks, rules, &format!("ArchiveUnit {}", u.id), &mut errors);
        // Inherited from the parent (or, for a root, from ManagementMetadata), unless the unit
        // stops inheritance for that category or excludes the rule by RefNonRuleId.
        let inherited: &[AppliedRule] = match f.parent_ids.first() {
            Some(p) => computed.get(*p).map(Vec::as_slice).unwrap_or(&[]),
            None => &default_rules,
        };
        for r in inherited {
            let block = own_blocks.iter().find(|b| b.category.element() == r.category);
            let stopped = block.is_some_and(|b| {
                b.prevent_inheritance == Some(true) || b.ref_non_rule_ids.iter().any(|x| x == &r.rule_id)
            });
            if !stopped
                && !applied
                    .iter()
                    .any(|x| x.category == r.category && x.rule_id == r.rule_id)
            {
                applied.push(AppliedRule {
                    inherited: true,
                    ..r.clone()
                });
            }
        }
        computed.insert(u.id.as_str(), applied.clone());
        let content = u.content.clone().unwrap_or_default();
        let parent_id = f.parent_ids.first().and_then(|p| system_ids.get(p)).cloned();
        out.push(UnitRecord {
            id,
            sip_id: u.id.clone(),
            tenant: t.tenant.clone(),
            aip_id: aip_id.into(),
            transfer_id: t.id.clone(),
            parent_id,
            flow: agreement.and_then(|a| a.flow.clone()),
            agreement: agreement.map(|a| a.id.clone()),
            title: content.title().unwrap_or("(untitled)").to_owned(),
            description: content.descriptions.first().map(|d| d.text.clone()),
            level: content.description_level.clone(),
            start_date: parse_date(content.start_date.as_deref()),
            end_date: parse_date(content.end_date.as_deref()),
            originating_agency: originating.clone(),
            keywords: content.keywords.iter().filter_map(|k| k.content.clone()).collect(),
            rules: applied,
            objects,
            physical_objects,
            content: content.raw.clone(),
            ingested_at: now,
        });
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}
