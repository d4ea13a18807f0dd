//! The graph of ArchiveUnits: nesting edges (parent -> child) and link edges (a unit holding
//! ArchiveUnitRefId -> the unit it points to). Gives cycles, and the flat list of described
//! units with their parents in an order where parents come first.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;

use super::model::{ArchiveTransfer, ArchiveUnit};

/// One described unit (not a link) with the ids of its described parents.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FlatUnit<'a> {
    pub unit: &'a ArchiveUnit,
    /// Parents after resolving links; empty for a root. Sorted, no duplicates.
    pub parent_ids: Vec<&'a str>,
}

pub(crate) struct UnitGraph<'a> {
    pub units: Vec<&'a ArchiveUnit>,
    /// Edges by source index.
    pub edges: Vec<Vec<usize>>,
    pub index: HashMap<&'a str, usize>,
}

impl<'a> UnitGraph<'a> {
    /// Builds the graph; a link to a missing id adds no edge (validation reports it).
    pub fn new(t: &'a ArchiveTransfer) -> UnitGraph<'a> {
        let mut units = Vec::new();
        let mut edges: Vec<Vec<usize>> = Vec::new();
        // Iterative walk: units nest as deep as the parse limit allows.
        let mut stack: Vec<(&ArchiveUnit, Option<usize>)> = t
            .package
            .iter()
            .flat_map(|p| p.units.iter().rev())
            .map(|u| (u, None))
            .collect();
        while let Some((u, parent)) = stack.pop() {
            let idx = units.len();
            units.push(u);
            edges.push(Vec::new());
            if let Some(p) = parent {
                edges[p].push(idx);
            }
            stack.extend(u.children.iter().rev().map(|c| (c, Some(idx))));
        }
        let mut index = HashMap::with_capacity(units.len());
        for (i, u) in units.iter().enumerate() {
            index.entry(u.id.as_str()).or_insert(i);
        }
        for (i, u) in units.iter().enumerate() {
            if let Some(target) = u.archive_unit_ref_id.as_deref().and_then(|r| index.get(r)) {
                edges[i].push(*target);
            }
        }
        UnitGraph { units, edges, index }
    }

    /// Every cycle found by a depth-first search, each as the ids along it, first id repeated
    /// at the end ("A -> B -> A").
    pub fn cycles(&self) -> Vec<Vec<&'a str>> {
        const NEW: u8 = 0;
        const OPEN: u8 = 1;
        const DONE: u8 = 2;
        let mut state = vec![NEW; self.units.len()];
        let mut cycles = Vec::new();
        for start in 0..self.units.len() {
            if state[start] != NEW {
                continue;
            }
            // (node, next edge to try); the stack is the current path.
            let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
            state[start] = OPEN;
            while let Some(top) = stack.last_mut() {
                let (node, next) = *top;
                if let Some(&to) = self.edges[node].get(next) {
                    top.1 += 1;
                    match state[to] {
                        NEW => {
                            state[to] = OPEN;
                            stack.push((to, 0));
                        }
                        OPEN => {
                            let from = stack.iter().position(|(n, _)| *n == to).unwrap_or(0);
                            let mut path: Vec<&str> =
                                stack[from..].iter().map(|(n, _)| self.units[*n].id.as_str()).collect();
                            path.push(self.units[to].id.as_str());
                            cycles.push(path);
                        }
                        _ => {}
                    }
                } else {
                    state[node] = DONE;
                    stack.pop();
                }
            }
        }
        cycles
    }

    /// Described units, parents first (Kahn's order, ties in document order), or None when
    /// the graph has a cycle.
    pub fn flatten(&self) -> Option<Vec<FlatUnit<'a>>> {
        let n = self.units.len();
        let mut incoming: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (from, tos) in self.edges.iter().enumerate() {
            for &to in tos {
                incoming[to].push(from);
            }
        }
        let mut pending: Vec<usize> = incoming.iter().map(Vec::len).collect();
        let mut ready: BTreeSet<usize> = (0..n).filter(|&i| pending[i] == 0).collect();
        // Described parents of every node, links resolved through.
        let mut parents: Vec<BTreeSet<&'a str>> = vec![BTreeSet::new(); n];
        let mut out = Vec::with_capacity(n);
        let mut seen = 0;
        while let Some(node) = ready.pop_first() {
            seen += 1;
            let mut mine = BTreeSet::new();
            for &p in &incoming[node] {
                if self.units[p].archive_unit_ref_id.is_some() {
                    mine.extend(parents[p].iter().copied());
                } else {
                    mine.insert(self.units[p].id.as_str());
                }
            }
            parents[node] = mine;
            if self.units[node].archive_unit_ref_id.is_none() {
                out.push(FlatUnit {
                    unit: self.units[node],
                    parent_ids: parents[node].iter().copied().collect(),
                });
            }
            for &to in &self.edges[node] {
                pending[to] -= 1;
                if pending[to] == 0 {
                    ready.insert(to);
                }
            }
        }
        (seen == n).then_some(out)
    }
}
