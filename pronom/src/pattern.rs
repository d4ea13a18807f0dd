//! Byte patterns: the tokens a signature is made of, and fixed-length alternatives of them.

use memchr::memmem;

/// A set of byte values, as a 256-bit map.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ByteSet([u64; 4]);

impl ByteSet {
    pub(crate) fn empty() -> Self {
        ByteSet([0; 4])
    }

    pub(crate) fn from_fn(f: impl Fn(u8) -> bool) -> Self {
        let mut set = ByteSet::empty();
        for b in 0..=255u8 {
            if f(b) {
                set.insert(b);
            }
        }
        set
    }

    pub(crate) fn insert(&mut self, b: u8) {
        self.0[usize::from(b >> 6)] |= 1 << (b & 63);
    }

    pub(crate) fn contains(&self, b: u8) -> bool {
        self.0[usize::from(b >> 6)] & (1 << (b & 63)) != 0
    }

    pub(crate) fn union(&mut self, other: &ByteSet) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a |= b;
        }
    }

    pub(crate) fn negate(&mut self) {
        for a in &mut self.0 {
            *a = !*a;
        }
    }

    fn len(&self) -> u32 {
        self.0.iter().map(|w| w.count_ones()).sum()
    }
}

impl std::fmt::Debug for ByteSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ByteSet({} values)", self.len())
    }
}

/// One element of a fixed-length pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Token {
    /// Exactly this byte.
    Byte(u8),
    /// Any byte (`??`).
    Any,
    /// One byte from a set (`[00:1F]`, `[!00]`, `[&01]`, `(22|27)`, `['6'-'7']`).
    Set(Box<ByteSet>),
    /// Several bytes compared as one big-endian number: `[0000:1000]`, negated with `!`.
    Range { lo: Box<[u8]>, hi: Box<[u8]>, negate: bool },
    /// Several bytes that must not be exactly these: `[!0000]`.
    NotSeq(Box<[u8]>),
}

impl Token {
    pub(crate) fn len(&self) -> usize {
        match self {
            Token::Byte(_) | Token::Any | Token::Set(_) => 1,
            Token::Range { lo, .. } => lo.len(),
            Token::NotSeq(bytes) => bytes.len(),
        }
    }

    /// Whether `bytes` (exactly `self.len()` long) matches.
    fn matches(&self, bytes: &[u8]) -> bool {
        match self {
            Token::Byte(b) => bytes[0] == *b,
            Token::Any => true,
            Token::Set(set) => set.contains(bytes[0]),
            Token::Range { lo, hi, negate } => (bytes >= &lo[..] && bytes <= &hi[..]) != *negate,
            Token::NotSeq(not) => bytes != &not[..],
        }
    }

    /// How much this token narrows the match, for ranking signatures: 8 for an exact byte, 0 for any.
    fn specificity(&self) -> u32 {
        match self {
            Token::Byte(_) => 8,
            Token::Any => 0,
            Token::Set(set) => 8 - (32 - set.len().max(1).leading_zeros() - 1).min(8),
            Token::Range { lo, .. } | Token::NotSeq(lo) => lo.len() as u32,
        }
    }
}

/// A fixed-length run of tokens: one alternative of a [`crate::model::Part`].
#[derive(Clone, Debug)]
pub(crate) struct Alt {
    tokens: Vec<Token>,
    len: usize,
    /// All tokens are exact bytes: compare as a slice.
    exact: Option<Box<[u8]>>,
    /// The longest run of exact bytes, with its offset in the alternative, for fast searching.
    literal: Option<Literal>,
}

#[derive(Clone, Debug)]
pub(crate) struct Literal {
    /// Offset of the literal in its alternative.
    pub(crate) offset: usize,
    pub(crate) bytes: Box<[u8]>,
    forward: memmem::Finder<'static>,
    backward: memmem::FinderRev<'static>,
}

impl Alt {
    pub(crate) fn new(tokens: Vec<Token>) -> Self {
        let len = tokens.iter().map(Token::len).sum();
        let exact = tokens
            .iter()
            .map(|t| match t {
                Token::Byte(b) => Some(*b),
                _ => None,
            })
            .collect::<Option<Vec<u8>>>()
            .map(Vec::into_boxed_slice);
        let literal = longest_literal(&tokens).map(|(offset, bytes)| Literal {
            offset,
            forward: memmem::Finder::new(&bytes).into_owned(),
            backward: memmem::FinderRev::new(&bytes).into_owned(),
            bytes: bytes.into_boxed_slice(),
        });
        Alt {
            tokens,
            len,
            exact,
            literal,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn tokens(&self) -> &[Token] {
        &self.tokens
    }

    pub(crate) fn literal(&self) -> Option<&Literal> {
        self.literal.as_ref()
    }

    pub(crate) fn specificity(&self) -> u32 {
        self.tokens.iter().map(Token::specificity).sum()
    }

    /// Whether the alternative matches at the start of `hay` (which may be longer).
    pub(crate) fn matches_at(&self, hay: &[u8]) -> bool {
        if hay.len() < self.len {
            return false;
        }
        if let Some(exact) = &self.exact {
            return hay[..self.len] == exact[..];
        }
        let mut at = 0;
        for token in &self.tokens {
            let n = token.len();
            if !token.matches(&hay[at..at + n]) {
                return false;
            }
            at += n;
        }
        true
    }
}

impl Literal {
    /// Start offsets (in `hay`) of the literal, in increasing order, or decreasing when `reverse`.
    pub(crate) fn find_iter<'h>(&'h self, hay: &'h [u8], reverse: bool) -> LiteralIter<'h> {
        LiteralIter {
            lit: self,
            hay,
            lo: 0,
            hi: hay.len(),
            reverse,
        }
    }
}

/// Occurrences of a literal, found one at a time (no allocation).
pub(crate) struct LiteralIter<'h> {
    lit: &'h Literal,
    hay: &'h [u8],
    /// The part of `hay` still to search.
    lo: usize,
    hi: usize,
    reverse: bool,
}

impl Iterator for LiteralIter<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        if self.lo >= self.hi {
            return None;
        }
        let hay = &self.hay[self.lo..self.hi];
        if self.reverse {
            let at = self.lo + self.lit.backward.rfind(hay)?;
            // The next occurrence may overlap this one: it ends before this one's last byte.
            self.hi = at + self.lit.bytes.len() - 1;
            Some(at)
        } else {
            let at = self.lo + self.lit.forward.find(hay)?;
            self.lo = at + 1;
            Some(at)
        }
    }
}

/// How good a run of exact bytes is for searching: its length, much reduced when it repeats
/// one byte (runs of 00 or FF fill real files and would match everywhere).
pub(crate) fn literal_score(bytes: &[u8]) -> usize {
    if bytes.iter().all(|&b| b == bytes[0]) {
        bytes.len() / 4
    } else {
        bytes.len() * 4
    }
}

/// The best run of exact bytes among `tokens` (see [`literal_score`]), as (byte offset, bytes).
fn longest_literal(tokens: &[Token]) -> Option<(usize, Vec<u8>)> {
    let mut best: Option<(usize, Vec<u8>)> = None;
    let mut run: Vec<u8> = Vec::new();
    let mut run_start = 0;
    let mut at = 0;
    for token in tokens.iter().chain(std::iter::once(&Token::Any)) {
        if let Token::Byte(b) = token {
            if run.is_empty() {
                run_start = at;
            }
            run.push(*b);
        } else if !run.is_empty() {
            if best
                .as_ref()
                .is_none_or(|(_, bytes)| literal_score(&run) > literal_score(bytes))
            {
                best = Some((run_start, std::mem::take(&mut run)));
            }
            run.clear();
        }
        at += token.len();
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_and_mixed_alternatives() {
        let alt = Alt::new(vec![Token::Byte(1), Token::Any, Token::Byte(3), Token::Byte(4)]);
        assert_eq!(alt.len(), 4);
        assert!(alt.matches_at(&[1, 9, 3, 4, 5]));
        assert!(!alt.matches_at(&[1, 9, 3]));
        let lit = alt.literal().unwrap();
        assert_eq!((lit.offset, &lit.bytes[..]), (2, &[3u8, 4][..]));
    }

    #[test]
    fn multi_byte_range_is_big_endian() {
        let t = Token::Range {
            lo: vec![0, 0].into(),
            hi: vec![0x10, 0].into(),
            negate: false,
        };
        assert!(t.matches(&[0x0f, 0xff]));
        assert!(!t.matches(&[0x10, 0x01]));
        assert!(Token::NotSeq(vec![0, 0].into()).matches(&[0, 1]));
    }
}
