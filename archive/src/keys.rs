//! Where each record lives: meta keys (in [`crate::store::META_NS`]) and object keys (in the
//! tenant's object namespace). One place, so the layout is documented and never drifts.

pub fn tenant(t: &str) -> String {
    format!("tenants/{t}")
}
pub const TENANTS: &str = "tenants/";

pub fn token(id: &str) -> String {
    format!("tokens/{id}")
}
pub const TOKENS: &str = "tokens/";

/// Everything of one tenant starts here.
pub fn tenant_prefix(t: &str) -> String {
    format!("t/{t}/")
}

/// A referential record (`kind` = agency, agreement, profile, rule) at its current version.
pub fn referential(t: &str, kind: &str, id: &str) -> String {
    format!("t/{t}/{kind}/{id}")
}
pub fn referentials(t: &str, kind: &str) -> String {
    format!("t/{t}/{kind}/")
}
/// Older versions, kept for the record.
pub fn referential_version(t: &str, kind: &str, id: &str, version: u32) -> String {
    format!("t/{t}/{kind}-history/{id}/{version:08}")
}

pub fn transfer(t: &str, id: &str) -> String {
    format!("t/{t}/transfer/{id}")
}
/// The heartbeat of the front running a transfer, apart from its record so the two never race.
pub fn transfer_beat(t: &str, id: &str) -> String {
    format!("t/{t}/transfer-beat/{id}")
}
pub fn transfers(t: &str) -> String {
    format!("t/{t}/transfer/")
}

/// The claim of a (TransferringAgency, MessageIdentifier) pair by the transfer that uses it,
/// created only if absent, so two fronts receiving the same message agree on one transfer.
/// Both parts are escaped: a producer's identifiers may hold `/` or anything else.
pub fn transfer_message(t: &str, agency: &str, message_id: &str) -> String {
    format!("t/{t}/transfer-message/{}/{}", escape(agency), escape(message_id))
}

/// Percent-encodes every byte outside `[A-Za-z0-9._-]`: injective, and no `/` survives.
fn escape(part: &str) -> String {
    let mut out = String::with_capacity(part.len());
    for b in part.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub fn unit(t: &str, id: &str) -> String {
    format!("t/{t}/unit/{id}")
}
pub fn units(t: &str) -> String {
    format!("t/{t}/unit/")
}

/// The commit record of an AIP: its units are visible only once it exists.
pub fn aip(t: &str, id: &str) -> String {
    format!("t/{t}/aip/{id}")
}
pub fn aips(t: &str) -> String {
    format!("t/{t}/aip/")
}

/// Bumped by every catalog change, so fronts know when their search index is behind.
/// Changed (to a new random value) by every write that touches a unit or AIP record, in the
/// same transaction (`store::Store`): a front's in-memory copy of the catalog is current as
/// long as this value is the one it read before copying.
pub fn catalog_token(t: &str) -> String {
    format!("t/{t}/catalog-token")
}

/// The tenant whose catalog (unit or AIP commit records) `key` belongs to, if any.
pub fn catalog_tenant(key: &str) -> Option<&str> {
    let (tenant, rest) = key.strip_prefix("t/")?.split_once('/')?;
    (rest.starts_with("unit/") || rest.starts_with("aip/")).then_some(tenant)
}

pub fn catalog_generation(t: &str) -> String {
    format!("t/{t}/catalog-generation")
}
/// Unit records changed in place (`catalog::UnitChange`), followed by every front's search sync.
pub fn unit_changes(t: &str) -> String {
    format!("t/{t}/unit-change/")
}
/// One such change, sorted by when it was written (microseconds, the writing front's clock).
pub fn unit_change(t: &str, micros: i64, tag: &str) -> String {
    format!("t/{t}/unit-change/{:020}-{tag}", micros.max(0))
}

/// The object namespace of a tenant's AIPs.
pub fn object_namespace(t: &str) -> String {
    format!("archive.{t}")
}

pub fn aip_prefix(aip: &str) -> String {
    format!("aip/{aip}/")
}
pub fn aip_object(aip: &str, object_id: &str) -> String {
    format!("aip/{aip}/objects/{object_id}")
}
/// A tar pack of the AIP's small files (`ingest::pack`).
pub fn aip_pack(aip: &str, n: usize) -> String {
    format!("aip/{aip}/packs/{n:05}.tar")
}
pub fn aip_manifest(aip: &str) -> String {
    format!("aip/{aip}/manifest.xml")
}
/// Written last: an AIP without it is incomplete and never indexed.
pub fn aip_descriptor(aip: &str) -> String {
    format!("aip/{aip}/aip.json")
}
pub const AIP_DESCRIPTOR_SUFFIX: &str = "/aip.json";

pub fn atr(transfer: &str) -> String {
    format!("atr/{transfer}.xml")
}

pub fn ack(transfer: &str) -> String {
    format!("ack/{transfer}.xml")
}

/// The last transfer a door received for a (TransferringAgency, MessageIdentifier) pair, so its
/// replies are found even when it ended KO before claiming the pair (`doors::asalae`).
pub fn door_message(t: &str, door: &str, agency: &str, message_id: &str) -> String {
    format!("t/{t}/door/{door}/{}/{}", escape(agency), escape(message_id))
}

/// The Vitam door's numeric tenant aliases (Vitam tenants are integers): alias -> tenant, and
/// tenant -> alias, both created only if absent.
pub fn vitam_alias(alias: u32) -> String {
    format!("doors/vitam/alias/{alias:010}")
}
pub const VITAM_ALIASES: &str = "doors/vitam/alias/";
pub fn vitam_alias_of(t: &str) -> String {
    format!("t/{t}/door/vitam-alias")
}

/// An approved derogation: `principal` may take `unit`'s content (`access::guard::Grant`).
pub fn access_grant(t: &str, principal: &str, unit: &str) -> String {
    format!("t/{t}/access-grant/{}/{}", escape(principal), escape(unit))
}

/// A communication request and its DIP (`delivery::Delivery`).
pub fn delivery(t: &str, id: &str) -> String {
    format!("t/{t}/delivery/{id}")
}
pub fn deliveries(t: &str) -> String {
    format!("t/{t}/delivery/")
}

/// The plan of a delivery's DIP (`delivery::dip_zip::DipPlan`), in the tenant's namespace
/// (deleted once expired), one per build: a build taken over after a front stopped
/// (`delivery::resume`) has its own, which the stopped build can never overwrite.
pub fn dip_plan(delivery: &str, attempt: u32) -> String {
    format!("dip/{delivery}.{attempt}.plan.json")
}

/// A SEDA message of a delivery (the request, authorisation requests and replies).
pub fn delivery_message(delivery: &str, name: &str) -> String {
    format!("delivery/{delivery}/{name}.xml")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_keys_are_escaped_and_distinct() {
        let k = transfer_message("t1", "SV/1", "MSG 1%");
        assert_eq!(k, "t/t1/transfer-message/SV%2F1/MSG%201%25");
        // Without escaping these two pairs would share one key.
        assert_ne!(transfer_message("t1", "a/b", "c"), transfer_message("t1", "a", "b/c"));
        assert_ne!(transfer_message("t1", "a%2Fb", "c"), transfer_message("t1", "a/b", "c"));
    }

    #[test]
    fn catalog_keys_are_recognised_and_nothing_else() {
        assert_eq!(catalog_tenant(&unit("t1", "u")), Some("t1"));
        assert_eq!(catalog_tenant(&aip("t1", "a")), Some("t1"));
        for other in [
            transfer("t1", "x"),
            catalog_token("t1"),
            catalog_generation("t1"),
            unit_change("t1", 1, "tag"),
            tenant("t1"),
        ] {
            assert_eq!(catalog_tenant(&other), None, "{other}");
        }
    }
}
