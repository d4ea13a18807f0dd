//! Every `sys.*` namespace of the metadata keyspace, in one place. These hold the node's own
//! records; clients cannot write them (`grpc/meta_service.rs` refuses `sys.*`), and the modules
//! that own each record re-export its name from here.

/// Namespaces: name -> settings (EC profile, WORM, encryption, owner tenant).
pub const NS_NAMESPACES: &str = "sys.ns";
/// Manifests of namespace `x` live in `sys.obj/x`, keyed by object key.
pub const NS_MANIFEST_PREFIX: &str = "sys.obj/";
/// Object id (hex) -> namespace and key: what a shard's owner is, for garbage collection.
pub const NS_OBJECT_IDS: &str = "sys.objid";
/// Repairs and moves in flight: `<object id hex>.<index>`, written before the shard is sent. The
/// commit needs it; the orphan collector removes an expired one before deleting the upload's
/// shard, so a late commit can never name a deleted shard.
pub const NS_UPLOADS: &str = "sys.upload";
/// Object ids the orphan collector gave up (their shards may be deleted): `<object id hex>` ->
/// when, as big-endian ms. A PUT commits only while its id is absent here.
pub const NS_COLLECTED: &str = "sys.collected";
/// Shards found corrupt or missing, for the healing work: `<object id hex>.<index>`.
pub const NS_DAMAGED: &str = "sys.damaged";
/// Objects that cannot be rebuilt (fewer than k sound shards), out of the repair queue:
/// `<object id hex>` -> JSON (namespace, key, reason, when).
pub const NS_LOST: &str = "sys.lost";
/// Per-object locks of namespace `x` live in `sys.lock/x`, keyed by object key.
pub const NS_LOCK_PREFIX: &str = "sys.lock/";
/// Fixity evidence: `<object id hex>.<index>` -> the last verification (node, when, result).
pub const NS_FIXITY: &str = "sys.fixity";
/// `sys.placement/last`: the last placement check's report (JSON).
pub const NS_PLACEMENT: &str = "sys.placement";
/// `sys.drain/<node id>`: set once no manifest references a draining or removed node any more.
pub const NS_DRAIN: &str = "sys.drain";
/// `sys.moves/<object id>.<index>`: shards to move to the placement of the current layout.
pub const NS_MOVES: &str = "sys.moves";
/// The per-node shard index: `sys.nodeshards/<node id>` -> `<object id>.<index>` -> owner.
pub const NS_NODE_SHARDS_PREFIX: &str = "sys.nodeshards/";
/// The state machine's own rows (its clock, the revision counter).
pub const NS_STATE: &str = "sys.state";
/// Revoked certificate serials.
pub const NS_REVOKED: &str = "sys.revoked";

/// Every reserved namespace or prefix, for tests and tools that must know them all.
pub const ALL: [&str; 15] = [
    NS_NAMESPACES,
    NS_MANIFEST_PREFIX,
    NS_OBJECT_IDS,
    NS_UPLOADS,
    NS_COLLECTED,
    NS_DAMAGED,
    NS_LOST,
    NS_LOCK_PREFIX,
    NS_FIXITY,
    NS_PLACEMENT,
    NS_DRAIN,
    NS_MOVES,
    NS_NODE_SHARDS_PREFIX,
    NS_STATE,
    NS_REVOKED,
];

#[cfg(test)]
mod tests {
    /// A `sys.*` name written anywhere in the node's sources but here is a record this module
    /// does not name.
    #[test]
    fn every_sys_namespace_is_named_here() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut stray = Vec::new();
        let mut stack = vec![src];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                if path.extension().is_none_or(|e| e != "rs") || name == "sys_keys.rs" || name.contains("test") {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                for line in text.lines() {
                    if line.contains("pub const NS_") && line.contains("\"sys.") {
                        stray.push(format!("{}: {}", path.display(), line.trim()));
                    }
                }
            }
        }
        assert!(stray.is_empty(), "define sys.* names in sys_keys.rs: {stray:#?}");
        for ns in super::ALL {
            assert!(ns.starts_with("sys."), "{ns}");
        }
    }
}
