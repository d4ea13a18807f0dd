//! RFC 6962 / RFC 9162 Merkle tree over entry hashes.
//!
//! Leaf hash = SHA-256(0x00 || entry hash), node hash = SHA-256(0x01 || left || right); a tree of n > 1 leaves
//! splits at k, the largest power of two below n. The prefixes keep a leaf from ever passing for a node.

use sha2::{Digest, Sha256};

use super::hash::Hash32;

pub fn leaf_hash(entry_hash: &Hash32) -> Hash32 {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(entry_hash.0);
    Hash32(h.finalize().into())
}

pub fn node_hash(left: &Hash32, right: &Hash32) -> Hash32 {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left.0);
    h.update(right.0);
    Hash32(h.finalize().into())
}

/// Largest power of two strictly below `n` (n >= 2).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// Root over already leaf-hashed values; `None` for an empty tree (nothing is ever sealed empty).
fn root_of_leaves(leaves: &[Hash32]) -> Option<Hash32> {
    match leaves.len() {
        0 => None,
        1 => Some(leaves[0]),
        n => {
            let k = split(n);
            Some(node_hash(
                &root_of_leaves(&leaves[..k])?,
                &root_of_leaves(&leaves[k..])?,
            ))
        }
    }
}

/// The tree root over `entry_hashes` in sequence order.
pub fn root(entry_hashes: &[Hash32]) -> Option<Hash32> {
    let leaves: Vec<Hash32> = entry_hashes.iter().map(leaf_hash).collect();
    root_of_leaves(&leaves)
}

/// The audit path of leaf `index` (RFC 6962 §2.1.1), siblings from the leaf upwards.
pub fn audit_path(entry_hashes: &[Hash32], index: usize) -> Option<Vec<Hash32>> {
    if index >= entry_hashes.len() {
        return None;
    }
    let leaves: Vec<Hash32> = entry_hashes.iter().map(leaf_hash).collect();
    let mut path = Vec::new();
    path_rec(&leaves, index, &mut path)?;
    Some(path)
}

fn path_rec(leaves: &[Hash32], m: usize, out: &mut Vec<Hash32>) -> Option<()> {
    let n = leaves.len();
    if n <= 1 {
        return Some(());
    }
    let k = split(n);
    if m < k {
        path_rec(&leaves[..k], m, out)?;
        out.push(root_of_leaves(&leaves[k..])?);
    } else {
        path_rec(&leaves[k..], m - k, out)?;
        out.push(root_of_leaves(&leaves[..k])?);
    }
    Some(())
}

/// Recomputes the root from one entry hash and its audit path (RFC 9162 §2.1.3.2).
pub fn root_from_path(entry_hash: &Hash32, index: u64, tree_size: u64, path: &[Hash32]) -> Option<Hash32> {
    if index >= tree_size {
        return None;
    }
    let (mut f, mut s) = (index, tree_size - 1);
    let mut r = leaf_hash(entry_hash);
    for p in path {
        if s == 0 {
            return None;
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    (s == 0).then_some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hashes(n: usize) -> Vec<Hash32> {
        (0..n).map(|i| Hash32::of(&(i as u64).to_be_bytes())).collect()
    }

    #[test]
    fn small_trees_match_the_definition() {
        let h = hashes(3);
        let (a, b, c) = (leaf_hash(&h[0]), leaf_hash(&h[1]), leaf_hash(&h[2]));
        assert_eq!(root(&h[..1]), Some(a));
        assert_eq!(root(&h[..2]), Some(node_hash(&a, &b)));
        assert_eq!(root(&h), Some(node_hash(&node_hash(&a, &b), &c)));
        assert_eq!(root(&[]), None);
    }

    #[test]
    fn every_leaf_of_small_trees_proves() {
        for n in 1..40 {
            let h = hashes(n);
            let r = root(&h).unwrap();
            for i in 0..n {
                let path = audit_path(&h, i).unwrap();
                assert_eq!(root_from_path(&h[i], i as u64, n as u64, &path), Some(r), "n={n} i={i}");
                // The same path never proves another position.
                if n > 1 {
                    let j = (i + 1) % n;
                    assert_ne!(
                        root_from_path(&h[i], j as u64, n as u64, &path),
                        Some(r),
                        "n={n} i={i} j={j}"
                    );
                }
            }
        }
    }
}
