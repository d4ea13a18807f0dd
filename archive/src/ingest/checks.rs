//! Every check of a SIP before anything is stored. Errors are collected per step, each naming the
//! element, object or entry at fault; a step whose input is unsound stops the run.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use archipel_seda::manifest::{self, ArchiveTransfer, ParseLimits};
use archipel_seda::sip::{Sip, SipLimits};
use archipel_seda::validate;
use archipel_seda::version::{self, SedaVersion};
use chrono::Utc;

use super::progress;
use super::verify::{self, VerifiedObject};
use crate::model::{Agreement, Profile, Reason, Rule, Tenant, Transfer, UnitRecord};
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
    if let Some(ag) = agreement.as_ref() {
        if let Some(schema) = ag.rng.as_deref() {
            progress(a, t, "agreement").await;
            super::rng::check_manifest(&format!("agreement `{}`", ag.id), schema, &manifest_bytes, work).await?;
        }
    }
    if let Some(p) = profile.as_ref() {
        if let Some(schema) = p.rng.as_deref() {
            progress(a, t, "profile").await;
            super::rng::check_manifest(&format!("profile `{}`", p.id), schema, &manifest_bytes, work).await?;
        }
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
    let attached = attachments(a, &t.tenant, &parsed).await?;
    let aip_id = uuid::Uuid::new_v4().simple().to_string();
    let accepted_under = (agreement.as_ref(), profile.as_ref());
    let units = build_units(t, &parsed, &verified, &rules, &attached, accepted_under, &aip_id)?;
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

/// The archived units that SIP units attach to by UpdateOperation, by SIP unit id. Only a
/// unit of the transfer's tenant can be named; every other case is KO with its reason.
async fn attachments(a: &Archive, tenant: &str, m: &ArchiveTransfer) -> Result<HashMap<String, UnitRecord>, Reasons> {
    use crate::rules::update::{target, Target};
    let mut out = HashMap::new();
    let mut errors = Vec::new();
    for u in m.all_units() {
        let Some(found) = u.management.as_ref().and_then(target) else {
            continue;
        };
        let subject = Some(format!("ArchiveUnit {}", u.id));
        match found {
            Ok(Target::SystemId(id)) => match a.catalog.unit(tenant, &id).await {
                Ok(parent) => {
                    out.insert(u.id.clone(), parent);
                }
                Err(crate::error::ArchiveError::NotFound(_)) => errors.push(reason(
                    "rules",
                    subject,
                    format!(
                        "ArchiveUnit {}, UpdateOperation/SystemId: `{id}` is no archive unit of tenant `{tenant}`; give the system id of a unit archived in this tenant",
                        u.id
                    ),
                )),
                Err(e) => errors.push(reason("rules", subject, e.to_string())),
            },
            Ok(Target::MetadataKey { name, value }) => errors.push(reason(
                "rules",
                subject,
                format!(
                    "ArchiveUnit {}, UpdateOperation/ArchiveUnitIdentifierKey ({name} = `{value}`): attaching by metadata key is not supported; give the unit's SystemId",
                    u.id
                ),
            )),
            Err(why) => errors.push(reason("rules", subject, format!("ArchiveUnit {}, {why}", u.id))),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// The rules of every unit, checked and inherited along every parent path (crate::rules).
fn unit_rules(
    flat: &[manifest::FlatUnit<'_>],
    system_ids: &HashMap<&str, String>,
    mm: Option<&archipel_seda::manifest::ManagementMetadata>,
    rules: &HashMap<String, Rule>,
    attached: &HashMap<String, UnitRecord>,
) -> Result<Vec<crate::rules::UnitRules>, Reasons> {
    let index: HashMap<&str, usize> = flat.iter().enumerate().map(|(i, f)| (f.unit.id.as_str(), i)).collect();
    let existing: Vec<&UnitRecord> = attached.values().collect();
    let inputs: Vec<crate::rules::UnitInput> = flat
        .iter()
        .map(|f| crate::rules::UnitInput {
            sip_id: &f.unit.id,
            system_id: &system_ids[f.unit.id.as_str()],
            parents: f.parent_ids.iter().filter_map(|p| index.get(p).copied()).collect(),
            management: f.unit.management.as_ref(),
            attached_to: attached
                .get(&f.unit.id)
                .and_then(|r| existing.iter().position(|e| e.id == r.id))
                .into_iter()
                .collect(),
        })
        .collect();
    let implicit_keep = mm.is_some_and(|m| m.originating_agency_identifier.is_some());
    crate::rules::compute(&inputs, &existing, mm.map(|m| &m.rules), rules, implicit_keep)
}

/// One catalog record per described unit, with its objects and its rules computed.
fn build_units(
    t: &Transfer,
    m: &ArchiveTransfer,
    verified: &HashMap<String, VerifiedObject>,
    rules: &HashMap<String, Rule>,
    attached: &HashMap<String, UnitRecord>,
    (agreement, profile): (Option<&Agreement>, Option<&Profile>),
    aip_id: &str,
) -> Result<Vec<UnitRecord>, Reasons> {
    let flat = validate::units_in_order(m).map_err(|e| vec![reason("structure", None, e.to_string())])?;
    let mut system_ids: HashMap<&str, String> = HashMap::new();
    for f in &flat {
        system_ids.insert(f.unit.id.as_str(), uuid::Uuid::new_v4().simple().to_string());
    }
    let attach = super::objects::Objects::new(m);
    let mm = m.package.as_ref().and_then(|p| p.management.as_ref());
    let originating = mm.and_then(|mm| mm.originating_agency_identifier.clone());
    let mut errors = Vec::new();
    // Rule problems and Content date problems are reported together.
    let unit_rules = unit_rules(&flat, &system_ids, mm, rules, attached).unwrap_or_else(|e| {
        errors.extend(e);
        vec![crate::rules::UnitRules::default(); flat.len()]
    });
    let mut out = Vec::with_capacity(flat.len());
    let now = Utc::now();
    for (f, ur) in flat.iter().zip(unit_rules) {
        let u = f.unit;
        let id = system_ids[u.id.as_str()].clone();
        let (objects, physical_objects) = attach.for_unit(u, verified, aip_id);
        let content = u.content.clone().unwrap_or_default();
        let (start_date, end_date) =
            crate::rules::content::check(&content, &format!("ArchiveUnit {}", u.id), &mut errors);
        let mut parent_ids: Vec<String> = f.parent_ids.iter().filter_map(|p| system_ids.get(p)).cloned().collect();
        parent_ids.extend(attached.get(&u.id).map(|p| p.id.clone()));
        let parent_id = parent_ids.first().cloned();
        let other = u.management.as_ref().map(|mg| &mg.other);
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
            start_date,
            end_date,
            originating_agency: originating.clone(),
            keywords: content.keywords.iter().filter_map(|k| k.content.clone()).collect(),
            rules: ur.rules,
            objects,
            physical_objects,
            content: content.raw.clone(),
            ingested_at: now,
            parent_ids,
            own_rules: ur.own_rules,
            categories: ur.categories,
            properties: ur.properties,
            need_authorization: ur.need_authorization,
            logbook: other.and_then(|o| o.get("LogBook")).cloned(),
            submission_agency: mm.and_then(|mm| mm.submission_agency_identifier.clone()),
            archive_unit_profile: u.archive_unit_profile.clone(),
            legal_status: mm.and_then(|mm| mm.legal_status.clone()),
            acquisition_information: mm.and_then(|mm| mm.acquisition_information.clone()),
            rules_version: ur.rules_version,
            agreement_version: agreement.map(|a| a.version),
            profile: profile.map(|p| p.id.clone()),
            profile_version: profile.map(|p| p.version),
        });
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}
