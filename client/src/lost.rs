//! `sys.lost`: the objects the repairer proved it cannot rebuild, as its records say.

use archipel_proto::cluster::LostObject;

use crate::{Client, ClientError, Consistency, MetaEntry};

/// Written by the nodes' repairer: `<object id hex>` -> JSON (namespace, key, reason, when).
const NS_LOST: &str = "sys.lost";

impl Client {
    /// The lost objects in object-id order, at most `limit`, and whether there are more.
    pub async fn lost_objects(&self, limit: u32) -> Result<(Vec<LostObject>, bool), ClientError> {
        let (entries, more) = self
            .meta_scan(NS_LOST, b"", b"", limit, Consistency::Linearizable)
            .await?;
        Ok((entries.iter().map(lost_object).collect(), more))
    }
}

/// A record as the status answer carries it; a field it cannot read stays empty, so one damaged
/// record does not hide the others.
fn lost_object(e: &MetaEntry) -> LostObject {
    let v: serde_json::Value = serde_json::from_slice(&e.value).unwrap_or_default();
    LostObject {
        namespace: v["namespace"].as_str().unwrap_or_default().to_owned(),
        key: v["key"].as_str().unwrap_or_default().to_owned(),
        object_id: String::from_utf8_lossy(&e.key).into_owned(),
        reason: v["reason"].as_str().unwrap_or_default().to_owned(),
        detected_at_ms: v["detected_at_ms"].as_u64().unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(value: &[u8]) -> MetaEntry {
        MetaEntry {
            namespace: NS_LOST.into(),
            key: b"0a1b".to_vec(),
            value: value.to_vec(),
            revision: 7,
        }
    }

    #[test]
    fn a_record_reads_as_the_repairer_writes_it() {
        let raw = br#"{"namespace":"archive","key":"acte.pdf","reason":"stripes 0..1: 2 sound shards of 3 needed","detected_by":3,"detected_at_ms":1700000000000}"#;
        let l = lost_object(&entry(raw));
        assert_eq!(l.object_id, "0a1b");
        assert_eq!((l.namespace.as_str(), l.key.as_str()), ("archive", "acte.pdf"));
        assert!(l.reason.starts_with("stripes 0..1"), "{}", l.reason);
        assert_eq!(l.detected_at_ms, 1_700_000_000_000);
    }

    #[test]
    fn an_unreadable_record_still_names_its_object() {
        let l = lost_object(&entry(b"not json"));
        assert_eq!(l.object_id, "0a1b");
        assert!(l.namespace.is_empty() && l.key.is_empty() && l.reason.is_empty());
    }
}
