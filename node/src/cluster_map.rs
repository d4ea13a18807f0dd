//! The cluster map: which nodes exist, at which site, with what capacity and state.
//! It lives in the Raft state machine; every node holds the same copy.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub enum NodeState {
    Up,
    Draining,
    Gone,
}

impl NodeState {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeState::Up => "up",
            NodeState::Draining => "draining",
            NodeState::Gone => "gone",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct NodeEntry {
    pub id: u64,
    pub site: String,
    pub addr: String,
    pub capacity_bytes: u64,
    pub state: NodeState,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ClusterMap {
    /// Empty until `cluster init` has been applied.
    pub cluster_id: String,
    pub nodes: BTreeMap<u64, NodeEntry>,
    /// Bumped whenever placement inputs change (a node added, its state or capacity changed).
    pub layout_version: u64,
}

impl ClusterMap {
    pub fn sites(&self) -> BTreeSet<&str> {
        self.live_nodes().map(|n| n.site.as_str()).collect()
    }

    /// Nodes that are not gone.
    pub fn live_nodes(&self) -> impl Iterator<Item = &NodeEntry> {
        self.nodes.values().filter(|n| n.state != NodeState::Gone)
    }

    pub fn init(&mut self, cluster_id: &str, node: NodeEntry) -> Result<(), String> {
        if !self.cluster_id.is_empty() {
            return Err(format!("cluster {} is already initialised", self.cluster_id));
        }
        self.cluster_id = cluster_id.to_owned();
        self.nodes.insert(node.id, node);
        self.layout_version = 1;
        Ok(())
    }

    pub fn add_node(&mut self, node: NodeEntry) -> Result<(), String> {
        if let Some(existing) = self.nodes.get(&node.id) {
            // Re-adding the very same node is a no-op, so a retried `node add` is harmless.
            if existing.addr == node.addr && existing.site == node.site && existing.state != NodeState::Gone {
                return Ok(());
            }
            return Err(format!(
                "node id {} is already taken by the node at {} (site {}, {})",
                node.id,
                existing.addr,
                existing.site,
                existing.state.as_str()
            ));
        }
        if let Some(other) = self.live_nodes().find(|n| n.addr == node.addr) {
            return Err(format!("address {} is already used by node {}", node.addr, other.id));
        }
        self.nodes.insert(node.id, node);
        self.layout_version += 1;
        Ok(())
    }

    pub fn set_state(&mut self, node_id: u64, state: NodeState) -> Result<(), String> {
        let node = self
            .nodes
            .get_mut(&node_id)
            .ok_or_else(|| format!("node {node_id} is not in the cluster"))?;
        if node.state == NodeState::Gone && state != NodeState::Gone {
            return Err(format!("node {node_id} was removed; a removed id is never reused"));
        }
        if node.state != state {
            node.state = state;
            self.layout_version += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: u64, site: &str) -> NodeEntry {
        NodeEntry {
            id,
            site: site.into(),
            addr: format!("127.0.0.1:{}", 7400 + id),
            capacity_bytes: 1 << 30,
            state: NodeState::Up,
        }
    }

    #[test]
    fn init_once_then_add_and_remove() {
        let mut m = ClusterMap::default();
        m.init("c1", node(1, "region")).unwrap();
        assert!(m.init("c2", node(2, "ville")).is_err());
        m.add_node(node(2, "ville")).unwrap();
        m.add_node(node(2, "ville")).unwrap(); // idempotent
        assert_eq!(m.layout_version, 2);
        let dup = m.add_node(node(2, "region")).unwrap_err();
        assert!(dup.contains("already taken"), "{dup}");
        let mut same_addr = node(3, "ville");
        same_addr.addr = node(2, "ville").addr;
        assert!(m.add_node(same_addr).unwrap_err().contains("already used"));
        m.set_state(2, NodeState::Gone).unwrap();
        assert!(m.set_state(2, NodeState::Up).is_err());
        assert!(m.add_node(node(2, "ville")).is_err(), "a gone id is never reused");
        assert_eq!(m.sites().into_iter().collect::<Vec<_>>(), vec!["region"]);
    }
}
