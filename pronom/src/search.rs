//! Matching one sequence against a view: place each part within its gap from the previous one,
//! backtracking over the candidate positions, within a work budget.

use crate::model::{Anchor, Part, Sequence};
use crate::view::View;

/// Work allowed for one sequence: one unit per candidate position verified, one per 64 bytes
/// searched. Matching is deterministic: the same input spends the same budget.
pub(crate) struct Budget {
    left: u64,
    pub(crate) exhausted: bool,
}

impl Budget {
    pub(crate) fn new(units: u64) -> Self {
        Budget {
            left: units,
            exhausted: false,
        }
    }

    pub(crate) fn spend(&mut self, units: u64) -> bool {
        if self.left < units {
            self.left = 0;
            self.exhausted = true;
            false
        } else {
            self.left -= units;
            true
        }
    }
}

/// Where a sequence matched: from the start of its first part to the end of its last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) start: u64,
    pub(crate) end: u64,
}

/// Candidate positions for a part: a range of start offsets, or of end offsets (which gives each
/// alternative, by its length, its own range of starts).
#[derive(Clone, Copy)]
enum Range {
    Starts(u64, u64),
    Ends(u64, u64),
}

type Found<'f> = &'f mut dyn FnMut(u64, usize, &mut Budget) -> Option<u64>;

/// Calls `f(start, len)` for each position in `range` where an alternative of `part` matches,
/// ascending (or descending), until `f` returns a value.
fn each_match(
    view: &View<'_>,
    part: &Part,
    range: Range,
    descending: bool,
    b: &mut Budget,
    f: Found<'_>,
) -> Option<u64> {
    for alt in &part.alts {
        let len = alt.len() as u64;
        let (lo, hi) = match range {
            Range::Starts(lo, hi) => (lo, hi),
            Range::Ends(lo, hi) => match hi.checked_sub(len) {
                Some(hi) => (lo.saturating_sub(len), hi),
                None => continue,
            },
        };
        let segs = view.segments();
        for i in 0..segs.len() {
            let seg = if descending { segs[segs.len() - 1 - i] } else { segs[i] };
            // Starts that keep the whole alternative inside this window.
            let Some(last_start) = seg.end().checked_sub(len) else {
                continue;
            };
            let (lo, hi) = (lo.max(seg.start), hi.min(last_start));
            if lo > hi {
                continue;
            }
            let (from, to) = ((lo - seg.start) as usize, (hi - seg.start) as usize);
            match alt.literal().filter(|_| to - from >= 16) {
                Some(lit) => {
                    let window = &seg.data[from + lit.offset..to + lit.offset + lit.bytes.len()];
                    if !b.spend(1 + window.len() as u64 / 64) {
                        return None;
                    }
                    for q in lit.find_iter(window, descending) {
                        let at = from + q;
                        if !b.spend(1) {
                            return None;
                        }
                        if alt.matches_at(&seg.data[at..]) {
                            if let Some(r) = f(seg.start + at as u64, alt.len(), b) {
                                return Some(r);
                            }
                        }
                    }
                }
                None => {
                    let mut step = |at: usize, b: &mut Budget| -> Option<Option<u64>> {
                        if !b.spend(1) {
                            return Some(None);
                        }
                        if alt.matches_at(&seg.data[at..]) {
                            if let Some(r) = f(seg.start + at as u64, alt.len(), b) {
                                return Some(Some(r));
                            }
                        }
                        None
                    };
                    if descending {
                        for at in (from..=to).rev() {
                            if let Some(r) = step(at, b) {
                                return r;
                            }
                        }
                    } else {
                        for at in from..=to {
                            if let Some(r) = step(at, b) {
                                return r;
                            }
                        }
                    }
                }
            }
        }
    }
    None
}

/// Places parts `i..` after `prev_end`; returns the end of the last part.
fn right(seq: &Sequence, view: &View<'_>, i: usize, prev_end: u64, b: &mut Budget) -> Option<u64> {
    if i == seq.parts.len() {
        return seq.gaps[i].contains(view.len() - prev_end).then_some(prev_end);
    }
    let gap = seq.gaps[i];
    let lo = prev_end.checked_add(gap.min)?;
    let hi = gap.max.map_or(u64::MAX, |m| prev_end.saturating_add(m));
    each_match(
        view,
        &seq.parts[i],
        Range::Starts(lo, hi),
        false,
        b,
        &mut |p, len, b| right(seq, view, i + 1, p + len as u64, b),
    )
}

/// Places parts `..i` before `next_start`; returns the start of the first part.
fn left(seq: &Sequence, view: &View<'_>, i: usize, next_start: u64, b: &mut Budget) -> Option<u64> {
    if i == 0 {
        return seq.gaps[0].contains(next_start).then_some(next_start);
    }
    let gap = seq.gaps[i];
    let hi = next_start.checked_sub(gap.min)?;
    let lo = gap.max.map_or(0, |m| next_start.saturating_sub(m));
    each_match(view, &seq.parts[i - 1], Range::Ends(lo, hi), true, b, &mut |p, _, b| {
        left(seq, view, i - 1, p, b)
    })
}

/// Matches a sequence from its anchor: forward from the beginning of the file, backward from its
/// end, or (variable sequences) from each candidate position of its first part.
pub(crate) fn from_anchor(seq: &Sequence, view: &View<'_>, b: &mut Budget) -> Option<Span> {
    let n = seq.parts.len();
    let mut span = None;
    match seq.anchor {
        Anchor::Bof | Anchor::Var => {
            let g = seq.gaps[0];
            let range = Range::Starts(g.min, g.max.unwrap_or(u64::MAX));
            each_match(view, &seq.parts[0], range, false, b, &mut |p, len, b| {
                let end = right(seq, view, 1, p + len as u64, b)?;
                span = Some(Span { start: p, end });
                Some(end)
            });
        }
        Anchor::Eof => {
            let g = seq.gaps[n];
            let hi = view.len().checked_sub(g.min)?;
            let lo = g.max.map_or(0, |m| view.len().saturating_sub(m));
            each_match(
                view,
                &seq.parts[n - 1],
                Range::Ends(lo, hi),
                true,
                b,
                &mut |p, len, b| {
                    let start = left(seq, view, n - 1, p, b)?;
                    span = Some(Span {
                        start,
                        end: p + len as u64,
                    });
                    Some(start)
                },
            );
        }
    }
    span
}

/// Matches a sequence whose part `part` (alternative `alt`) is known to start at `start`.
pub(crate) fn pinned(
    seq: &Sequence,
    view: &View<'_>,
    part: usize,
    alt: usize,
    start: u64,
    b: &mut Budget,
) -> Option<Span> {
    let a = &seq.parts[part].alts[alt];
    if !view.slice(start, a.len()).is_some_and(|s| a.matches_at(s)) {
        return None;
    }
    let end = right(seq, view, part + 1, start + a.len() as u64, b)?;
    let first = left(seq, view, part, start, b)?;
    Some(Span { start: first, end })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr;
    use crate::model::SequenceBuilder;

    fn seq(anchor: Anchor, text: &str, outer: (u64, Option<u64>)) -> Sequence {
        let mut b = SequenceBuilder::new(anchor);
        if anchor != Anchor::Eof {
            b.gap(crate::model::Gap::new(outer.0, outer.1));
        }
        expr::append(&mut b, expr::parse(text).unwrap());
        if anchor == Anchor::Eof {
            b.gap(crate::model::Gap::new(outer.0, outer.1));
        }
        b.build().unwrap()
    }

    fn run(s: &Sequence, data: &[u8]) -> Option<Span> {
        from_anchor(s, &View::whole(data), &mut Budget::new(1_000_000))
    }

    #[test]
    fn bof_with_gaps_backtracks() {
        let s = seq(Anchor::Bof, "'AB' {0-4} 'C' {2} 'D'", (0, Some(0)));
        // The first C (offset 3) does not have a D two bytes later; the second (offset 5) does.
        assert_eq!(run(&s, b"ABxCxCxxD"), Some(Span { start: 0, end: 9 }));
        assert_eq!(run(&s, b"ABxCxCxD"), None);
        assert_eq!(run(&s, b"xABC..D"), None);
    }

    #[test]
    fn eof_offsets_and_wildcards() {
        let s = seq(Anchor::Eof, "'%%EOF'", (0, Some(4)));
        assert!(run(&s, b"...%%EOF\r\n").is_some());
        assert!(run(&s, b"...%%EOF......").is_none());
        let s = seq(Anchor::Eof, "'A' * 'Z'", (0, Some(0)));
        assert_eq!(run(&s, b"..A....Z"), Some(Span { start: 2, end: 8 }));
    }

    #[test]
    fn variable_sequences_and_pinning() {
        let s = seq(Anchor::Var, "'key' {1-3} (01|0203)", (0, None));
        let data = b"....key.\x02\x03...";
        assert_eq!(run(&s, data), Some(Span { start: 4, end: 10 }));
        let v = View::whole(data);
        assert_eq!(
            pinned(&s, &v, 0, 0, 4, &mut Budget::new(100)),
            Some(Span { start: 4, end: 10 })
        );
        assert_eq!(pinned(&s, &v, 0, 0, 5, &mut Budget::new(100)), None);
    }

    #[test]
    fn windows_and_budget() {
        let s = seq(Anchor::Bof, "'AB' * 'YZ'", (0, Some(0)));
        let v = View::windows(1000, b"AB..", b"..YZ");
        assert_eq!(
            from_anchor(&s, &v, &mut Budget::new(1000)),
            Some(Span { start: 0, end: 1000 })
        );
        let mut b = Budget::new(1);
        assert_eq!(from_anchor(&s, &v, &mut b), None);
        assert!(b.exhausted);
    }
}
