//! Walking the catalog page by page, so no pass holds the whole keyspace in memory: one node's
//! shards (through the per-node shard index, `store::shard_index`) or every manifest.

use crate::kv::KvEntry;
use crate::shards::parse_object_id;
use crate::store::shard_index::{node_shards_ns, parse_owner};
use crate::store::StateView;

use super::model::{manifest_ns, Manifest, Storage, NS_NAMESPACES};

/// Rows per page: large enough to amortise the scan, small enough to bound memory.
const PAGE: usize = 1000;

/// A shard that the applied manifest of `namespace/key` places on the walked node.
pub(crate) struct PlacedShard {
    pub manifest: Manifest,
    pub index: u32,
}

/// One node's shards, in object id order, each with its current manifest.
pub(crate) struct NodeShards<'a> {
    view: &'a StateView,
    node_id: u64,
    ns: String,
    after: Vec<u8>,
    done: bool,
}

impl<'a> NodeShards<'a> {
    pub fn new(view: &'a StateView, node_id: u64) -> Self {
        Self {
            view,
            node_id,
            ns: node_shards_ns(node_id),
            after: Vec::new(),
            done: false,
        }
    }

    /// The next page; None once the walk is over. A row whose manifest no longer places that
    /// shard on this node (changed since the page was read) is left out.
    pub fn next_page(&mut self) -> Result<Option<Vec<PlacedShard>>, rocksdb::Error> {
        if self.done {
            return Ok(None);
        }
        let (rows, more) = self.view.scan(&self.ns, b"", &self.after, PAGE)?;
        self.done = !more;
        if let Some(last) = rows.last() {
            self.after = last.key.clone();
        }
        let mut page = Vec::with_capacity(rows.len());
        for row in rows {
            if let Some(placed) = self.resolve(&row)? {
                page.push(placed);
            }
        }
        Ok(Some(page))
    }

    fn resolve(&self, row: &KvEntry) -> Result<Option<PlacedShard>, rocksdb::Error> {
        let key = String::from_utf8_lossy(&row.key);
        let Some((hex, index)) = key.rsplit_once('.') else {
            return Ok(None);
        };
        let (Some(object_id), Ok(index)) = (parse_object_id(hex), index.parse::<u32>()) else {
            return Ok(None);
        };
        let Some((namespace, object_key)) = parse_owner(&row.value) else {
            return Ok(None);
        };
        let Some(entry) = self.view.get(&manifest_ns(&namespace), object_key.as_bytes())? else {
            return Ok(None);
        };
        let Ok(manifest) = Manifest::decode(&entry.value) else {
            return Ok(None);
        };
        let placed_here = manifest.object_id == object_id
            && matches!(&manifest.storage, Storage::Sharded { shards, .. }
                if shards.iter().any(|s| s.index == index && s.node_id == self.node_id));
        Ok(placed_here.then_some(PlacedShard { manifest, index }))
    }
}

/// Every manifest of every namespace, namespace by namespace, in key order.
pub(crate) struct AllManifests<'a> {
    view: &'a StateView,
    namespace_after: Vec<u8>,
    namespaces: std::vec::IntoIter<String>,
    namespaces_done: bool,
    current: Option<(String, Vec<u8>)>,
}

impl<'a> AllManifests<'a> {
    pub fn new(view: &'a StateView) -> Self {
        Self {
            view,
            namespace_after: Vec::new(),
            namespaces: Vec::new().into_iter(),
            namespaces_done: false,
            current: None,
        }
    }

    /// The next page of manifests; None once every namespace is walked.
    pub fn next_page(&mut self) -> Result<Option<Vec<Manifest>>, rocksdb::Error> {
        loop {
            let (namespace, after) = match self.current.take() {
                Some(c) => c,
                None => match self.next_namespace()? {
                    Some(ns) => (ns, Vec::new()),
                    None => return Ok(None),
                },
            };
            let (rows, more) = self.view.scan(&manifest_ns(&namespace), b"", &after, PAGE)?;
            if more {
                if let Some(last) = rows.last() {
                    self.current = Some((namespace, last.key.clone()));
                }
            }
            if rows.is_empty() {
                continue;
            }
            return Ok(Some(
                rows.iter().filter_map(|e| Manifest::decode(&e.value).ok()).collect(),
            ));
        }
    }

    fn next_namespace(&mut self) -> Result<Option<String>, rocksdb::Error> {
        loop {
            if let Some(ns) = self.namespaces.next() {
                return Ok(Some(ns));
            }
            if self.namespaces_done {
                return Ok(None);
            }
            let (rows, more) = self.view.scan(NS_NAMESPACES, b"", &self.namespace_after, PAGE)?;
            self.namespaces_done = !more;
            if let Some(last) = rows.last() {
                self.namespace_after = last.key.clone();
            }
            self.namespaces = rows
                .iter()
                .map(|r| String::from_utf8_lossy(&r.key).into_owned())
                .collect::<Vec<_>>()
                .into_iter();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ec_profile::EcProfile;
    use crate::objects::test_sm::Sm;
    use crate::objects::ShardRef;
    use crate::raft::Command;

    fn sharded(ns: &str, n: u32, nodes: &[u64]) -> Manifest {
        let mut object_id = [0u8; 16];
        object_id[..4].copy_from_slice(&n.to_be_bytes());
        object_id[4] = ns.len() as u8;
        Manifest {
            namespace: ns.into(),
            key: format!("k{n:05}"),
            object_id,
            size: 10,
            blake3: [0; 32],
            created_at_ms: 1,
            retain_until_ms: 0,
            storage: Storage::Sharded {
                profile: EcProfile::new(2, 1).unwrap(),
                stripe_size: 1 << 20,
                shards: nodes
                    .iter()
                    .enumerate()
                    .map(|(i, node_id)| ShardRef {
                        index: i as u32,
                        node_id: *node_id,
                        table_hash: [0; 32],
                    })
                    .collect(),
            },
            sealed: None,
        }
    }

    fn put(m: &Manifest) -> Command {
        Command::Put {
            ns: manifest_ns(&m.namespace),
            key: m.key.as_bytes().to_vec(),
            value: m.encode(),
        }
    }

    fn namespace(name: &str) -> Command {
        Command::Put {
            ns: NS_NAMESPACES.into(),
            key: name.as_bytes().to_vec(),
            value: b"{}".to_vec(),
        }
    }

    /// More than a page of objects over several namespaces: each walk sees every one exactly
    /// once, and a node's walk only the shards it holds.
    #[tokio::test]
    async fn walks_cover_everything_page_by_page() {
        let mut sm = Sm::new();
        let mut batch = Vec::new();
        for ns in ["acts", "pes", "empty"] {
            batch.push(namespace(ns));
        }
        for n in 0..2500u32 {
            let ns = if n % 2 == 0 { "acts" } else { "pes" };
            let nodes = if n % 5 == 0 { [1, 2, 3] } else { [4, 2, 3] };
            batch.push(put(&sharded(ns, n, &nodes)));
        }
        for chunk in batch.chunks(500) {
            sm.apply(1, Command::Batch(chunk.to_vec())).await;
        }
        let view = sm.sm.view();
        let mut all = AllManifests::new(&view);
        let (mut seen, mut pages) = (std::collections::BTreeSet::new(), 0);
        while let Some(page) = all.next_page().unwrap() {
            assert!(page.len() <= PAGE);
            pages += 1;
            for m in page {
                assert!(seen.insert((m.namespace, m.key)), "seen twice");
            }
        }
        assert_eq!(seen.len(), 2500);
        assert!(pages >= 3, "{pages} pages");

        let mut walk = NodeShards::new(&view, 1);
        let mut on_node_1 = 0;
        while let Some(page) = walk.next_page().unwrap() {
            for placed in page {
                assert_eq!(placed.index, 0);
                on_node_1 += 1;
            }
        }
        assert_eq!(on_node_1, 500);
    }

    /// A row whose manifest no longer places the shard on the node (a stale row) is skipped.
    #[tokio::test]
    async fn a_shard_no_longer_placed_on_the_node_is_skipped() {
        let mut sm = Sm::new();
        let m = sharded("acts", 1, &[1, 2, 3]);
        sm.apply(1, put(&m)).await;
        let view = sm.sm.view();
        // A hand-made row pointing at a manifest that places nothing on node 9.
        sm.apply(
            1,
            Command::Put {
                ns: crate::store::shard_index::node_shards_ns(9),
                key: format!("{}.0", crate::shards::object_id_hex(&m.object_id)).into_bytes(),
                value: crate::store::shard_index::owner_value("acts", &m.key),
            },
        )
        .await;
        let mut walk = NodeShards::new(&view, 9);
        assert_eq!(walk.next_page().unwrap().map(|p| p.len()), Some(0));
        assert!(walk.next_page().unwrap().is_none());
    }
}
