//! Taking a communication request: checked whole before anything is stored.

use std::sync::Arc;

use chrono::Utc;
use serde::Deserialize;
use serde_json::json;

use archipel_seda::delivery::parse_delivery_request;
use archipel_seda::version::SedaVersion;

use super::{Delivery, DeliveryStatus, Progress, Restricted};
use crate::access::guard::{self, Scope};
use crate::access::Communicability;
use crate::api::units::SearchParams;
use crate::auth::Principal;
use crate::error::{ArchiveError, Result};
use crate::service::Archive;

/// A request as JSON: units by id, or the units a search finds.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct DeliverySpec {
    #[serde(default)]
    pub units: Vec<String>,
    /// Search parameters, as for `GET …/units` (`limit`/`offset` are ignored: every match is
    /// taken, up to the cap).
    #[serde(default)]
    pub query: Option<SearchParams>,
    #[serde(default)]
    pub derogation: bool,
    /// The requester's identifier in SEDA messages; the token id when absent.
    #[serde(default)]
    pub requester: Option<String>,
    #[serde(default)]
    pub comment: Option<String>,
    /// SEDA version of the messages (`2.1`, `2.2`, `2.3`); 2.2 when absent.
    #[serde(default)]
    pub seda_version: Option<String>,
}

pub enum Input {
    Json(Box<DeliverySpec>),
    /// An ArchiveDeliveryRequest.
    Xml(Vec<u8>),
}

fn parse_version(s: &str) -> Result<SedaVersion> {
    SedaVersion::ALL
        .into_iter()
        .find(|v| v.as_str() == s.trim())
        .ok_or_else(|| ArchiveError::Invalid(format!("seda_version `{}` is not 2.1, 2.2 or 2.3", s.escape_default())))
}

/// Checks the request and stores it: building at once when everything is communicable,
/// pending when a derogation is asked for. Refused requests store nothing.
pub async fn submit(a: &Arc<Archive>, who: &Principal, tenant: &str, input: Input) -> Result<Delivery> {
    let scope = guard::scope(a, who, tenant).await?;
    if let Some(c) = scope.contract() {
        if !c.may_request_dips {
            let e = ArchiveError::Forbidden(format!(
                "access contract `{}` does not allow communication requests",
                c.id
            ));
            return Err(guard::refuse(a, who, tenant, tenant, e).await);
        }
    }
    let t = a.refs.tenant(tenant).await?;
    let id = super::new_id();
    let (version, message_identifier, requester, derogation, comment, units, request_xml) = match input {
        Input::Xml(xml) => {
            let r = parse_delivery_request(&xml).map_err(|e| ArchiveError::Invalid(e.to_string()))?;
            crate::seda_xsd::check_incoming(&a.config, "ArchiveDeliveryRequest", r.version, &xml).await?;
            if r.archival_agency != t.archival_agency {
                return Err(ArchiveError::Invalid(format!(
                    "the request is addressed to the archival agency `{}`, but this tenant is `{}`: send it to the \
                     right tenant",
                    r.archival_agency, t.archival_agency
                )));
            }
            let comment = (!r.comments.is_empty()).then(|| r.comments.join("\n"));
            (
                r.version,
                r.message_identifier,
                r.requester,
                r.derogation,
                comment,
                r.unit_identifiers,
                Some(xml),
            )
        }
        Input::Json(spec) => {
            let s = *spec;
            let version = parse_version(s.seda_version.as_deref().unwrap_or("2.2"))?;
            let mut units = s.units;
            if let Some(q) = s.query {
                units.extend(search_all(a, tenant, q, &scope).await?);
            }
            let mut seen = std::collections::HashSet::new();
            units.retain(|u| seen.insert(u.clone()));
            let requester = s
                .requester
                .filter(|r| !r.trim().is_empty())
                .unwrap_or_else(|| who.id.clone());
            (version, id.clone(), requester, s.derogation, s.comment, units, None)
        }
    };
    if units.is_empty() {
        return Err(ArchiveError::Invalid(
            "the request names no unit: give unit ids or a query that finds some".into(),
        ));
    }
    let cap = a.config.max_delivery_units;
    if units.len() > cap {
        return Err(ArchiveError::TooLarge(format!(
            "the request names {} units, more than the {cap} one communication may hold: split it",
            units.len()
        )));
    }
    let (today, found) = tokio::join!(
        a.config.access_clock.today(a.store.client()),
        a.catalog.units_by_id(tenant, &units)
    );
    let (today, found) = (today?, found?);
    let mut unknown = Vec::new();
    let mut restricted = Vec::new();
    // The records, in the request's order, for the build that starts at once.
    let mut records = Vec::with_capacity(units.len());
    for (u, unit) in units.iter().zip(found) {
        let Some(unit) = unit else {
            unknown.push(u.clone());
            continue;
        };
        if let Scope::Contract(c) = &scope {
            // Outside the contract is the same as unknown: the requester learns nothing.
            if !c.covers_agency(unit.originating_agency.as_deref()) {
                let logged = ArchiveError::Forbidden(format!(
                    "communication request names unit `{u}`, outside access contract `{}`",
                    c.id
                ));
                guard::refuse(a, who, tenant, u, logged).await;
                unknown.push(u.clone());
                continue;
            }
            let comm = Communicability::of(&unit);
            if !comm.on(today) && !guard::granted(a, tenant, &who.id, u).await? {
                restricted.push(Restricted {
                    unit: u.clone(),
                    originating_agency: unit.originating_agency.clone(),
                    reason: comm.reason(today),
                });
            }
        }
        records.push(unit);
    }
    if !unknown.is_empty() {
        let shown: Vec<&str> = unknown.iter().take(10).map(String::as_str).collect();
        return Err(ArchiveError::NotFound(format!(
            "{} unit(s) of the request are not in this tenant: {}{}; nothing was built",
            unknown.len(),
            shown.join(", "),
            if unknown.len() > shown.len() { ", …" } else { "" }
        )));
    }
    if !restricted.is_empty() && !derogation {
        let list: Vec<String> = restricted
            .iter()
            .take(10)
            .map(|r| format!("{} ({})", r.unit, r.reason))
            .collect();
        let e = ArchiveError::Forbidden(format!(
            "{} unit(s) are not communicable: {}; ask again with a derogation (--derogation) to start the \
             L213-3 procedure",
            restricted.len(),
            list.join("; ")
        ));
        return Err(guard::refuse(a, who, tenant, tenant, e).await);
    }
    let now = Utc::now();
    let mut d = Delivery {
        id: id.clone(),
        tenant: tenant.to_owned(),
        requested_by: who.id.clone(),
        role: who.role.to_string(),
        access_contract: who.access_contract.clone(),
        requester,
        message_identifier,
        seda_version: version.as_str().to_owned(),
        comment,
        derogation,
        units,
        status: if restricted.is_empty() {
            DeliveryStatus::Building
        } else {
            DeliveryStatus::PendingOriginatingAgency
        },
        restricted,
        authorizations: Vec::new(),
        progress: Progress::default(),
        attempt: 0,
        created_at: now,
        updated_at: now,
        request_key: None,
        dip_plan: None,
        dip_key: None,
        dip_size: None,
        dip_sha512: None,
        expires_at: None,
        error: None,
    };
    if let Some(xml) = request_xml {
        d.request_key = Some(super::store_message(a, tenant, &id, "request", &xml).await?);
    }
    if d.status == DeliveryStatus::PendingOriginatingAgency {
        super::derogation::ask_originating_agencies(a, &t, &mut d).await?;
    }
    if !a.store.create(&crate::keys::delivery(tenant, &id), &d).await? {
        return Err(ArchiveError::Conflict("delivery id collision; retry".into()));
    }
    // The build starts while the request is logged; it logs nothing before the request is.
    let logged = match d.status {
        DeliveryStatus::Building => {
            let (logged, requested) = tokio::sync::oneshot::channel();
            let new = super::dip::New {
                units: records,
                requested,
            };
            super::dip::spawn_new(a.clone(), d.clone(), new);
            Some(logged)
        }
        _ => None,
    };
    let requested = a
        .journal
        .record(
            tenant,
            "delivery.requested",
            "OK",
            &who.id,
            Some(&id),
            json!({
                "units": d.units.len(),
                "derogation": d.derogation,
                "restricted": d.restricted.iter().map(|r| &r.unit).collect::<Vec<_>>(),
                "requester": d.requester,
                "status": d.status,
                "message_identifier": d.message_identifier,
            }),
        )
        .await;
    if let Some(logged) = logged {
        let _ = logged.send(requested.is_ok());
    }
    requested?;
    Ok(d)
}

/// Every unit a search finds, up to the cap (a query finding more is refused, not cut).
async fn search_all(a: &Archive, tenant: &str, q: SearchParams, scope: &Scope) -> Result<Vec<String>> {
    let cap = a.config.max_delivery_units;
    let page_size = crate::search::MAX_LIMIT;
    let mut out = Vec::new();
    let mut offset = 0;
    loop {
        let params = SearchParams {
            facets: Some(false),
            limit: Some(page_size),
            offset: Some(offset),
            ..q.clone()
        };
        let page = crate::searching::search_within(a, tenant, params, scope).await?;
        let total = page["total"].as_u64().unwrap_or(0) as usize;
        if total > cap {
            return Err(ArchiveError::TooLarge(format!(
                "the query finds {total} units, more than the {cap} one communication may hold: narrow it"
            )));
        }
        let hits = page["hits"].as_array().cloned().unwrap_or_default();
        let n = hits.len();
        out.extend(
            hits.into_iter()
                .filter_map(|h| h["unit_id"].as_str().map(str::to_owned)),
        );
        offset += n;
        if n == 0 || offset >= total {
            return Ok(out);
        }
    }
}
