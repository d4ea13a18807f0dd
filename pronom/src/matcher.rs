//! A set of signatures compiled for matching many files.
//!
//! Each sequence gets a plan. Sequences anchored at the beginning or end of the file within a
//! bounded offset are matched from their anchor, after a one-byte quick check where a byte's
//! position is fixed. Sequences that may start anywhere are found through one Aho-Corasick pass
//! over the view for their longest literal, each hit then verified around it. Sequences with no
//! usable literal are scanned. Every search runs within a [`Budget`].

use std::ops::ControlFlow;

use crate::keys::{Keys, KeysBuilder};

use crate::model::{Anchor, Sequence, Signature};
use crate::pattern::{literal_score, Token};
use crate::search::{self, Budget, Span};
use crate::view::View;

/// Work allowed per sequence and per file (see [`Budget`]).
const SEQUENCE_BUDGET: u64 = 1 << 20;
const FILE_BUDGET: u64 = 1 << 25;
/// Shorter literals would make the Aho-Corasick pass report too many hits.
const MIN_KEY_LEN: usize = 3;
/// Sequences anchored within this many bytes of their anchor are checked in place; wider ones
/// (with a key) are found through the Aho-Corasick pass.
const NARROW: u64 = 16;

#[derive(Clone, Copy, Debug)]
enum Plan {
    /// Matched from the anchor; `quick` is a byte that must sit at a fixed position.
    Anchored { quick: Option<(Quick, u8)> },
    /// Found through the Aho-Corasick pass; `bounded` when anchored within a bounded (if wide)
    /// window, so that it may also be searched in place once the signature's other sequences
    /// matched.
    Keyed { bounded: bool },
    /// Scanned from the anchor or across the view.
    Scan,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Quick {
    FromBof(u64),
    FromEof(u64),
}

impl Quick {
    fn position(self, file_len: u64) -> Option<u64> {
        match self {
            Quick::FromBof(p) => Some(p),
            Quick::FromEof(d) => file_len.checked_sub(d),
        }
    }
}

pub(crate) struct Matcher {
    sigs: Vec<Signature>,
    /// One plan per sequence, all signatures' sequences laid end to end.
    plans: Vec<Plan>,
    /// Index in `plans` of each signature's first sequence.
    base: Vec<usize>,
    keys: Keys,
    /// Signatures whose first sequence needs a given byte at a fixed position, indexed by that
    /// position and byte: only those whose byte is there are considered for a file.
    gates: Vec<Gate>,
    /// Whether each signature is behind a gate.
    gated: Vec<bool>,
}

struct Gate {
    at: Quick,
    by_byte: Vec<Vec<u32>>,
}

/// A signature that matched, with where each of its sequences did.
#[derive(Clone, Debug)]
pub(crate) struct SigMatch {
    pub(crate) index: usize,
    pub(crate) spans: Vec<Span>,
}

/// What one run over a view found.
#[derive(Default, Debug)]
pub(crate) struct Outcome {
    pub(crate) matches: Vec<SigMatch>,
    /// Signatures whose search was cut short by the work budget.
    pub(crate) exhausted: Vec<u32>,
}

impl Matcher {
    /// Compiles `sigs`; fails only when the key automata cannot be built (a signature set far
    /// beyond PRONOM's size).
    pub(crate) fn new(sigs: Vec<Signature>) -> Result<Self, String> {
        let mut keys = KeysBuilder::default();
        let mut plans = Vec::new();
        let mut base = Vec::with_capacity(sigs.len());
        for (si, sig) in sigs.iter().enumerate() {
            base.push(plans.len());
            for (qi, seq) in sig.sequences.iter().enumerate() {
                let plan = plan_for(seq);
                if let Plan::Keyed { .. } = plan {
                    let (part, alt, lit) = key_of(seq).expect("keyed plans have a key");
                    keys.add(si, qi, seq, part, alt, lit.offset, &lit.bytes);
                }
                plans.push(plan);
            }
        }
        let mut gates: Vec<Gate> = Vec::new();
        let mut gated = vec![false; sigs.len()];
        for (si, &first) in base.iter().enumerate() {
            if let Plan::Anchored {
                quick: Some((at, byte)),
            } = plans[first]
            {
                let gi = match gates.iter().position(|g| g.at == at) {
                    Some(gi) => gi,
                    None => {
                        gates.push(Gate {
                            at,
                            by_byte: vec![Vec::new(); 256],
                        });
                        gates.len() - 1
                    }
                };
                gates[gi].by_byte[usize::from(byte)].push(si as u32);
                gated[si] = true;
            }
        }
        Ok(Matcher {
            sigs,
            plans,
            base,
            keys: keys.build()?,
            gates,
            gated,
        })
    }

    pub(crate) fn signatures(&self) -> &[Signature] {
        &self.sigs
    }

    /// Every signature that matches the view.
    pub(crate) fn run(&self, view: &View<'_>) -> Outcome {
        self.run_staged(view, &mut |_| false)
    }

    /// Like [`Matcher::run`], in two stages: the signatures checked in place first. `early` sees
    /// the signatures complete after that stage (indices); when it returns `true`, matching stops
    /// there and the outcome holds only those. This spares the Aho-Corasick pass when an early
    /// match settles the answer (a container that identifies the file).
    pub(crate) fn run_staged(&self, view: &View<'_>, early: &mut dyn FnMut(&[usize]) -> bool) -> Outcome {
        SCRATCH.with(|cell| {
            let mut run = cell.take();
            run.reset(self.sigs.len(), self.plans.len());
            let out = self.run_with(view, &mut run, early);
            cell.set(run);
            out
        })
    }

    fn run_with(&self, view: &View<'_>, run: &mut Run, early: &mut dyn FnMut(&[usize]) -> bool) -> Outcome {
        for (alive, &gated) in run.alive.iter_mut().zip(&self.gated) {
            *alive = !gated;
        }
        for gate in &self.gates {
            if let Some(&[byte]) = gate.at.position(view.len()).and_then(|p| view.slice(p, 1)) {
                for &si in &gate.by_byte[usize::from(byte)] {
                    run.alive[si as usize] = true;
                }
            }
        }
        let mut need_keys = false;
        let mut complete = Vec::new();
        for (si, sig) in self.sigs.iter().enumerate() {
            if !run.alive[si] {
                continue;
            }
            let (mut pending, mut unbounded, mut anchored) = (false, false, false);
            for (qi, seq) in sig.sequences.iter().enumerate() {
                let at = self.base[si] + qi;
                match self.plans[at] {
                    Plan::Anchored { quick } => {
                        anchored = true;
                        let quick_ok = quick.is_none_or(|(q, byte)| {
                            q.position(view.len()).and_then(|p| view.slice(p, 1)) == Some(&[byte][..])
                        });
                        if !(quick_ok && run.attempt(at, sig.id, |b| search::from_anchor(seq, view, b))) {
                            run.alive[si] = false;
                            break;
                        }
                    }
                    Plan::Keyed { bounded } => {
                        pending = true;
                        unbounded |= !bounded;
                    }
                    Plan::Scan => {
                        pending = true;
                        unbounded = true;
                    }
                }
            }
            if !run.alive[si] {
                continue;
            }
            // A signature confirmed by an in-place check (rare for a given file) finishes its
            // bounded searches in place too, rather than wait for the Aho-Corasick pass.
            let confirmed = anchored && pending && !unbounded;
            if confirmed && !self.finish_in_place(si, view, run) {
                run.alive[si] = false;
                continue;
            }
            if !pending || confirmed {
                complete.push(si);
            } else {
                need_keys = true;
            }
        }
        if early(&complete) {
            let mut out = Outcome::default();
            for si in complete {
                let seqs = self.base[si]..self.base[si] + self.sigs[si].sequences.len();
                let spans = run.spans[seqs].iter().map(|s| s.expect("all matched")).collect();
                out.matches.push(SigMatch { index: si, spans });
            }
            return out;
        }
        if need_keys {
            self.keyed(view, run);
        }
        let mut out = Outcome::default();
        for (si, sig) in self.sigs.iter().enumerate() {
            if !run.alive[si] {
                continue;
            }
            let seqs = self.base[si]..self.base[si] + sig.sequences.len();
            for (at, seq) in seqs.clone().zip(&sig.sequences) {
                let found = run.spans[at].is_some()
                    || (matches!(self.plans[at], Plan::Scan)
                        && run.attempt(at, sig.id, |b| search::from_anchor(seq, view, b)));
                if !found {
                    run.alive[si] = false;
                    break;
                }
            }
            if run.alive[si] {
                let spans = run.spans[seqs].iter().map(|s| s.expect("all matched")).collect();
                out.matches.push(SigMatch { index: si, spans });
            }
        }
        out.exhausted = std::mem::take(&mut run.exhausted);
        out.exhausted.sort_unstable();
        out.exhausted.dedup();
        out
    }

    /// Searches in place the sequences of signature `si` not matched yet; whether all match.
    fn finish_in_place(&self, si: usize, view: &View<'_>, run: &mut Run) -> bool {
        let sig = &self.sigs[si];
        for (qi, seq) in sig.sequences.iter().enumerate() {
            let at = self.base[si] + qi;
            if run.spans[at].is_none() && !run.attempt(at, sig.id, |b| search::from_anchor(seq, view, b)) {
                return false;
            }
        }
        true
    }

    /// The Aho-Corasick pass: verifies each hit of a key for sequences not matched yet.
    fn keyed(&self, view: &View<'_>, run: &mut Run) {
        // One unit per verification started from a hit, so that a file full of one literal
        // cannot make the pass quadratic.
        let mut file_budget = Budget::new(FILE_BUDGET);
        self.keys.hits(view, |o, start| {
            let si = o.sig as usize;
            let at = self.base[si] + o.seq as usize;
            if !run.alive[si] || run.spans[at].is_some() {
                return ControlFlow::Continue(());
            }
            if !file_budget.spend(1) {
                run.exhausted.push(self.sigs[si].id);
                return ControlFlow::Break(());
            }
            let seq = &self.sigs[si].sequences[o.seq as usize];
            let (part, alt) = (o.part as usize, o.alt as usize);
            run.attempt(at, self.sigs[si].id, |b| search::pinned(seq, view, part, alt, start, b));
            ControlFlow::Continue(())
        });
    }
}

thread_local! {
    /// Run state reused from file to file on each thread: no allocation per file.
    static SCRATCH: std::cell::Cell<Run> = std::cell::Cell::new(Run::default());
}

/// The state of one run: which signatures may still match, and where their sequences did.
#[derive(Default)]
struct Run {
    alive: Vec<bool>,
    spans: Vec<Option<Span>>,
    exhausted: Vec<u32>,
}

impl Run {
    fn reset(&mut self, sigs: usize, seqs: usize) {
        self.alive.clear();
        self.alive.resize(sigs, true);
        self.spans.clear();
        self.spans.resize(seqs, None);
        self.exhausted.clear();
    }

    /// Runs one search within a fresh sequence budget; records its span; tells whether it matched.
    fn attempt(&mut self, at: usize, id: u32, f: impl FnOnce(&mut Budget) -> Option<Span>) -> bool {
        let mut b = Budget::new(SEQUENCE_BUDGET);
        let found = f(&mut b);
        if b.exhausted {
            self.exhausted.push(id);
        }
        self.spans[at] = found;
        found.is_some()
    }
}

fn plan_for(seq: &Sequence) -> Plan {
    let n = seq.parts.len();
    let width = match seq.anchor {
        Anchor::Bof => seq.gaps[0].width(),
        Anchor::Eof => seq.gaps[n].width(),
        Anchor::Var => None,
    };
    // A key must be long enough and not one byte repeated, or it would match everywhere.
    let keyed = key_of(seq).is_some_and(|(_, _, lit)| literal_score(&lit.bytes) >= 4 * MIN_KEY_LEN);
    match width {
        // Anchored within a few bytes: cheaper to check in place than to search.
        Some(w) if w <= NARROW || !keyed => Plan::Anchored {
            quick: quick_check(seq),
        },
        Some(_) => Plan::Keyed { bounded: true },
        None if keyed => Plan::Keyed { bounded: false },
        _ => Plan::Scan,
    }
}

/// A byte at a fixed distance from the anchor: the first exact byte of the first part (BOF) or
/// the last exact byte of the last part (EOF), when the outer gap is fixed and the part has one
/// alternative.
fn quick_check(seq: &Sequence) -> Option<(Quick, u8)> {
    let n = seq.parts.len();
    match seq.anchor {
        Anchor::Bof => {
            let g = seq.gaps[0];
            if g.width() != Some(0) || seq.parts[0].alts.len() != 1 {
                return None;
            }
            let mut at = g.min;
            for t in seq.parts[0].alts[0].tokens() {
                if let Token::Byte(b) = t {
                    return Some((Quick::FromBof(at), *b));
                }
                at = at.saturating_add(t.len() as u64);
            }
            None
        }
        Anchor::Eof => {
            let g = seq.gaps[n];
            if g.width() != Some(0) || seq.parts[n - 1].alts.len() != 1 {
                return None;
            }
            let mut dist = g.min;
            for t in seq.parts[n - 1].alts[0].tokens().iter().rev() {
                dist = dist.saturating_add(t.len() as u64);
                if let Token::Byte(b) = t {
                    return Some((Quick::FromEof(dist), *b));
                }
            }
            None
        }
        Anchor::Var => None,
    }
}

/// The longest literal among the single-alternative parts of a sequence.
fn key_of(seq: &Sequence) -> Option<(usize, usize, &crate::pattern::Literal)> {
    let mut best: Option<(usize, usize, &crate::pattern::Literal)> = None;
    for (pi, part) in seq.parts.iter().enumerate() {
        if part.alts.len() != 1 {
            continue;
        }
        if let Some(lit) = part.alts[0].literal() {
            if best.is_none_or(|(_, _, b)| literal_score(&lit.bytes) > literal_score(&b.bytes)) {
                best = Some((pi, 0, lit));
            }
        }
    }
    best
}
