//! Signatures once parsed: sequences of parts separated by gaps, in file order.
//!
//! A DROID byte sequence (anchor + left/right fragments, subsequences with offsets) and a container
//! file's expression (`'abc' {4-8} (01|02) *`) both become a [`Sequence`]: parts of fixed length,
//! each with alternatives, separated by gaps with a minimum and an optional maximum.

use crate::pattern::Alt;

/// A gap between two parts, or between a part and the beginning or end of the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Gap {
    pub(crate) min: u64,
    /// `None`: unbounded (`*`), searched as far as the scan window goes.
    pub(crate) max: Option<u64>,
}

impl Gap {
    pub(crate) const ANY: Gap = Gap { min: 0, max: None };

    pub(crate) fn fixed(n: u64) -> Gap {
        Gap { min: n, max: Some(n) }
    }

    pub(crate) fn new(min: u64, max: Option<u64>) -> Gap {
        // DROID's rule: a maximum below the minimum means the minimum.
        Gap {
            min,
            max: max.map(|m| m.max(min)),
        }
    }

    pub(crate) fn contains(&self, n: u64) -> bool {
        n >= self.min && self.max.is_none_or(|m| n <= m)
    }

    /// Width of the window the gap allows, `None` when unbounded.
    pub(crate) fn width(&self) -> Option<u64> {
        self.max.map(|m| m - self.min)
    }

    /// Two gaps in a row (with nothing between them) make one.
    pub(crate) fn join(self, other: Gap) -> Gap {
        Gap {
            min: self.min.saturating_add(other.min),
            max: self.max.zip(other.max).map(|(a, b)| a.saturating_add(b)),
        }
    }
}

/// Fixed-length alternatives at one place of a sequence.
#[derive(Clone, Debug)]
pub(crate) struct Part {
    pub(crate) alts: Vec<Alt>,
}

impl Part {
    pub(crate) fn min_len(&self) -> usize {
        self.alts.iter().map(Alt::len).min().unwrap_or(0)
    }

    pub(crate) fn max_len(&self) -> usize {
        self.alts.iter().map(Alt::len).max().unwrap_or(0)
    }

    pub(crate) fn specificity(&self) -> u32 {
        self.alts.iter().map(Alt::specificity).min().unwrap_or(0)
    }
}

/// What a sequence's offsets are measured from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Anchor {
    Bof,
    Eof,
    /// Anywhere in the file.
    Var,
}

/// Parts in file order. `gaps[0]` lies between the beginning of the file and `parts[0]`, `gaps[i]`
/// between `parts[i-1]` and `parts[i]`, and `gaps[n]` between the last part and the end of the
/// file; the outer gaps are [`Gap::ANY`] where the anchor does not constrain them.
#[derive(Clone, Debug)]
pub(crate) struct Sequence {
    pub(crate) anchor: Anchor,
    pub(crate) parts: Vec<Part>,
    pub(crate) gaps: Vec<Gap>,
}

impl Sequence {
    pub(crate) fn specificity(&self) -> u32 {
        self.parts.iter().map(Part::specificity).sum()
    }
}

/// A DROID internal signature: every sequence must match.
#[derive(Clone, Debug)]
pub(crate) struct Signature {
    pub(crate) id: u32,
    pub(crate) sequences: Vec<Sequence>,
}

impl Signature {
    pub(crate) fn specificity(&self) -> u32 {
        self.sequences.iter().map(Sequence::specificity).sum()
    }
}

/// Builds a [`Sequence`] part by part, merging gaps that follow each other.
pub(crate) struct SequenceBuilder {
    anchor: Anchor,
    parts: Vec<Part>,
    gaps: Vec<Gap>,
    pending: Option<Gap>,
}

impl SequenceBuilder {
    pub(crate) fn new(anchor: Anchor) -> Self {
        SequenceBuilder {
            anchor,
            parts: Vec::new(),
            gaps: Vec::new(),
            pending: None,
        }
    }

    pub(crate) fn gap(&mut self, gap: Gap) {
        self.pending = Some(match self.pending {
            Some(g) => g.join(gap),
            None => gap,
        });
    }

    pub(crate) fn part(&mut self, part: Part) {
        self.gaps.push(self.pending.take().unwrap_or(Gap::fixed(0)));
        self.parts.push(part);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// Finishes the sequence; `None` when it has no part.
    pub(crate) fn build(mut self) -> Option<Sequence> {
        if self.parts.is_empty() {
            return None;
        }
        self.gaps.push(self.pending.take().unwrap_or(Gap::fixed(0)));
        let last = self.gaps.len() - 1;
        match self.anchor {
            Anchor::Bof => self.gaps[last] = Gap::ANY,
            Anchor::Eof => self.gaps[0] = Gap::ANY,
            Anchor::Var => {
                self.gaps[0] = Gap {
                    min: self.gaps[0].min,
                    max: None,
                };
                self.gaps[last] = Gap::ANY;
            }
        }
        Some(Sequence {
            anchor: self.anchor,
            parts: self.parts,
            gaps: self.gaps,
        })
    }
}
