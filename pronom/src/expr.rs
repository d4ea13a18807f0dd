//! The PRONOM byte-sequence expression syntax, as found in signature files.
//!
//! `4D5A`, `'text'`, `??` (any byte), `[00:1F]` and `['6'-'7']` (ranges), `[!00]` (not), `[&01]`
//! (all mask bits set), `[~01]` (any mask bit set), `(22|27|'ab')` (alternatives), `{4}`, `{4-8}`,
//! `{4-*}` and `*` (gaps). Hex digits may be lower or upper case; spaces are ignored outside quotes.

use crate::model::{Gap, Part, SequenceBuilder};
use crate::pattern::{Alt, ByteSet, Token};

/// What went wrong parsing an expression: where, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExprError {
    pub(crate) expr: String,
    pub(crate) at: usize,
    pub(crate) message: String,
}

impl std::fmt::Display for ExprError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "byte sequence `{}`, at character {}: {}",
            self.expr,
            self.at + 1,
            self.message
        )
    }
}

/// One element of an expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Elem {
    Token(Token),
    Alts(Vec<Vec<Token>>),
    Gap(Gap),
}

/// Parses a whole expression.
pub(crate) fn parse(expr: &str) -> Result<Vec<Elem>, ExprError> {
    let mut p = Parser {
        s: expr.as_bytes(),
        i: 0,
        expr,
    };
    let mut out = Vec::new();
    loop {
        p.skip_ws();
        let Some(c) = p.peek() else { break };
        match c {
            b'{' => out.push(Elem::Gap(p.gap()?)),
            b'*' => {
                p.i += 1;
                out.push(Elem::Gap(Gap::ANY));
            }
            b'(' => out.push(p.alternatives()?),
            _ => p.tokens_into(&mut out)?,
        }
    }
    Ok(out)
}

/// Appends the parts and gaps of `elems` to `builder`.
pub(crate) fn append(builder: &mut SequenceBuilder, elems: Vec<Elem>) {
    let mut run: Vec<Token> = Vec::new();
    let flush = |builder: &mut SequenceBuilder, run: &mut Vec<Token>| {
        if !run.is_empty() {
            builder.part(Part {
                alts: vec![Alt::new(std::mem::take(run))],
            });
        }
    };
    for elem in elems {
        match elem {
            Elem::Token(t) => run.push(t),
            Elem::Alts(alts) => match single_byte_set(&alts) {
                Some(set) => run.push(Token::Set(Box::new(set))),
                None => {
                    flush(builder, &mut run);
                    builder.part(Part {
                        alts: alts.into_iter().map(Alt::new).collect(),
                    });
                }
            },
            Elem::Gap(g) => {
                flush(builder, &mut run);
                builder.gap(g);
            }
        }
    }
    flush(builder, &mut run);
}

/// Parses an expression that must be one fixed-length run of tokens (a DROID fragment).
pub(crate) fn parse_fixed(expr: &str) -> Result<Vec<Token>, ExprError> {
    let mut tokens = Vec::new();
    for elem in parse(expr)? {
        match elem {
            Elem::Token(t) => tokens.push(t),
            Elem::Alts(alts) => match single_byte_set(&alts) {
                Some(set) => tokens.push(Token::Set(Box::new(set))),
                None => {
                    return Err(ExprError {
                        expr: expr.to_owned(),
                        at: 0,
                        message: "alternatives of different lengths are not allowed in a fragment".into(),
                    })
                }
            },
            Elem::Gap(_) => {
                return Err(ExprError {
                    expr: expr.to_owned(),
                    at: 0,
                    message: "a gap is not allowed in a fragment".into(),
                })
            }
        }
    }
    if tokens.is_empty() {
        return Err(ExprError {
            expr: expr.to_owned(),
            at: 0,
            message: "the fragment is empty".into(),
        });
    }
    Ok(tokens)
}

/// `(01|02|[10:1F])` as one byte set, when every alternative is one byte.
pub(crate) fn single_byte_set(alts: &[Vec<Token>]) -> Option<ByteSet> {
    let mut set = ByteSet::empty();
    for alt in alts {
        match alt.as_slice() {
            [Token::Byte(b)] => set.insert(*b),
            [Token::Any] => return Some(ByteSet::from_fn(|_| true)),
            [Token::Set(s)] => set.union(s),
            _ => return None,
        }
    }
    Some(set)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    expr: &'a str,
}

impl Parser<'_> {
    fn err<T>(&self, message: impl Into<String>) -> Result<T, ExprError> {
        Err(ExprError {
            expr: self.expr.to_owned(),
            at: self.i,
            message: message.into(),
        })
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), ExprError> {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            self.err(format!("expected `{}`", c as char))
        }
    }

    /// Hex bytes, quoted text, `??` or a bracketed class, appended as tokens.
    fn tokens_into(&mut self, out: &mut Vec<Elem>) -> Result<(), ExprError> {
        for t in self.token_group()? {
            out.push(Elem::Token(t));
        }
        Ok(())
    }

    /// One lexical item as tokens: a hex byte, `??`, a quoted string (several bytes) or a class.
    fn token_group(&mut self) -> Result<Vec<Token>, ExprError> {
        self.skip_ws();
        match self.peek() {
            Some(b'\'') => Ok(self.quoted()?.into_iter().map(Token::Byte).collect()),
            Some(b'[') => Ok(vec![self.class()?]),
            Some(b'?') => {
                if self.s.get(self.i + 1) == Some(&b'?') {
                    self.i += 2;
                    Ok(vec![Token::Any])
                } else {
                    self.err("`?` must come in pairs (`??` is any byte)")
                }
            }
            Some(c) if c.is_ascii_hexdigit() => Ok(vec![Token::Byte(self.hex_byte()?)]),
            Some(c) => self.err(format!("unexpected `{}`", c as char)),
            None => self.err("unexpected end"),
        }
    }

    fn hex_byte(&mut self) -> Result<u8, ExprError> {
        let digit = |c: Option<u8>| c.and_then(|c| (c as char).to_digit(16));
        match (digit(self.peek()), digit(self.s.get(self.i + 1).copied())) {
            (Some(h), Some(l)) => {
                self.i += 2;
                Ok((h * 16 + l) as u8)
            }
            _ => self.err("expected two hex digits"),
        }
    }

    fn quoted(&mut self) -> Result<Vec<u8>, ExprError> {
        self.i += 1;
        let start = self.i;
        while self.peek().is_some_and(|c| c != b'\'') {
            self.i += 1;
        }
        if self.peek().is_none() {
            self.i = start - 1;
            return self.err("unterminated quoted text");
        }
        let text = self.s[start..self.i].to_vec();
        self.i += 1;
        Ok(text)
    }

    /// Hex bytes or one quoted string: a value inside `[...]`.
    fn value(&mut self) -> Result<Vec<u8>, ExprError> {
        self.skip_ws();
        if self.peek() == Some(b'\'') {
            return self.quoted();
        }
        let mut bytes = Vec::new();
        loop {
            self.skip_ws();
            match self.peek() {
                Some(c) if c.is_ascii_hexdigit() => bytes.push(self.hex_byte()?),
                _ => break,
            }
        }
        if bytes.is_empty() {
            return self.err("expected a value (hex bytes or quoted text)");
        }
        Ok(bytes)
    }

    fn class(&mut self) -> Result<Token, ExprError> {
        self.i += 1; // [
        self.skip_ws();
        let negate = self.peek() == Some(b'!');
        if negate {
            self.i += 1;
            self.skip_ws();
        }
        let token = match self.peek() {
            Some(m @ (b'&' | b'~')) => {
                self.i += 1;
                let mask = self.value()?;
                let [mask] = mask[..] else {
                    return self.err("a bit mask must be one byte");
                };
                let mut set = if m == b'&' {
                    ByteSet::from_fn(|b| b & mask == mask)
                } else {
                    ByteSet::from_fn(|b| b & mask != 0)
                };
                if negate {
                    set.negate();
                }
                Token::Set(Box::new(set))
            }
            _ => {
                let lo = self.value()?;
                self.skip_ws();
                if matches!(self.peek(), Some(b':' | b'-')) {
                    self.i += 1;
                    let hi = self.value()?;
                    if hi.len() != lo.len() {
                        return self.err("both ends of a range must have the same length");
                    }
                    let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
                    if lo.len() == 1 {
                        let (a, b) = (lo[0], hi[0]);
                        let mut set = ByteSet::from_fn(|x| x >= a && x <= b);
                        if negate {
                            set.negate();
                        }
                        Token::Set(Box::new(set))
                    } else {
                        Token::Range {
                            lo: lo.into(),
                            hi: hi.into(),
                            negate,
                        }
                    }
                } else if lo.len() == 1 {
                    let mut set = ByteSet::empty();
                    set.insert(lo[0]);
                    if negate {
                        set.negate();
                    }
                    Token::Set(Box::new(set))
                } else if negate {
                    Token::NotSeq(lo.into())
                } else {
                    return self.err("a multi-byte value in brackets needs `!` or a range");
                }
            }
        };
        self.expect(b']')?;
        Ok(token)
    }

    fn alternatives(&mut self) -> Result<Elem, ExprError> {
        self.i += 1; // (
        let mut alts = vec![Vec::new()];
        loop {
            self.skip_ws();
            match self.peek() {
                Some(b')') => {
                    self.i += 1;
                    break;
                }
                Some(b'|') => {
                    self.i += 1;
                    alts.push(Vec::new());
                }
                Some(b'{' | b'*' | b'(') => return self.err("gaps and nested alternatives are not supported here"),
                Some(_) => {
                    let group = self.token_group()?;
                    alts.last_mut().expect("alts is never empty").extend(group);
                }
                None => return self.err("unterminated alternatives"),
            }
        }
        if alts.iter().any(Vec::is_empty) {
            return self.err("an alternative is empty");
        }
        Ok(Elem::Alts(alts))
    }

    fn number(&mut self) -> Result<u64, ExprError> {
        self.skip_ws();
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        std::str::from_utf8(&self.s[start..self.i])
            .ok()
            .and_then(|s| s.parse().ok())
            .map_or_else(|| self.err("expected a number"), Ok)
    }

    fn gap(&mut self) -> Result<Gap, ExprError> {
        self.i += 1; // {
        let min = self.number()?;
        self.skip_ws();
        let max = if self.peek() == Some(b'-') {
            self.i += 1;
            self.skip_ws();
            if self.peek() == Some(b'*') {
                self.i += 1;
                None
            } else {
                Some(self.number()?)
            }
        } else {
            Some(min)
        };
        self.expect(b'}')?;
        if max.is_some_and(|m| m < min) {
            return self.err("a gap's maximum is below its minimum");
        }
        Ok(Gap::new(min, max))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set_of(t: &Elem) -> Vec<u8> {
        match t {
            Elem::Token(Token::Set(s)) => (0..=255u8).filter(|b| s.contains(*b)).collect(),
            other => panic!("not a set: {other:?}"),
        }
    }

    #[test]
    fn container_syntax() {
        let e = parse("10 00 'Wo' ['6'-'7'] 00 {2-4} (22|27) * [&01] [!00] ??").unwrap();
        assert_eq!(e[0], Elem::Token(Token::Byte(0x10)));
        assert_eq!(e[2], Elem::Token(Token::Byte(b'W')));
        assert_eq!(set_of(&e[4]), vec![b'6', b'7']);
        assert_eq!(e[6], Elem::Gap(Gap { min: 2, max: Some(4) }));
        assert_eq!(e[7], Elem::Alts(vec![vec![Token::Byte(0x22)], vec![Token::Byte(0x27)]]));
        assert_eq!(e[8], Elem::Gap(Gap::ANY));
        assert_eq!(set_of(&e[9]).len(), 128);
        assert_eq!(set_of(&e[10]).len(), 255);
        assert_eq!(e[11], Elem::Token(Token::Any));
    }

    #[test]
    fn lower_case_hex_and_multi_byte_classes() {
        let e = parse("f0[0000:1000][!4001]").unwrap();
        assert_eq!(e[0], Elem::Token(Token::Byte(0xf0)));
        assert!(matches!(&e[1], Elem::Token(Token::Range { lo, .. }) if lo.len() == 2));
        assert!(matches!(&e[2], Elem::Token(Token::NotSeq(b)) if b.len() == 2));
    }

    #[test]
    fn errors_say_where() {
        for bad in ["4", "'abc", "[00:", "(01|", "{5-2}", "zz", "[0001]", "?", "()", "{x}"] {
            let err = parse(bad).unwrap_err();
            assert!(err.to_string().contains("at character"), "{bad}: {err}");
        }
    }
}
