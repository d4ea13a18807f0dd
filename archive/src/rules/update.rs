//! UpdateOperation: a SIP unit that attaches below a unit already archived. SEDA names the
//! target by its system id (`SystemId`) or by a metadata key (`ArchiveUnitIdentifierKey`).
//! Archipel attaches by system id within the transfer's tenant; anything else is KO with the
//! reason, never ignored.

use archipel_seda::manifest::Management;
use serde_json::Value;

/// How a unit names the archived unit it attaches to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    SystemId(String),
    /// Not supported: a metadata key can match many units or none, and the catalog has no
    /// index to resolve it at ingest.
    MetadataKey {
        name: String,
        value: String,
    },
}

/// The unit's UpdateOperation, if any: its target, or why it cannot be read.
pub fn target(m: &Management) -> Option<Result<Target, String>> {
    let op = m.other.get("UpdateOperation")?;
    let text = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    if op.is_array() {
        return Some(Err("UpdateOperation is given twice; give one".into()));
    }
    if let Some(id) = text(op.get("SystemId")) {
        return Some(Ok(Target::SystemId(id)));
    }
    if let Some(key) = op.get("ArchiveUnitIdentifierKey") {
        let (name, value) = (text(key.get("MetadataName")), text(key.get("MetadataValue")));
        return Some(match (name, value) {
            (Some(name), Some(value)) => Ok(Target::MetadataKey { name, value }),
            _ => Err("UpdateOperation/ArchiveUnitIdentifierKey needs MetadataName and MetadataValue".into()),
        });
    }
    Some(Err(
        "UpdateOperation names no SystemId; give the system id of the archived unit to attach to".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(op: Value) -> Management {
        let mut m = Management::default();
        m.other.insert("UpdateOperation".into(), op);
        m
    }

    #[test]
    fn reads_both_forms_and_rejects_the_rest() {
        assert_eq!(target(&Management::default()), None);
        assert_eq!(
            target(&with(serde_json::json!({"SystemId": " abc "}))),
            Some(Ok(Target::SystemId("abc".into())))
        );
        assert_eq!(
            target(&with(
                serde_json::json!({"ArchiveUnitIdentifierKey": {"MetadataName": "Title", "MetadataValue": "X"}})
            )),
            Some(Ok(Target::MetadataKey {
                name: "Title".into(),
                value: "X".into()
            }))
        );
        assert!(target(&with(
            serde_json::json!({"ArchiveUnitIdentifierKey": {"MetadataName": "Title"}})
        ))
        .unwrap()
        .is_err());
        assert!(target(&with(serde_json::json!("x"))).unwrap().is_err());
    }
}
