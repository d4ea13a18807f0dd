//! The Aho-Corasick pass: the literal keys of the sequences that are searched rather than
//! checked in place, found in one pass per region of the file.
//!
//! Keys are split by where they may occur: within a bounded distance of the beginning, within
//! a bounded distance of the end, or anywhere. Each group gets its own automaton and scans only
//! its region, so that a key that must lie in the first 1,024 bytes is not looked for in a
//! megabyte of window.

use std::collections::HashMap;
use std::ops::ControlFlow;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

use crate::model::{Anchor, Sequence};
use crate::view::View;

/// A key's owner: which sequence, part and alternative, the key's offset in it, and where the
/// part may lie.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Owner {
    pub(crate) sig: u32,
    pub(crate) seq: u16,
    pub(crate) part: u16,
    pub(crate) alt: u16,
    offset: u32,
    len: u32,
    bound: Bound,
}

/// Where a part may lie: its start's offset from the beginning of the file, or its end's
/// distance from the end, between `lo` and `hi` (`None`: unbounded).
#[derive(Clone, Copy, Debug)]
struct Bound {
    from_eof: bool,
    lo: u64,
    hi: Option<u64>,
}

impl Bound {
    fn of(seq: &Sequence, part: usize) -> Bound {
        let add = |a: Option<u64>, b: Option<u64>| a.zip(b).map(|(a, b)| a.saturating_add(b));
        let (mut lo, mut hi) = (0u64, Some(0u64));
        if seq.anchor == Anchor::Eof {
            for j in part + 1..=seq.parts.len() {
                lo = lo.saturating_add(seq.gaps[j].min);
                hi = add(hi, seq.gaps[j].max);
                if j < seq.parts.len() {
                    lo = lo.saturating_add(seq.parts[j].min_len() as u64);
                    hi = add(hi, Some(seq.parts[j].max_len() as u64));
                }
            }
            return Bound { from_eof: true, lo, hi };
        }
        for j in 0..=part {
            lo = lo.saturating_add(seq.gaps[j].min);
            hi = add(hi, seq.gaps[j].max);
            if j < part {
                lo = lo.saturating_add(seq.parts[j].min_len() as u64);
                hi = add(hi, Some(seq.parts[j].max_len() as u64));
            }
        }
        Bound {
            from_eof: false,
            lo,
            hi,
        }
    }

    /// Whether a part starting at `start`, `len` bytes long, may lie there.
    fn allows(&self, start: u64, len: u64, file_len: u64) -> bool {
        let at = if self.from_eof {
            match file_len.checked_sub(start.saturating_add(len)) {
                Some(d) => d,
                None => return false,
            }
        } else {
            start
        };
        at >= self.lo && self.hi.is_none_or(|h| at <= h)
    }
}

/// The part of a file a group of keys is searched in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Region {
    /// The first n bytes.
    Head(u64),
    /// The last n bytes.
    Tail(u64),
    All,
}

struct KeySet {
    ac: AhoCorasick,
    owners: Vec<Vec<Owner>>,
    region: Region,
}

/// All keys, grouped by region.
pub(crate) struct Keys {
    sets: Vec<KeySet>,
}

/// Collects keys before building the automata.
#[derive(Default)]
pub(crate) struct KeysBuilder {
    groups: [Group; 3],
}

#[derive(Default)]
struct Group {
    patterns: Vec<Vec<u8>>,
    index: HashMap<Vec<u8>, usize>,
    owners: Vec<Vec<Owner>>,
    reach: u64,
}

impl KeysBuilder {
    /// Adds the key of sequence `seq` (signature `sig`, sequence number `qi`): `lit` at `offset`
    /// in alternative `alt` of part `part`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn add(
        &mut self,
        sig: usize,
        qi: usize,
        seq: &Sequence,
        part: usize,
        alt: usize,
        offset: usize,
        lit: &[u8],
    ) {
        let len = seq.parts[part].alts[alt].len();
        let bound = Bound::of(seq, part);
        let (g, reach) = match (bound.from_eof, bound.hi) {
            (false, Some(hi)) => (0, hi.saturating_add(len as u64)),
            (true, Some(hi)) => (1, hi.saturating_add(len as u64)),
            (_, None) => (2, 0),
        };
        let group = &mut self.groups[g];
        group.reach = group.reach.max(reach);
        let id = *group.index.entry(lit.to_vec()).or_insert_with(|| {
            group.patterns.push(lit.to_vec());
            group.owners.push(Vec::new());
            group.patterns.len() - 1
        });
        group.owners[id].push(Owner {
            sig: sig as u32,
            seq: qi as u16,
            part: part as u16,
            alt: alt as u16,
            offset: offset as u32,
            len: len as u32,
            bound,
        });
    }

    pub(crate) fn build(self) -> Result<Keys, String> {
        let mut sets = Vec::new();
        for (g, group) in self.groups.into_iter().enumerate() {
            if group.patterns.is_empty() {
                continue;
            }
            let region = match g {
                0 => Region::Head(group.reach),
                1 => Region::Tail(group.reach),
                _ => Region::All,
            };
            // A DFA is fastest; a set too large for one gets whatever the crate can build.
            let mut builder = AhoCorasick::builder();
            builder.match_kind(MatchKind::Standard);
            let ac = builder
                .clone()
                .kind(Some(AhoCorasickKind::DFA))
                .build(&group.patterns)
                .or_else(|_| builder.build(&group.patterns))
                .map_err(|e| format!("cannot compile {} signature keys: {e}", group.patterns.len()))?;
            sets.push(KeySet {
                ac,
                owners: group.owners,
                region,
            });
        }
        Ok(Keys { sets })
    }
}

impl Keys {
    /// Calls `f(owner, start of its part)` for every key occurrence whose part may lie where it
    /// was found, until `f` breaks.
    pub(crate) fn hits(&self, view: &View<'_>, mut f: impl FnMut(&Owner, u64) -> ControlFlow<()>) {
        for set in &self.sets {
            let (lo, hi) = match set.region {
                Region::Head(n) => (0, n),
                Region::Tail(n) => (view.len().saturating_sub(n), view.len()),
                Region::All => (0, view.len()),
            };
            for seg in view.segments() {
                let (from, to) = (lo.max(seg.start), hi.min(seg.end()));
                if from >= to {
                    continue;
                }
                let hay = &seg.data[(from - seg.start) as usize..(to - seg.start) as usize];
                for m in set.ac.find_overlapping_iter(hay) {
                    let key_at = from + m.start() as u64;
                    for o in &set.owners[m.pattern().as_usize()] {
                        let Some(start) = key_at.checked_sub(u64::from(o.offset)) else {
                            continue;
                        };
                        if o.bound.allows(start, u64::from(o.len), view.len()) && f(o, start).is_break() {
                            return;
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr;
    use crate::model::{Gap, SequenceBuilder};

    fn seq(anchor: Anchor, text: &str, outer: Gap) -> Sequence {
        let mut b = SequenceBuilder::new(anchor);
        if anchor != Anchor::Eof {
            b.gap(outer);
        }
        expr::append(&mut b, expr::parse(text).unwrap());
        if anchor == Anchor::Eof {
            b.gap(outer);
        }
        b.build().unwrap()
    }

    #[test]
    fn bounds_follow_the_gaps() {
        let s = seq(Anchor::Bof, "'AB' {2-4} 'CDE'", Gap::new(10, Some(20)));
        let b = Bound::of(&s, 1);
        assert_eq!((b.from_eof, b.lo, b.hi), (false, 14, Some(26)));
        assert!(b.allows(14, 3, 100) && b.allows(26, 3, 100) && !b.allows(27, 3, 100));
        let s = seq(Anchor::Eof, "'AB' {2-4} 'CDE'", Gap::new(0, Some(8)));
        let b = Bound::of(&s, 0);
        assert_eq!((b.from_eof, b.lo, b.hi), (true, 5, Some(15)));
        assert!(b.allows(100 - 2 - 5, 2, 100) && !b.allows(99, 2, 100));
        let s = seq(Anchor::Bof, "'AB' * 'CDE'", Gap::fixed(0));
        assert_eq!(Bound::of(&s, 1).hi, None);
    }

    #[test]
    fn keys_are_found_in_their_region_only() {
        let s = seq(Anchor::Bof, "'KEY'", Gap::new(0, Some(8)));
        let mut k = KeysBuilder::default();
        k.add(0, 0, &s, 0, 0, 0, b"KEY");
        let keys = k.build().unwrap();
        let mut found = Vec::new();
        let data = b"..KEY.........KEY";
        keys.hits(&View::whole(data), |_, start| {
            found.push(start);
            ControlFlow::Continue(())
        });
        assert_eq!(found, vec![2]);
    }
}
