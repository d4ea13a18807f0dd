//! `<InternalSignature>` elements (DROID and container files alike) into [`Signature`]s.

use std::collections::BTreeMap;

use crate::expr;
use crate::model::{Anchor, Gap, Part, SequenceBuilder, Signature};
use crate::pattern::{Alt, Token};
use crate::xml::{Element, XmlError};

/// Parses one `<InternalSignature ID="…">` and its byte sequences.
pub(crate) fn internal_signature(el: &Element) -> Result<Signature, XmlError> {
    let id = el
        .num::<u32>("ID")?
        .ok_or_else(|| el.error("<InternalSignature> has no ID attribute"))?;
    let mut sequences = Vec::new();
    for bs in el.children("ByteSequence") {
        let anchor = match bs.attr("Reference") {
            Some("BOFoffset") => Anchor::Bof,
            Some("EOFoffset") => Anchor::Eof,
            None | Some("Variable" | "") => Anchor::Var,
            Some(other) => {
                return Err(bs.error(format!(
                    "signature {id}: Reference=\"{other}\" is not one of BOFoffset, EOFoffset or none"
                )))
            }
        };
        let mut subs: Vec<&Element> = bs.children("SubSequence").collect();
        let mut keyed = Vec::with_capacity(subs.len());
        for s in subs.drain(..) {
            keyed.push((s.num::<u32>("Position")?.unwrap_or(0), s));
        }
        keyed.sort_by_key(|(p, _)| *p);
        let mut builder = SequenceBuilder::new(anchor);
        for (_, sub) in keyed {
            subsequence(&mut builder, sub, anchor, id)?;
        }
        match builder.build() {
            Some(seq) => sequences.push(seq),
            None => return Err(bs.error(format!("signature {id}: a byte sequence has nothing to match"))),
        }
    }
    if sequences.is_empty() {
        return Err(el.error(format!("signature {id} has no byte sequence")));
    }
    Ok(Signature { id, sequences })
}

/// Appends a `<SubSequence>`: its left fragments, its anchor sequence, its right fragments, and
/// its offset (before it for BOF and variable sequences, after it for EOF sequences).
fn subsequence(builder: &mut SequenceBuilder, sub: &Element, anchor: Anchor, id: u32) -> Result<(), XmlError> {
    let min = sub.num::<u64>("SubSeqMinOffset")?.unwrap_or(0);
    let max = sub.num::<u64>("SubSeqMaxOffset")?;
    let offset = Gap::new(min, max);
    if anchor != Anchor::Eof {
        builder.gap(offset);
    }
    let left = fragments(sub, "LeftFragment", id)?;
    for (part, gap) in left.into_iter().rev() {
        builder.part(part);
        builder.gap(gap);
    }
    let seq_el = sub.child("Sequence").unwrap_or(sub);
    let text = if seq_el.name == "Sequence" {
        seq_el.text.as_str()
    } else {
        ""
    };
    let elems = expr::parse(text).map_err(|e| seq_el.error(format!("signature {id}: {e}")))?;
    expr::append(builder, elems);
    for (part, gap) in fragments(sub, "RightFragment", id)? {
        builder.gap(gap);
        builder.part(part);
    }
    if builder.is_empty() {
        return Err(sub.error(format!("signature {id}: a subsequence has no sequence and no fragment")));
    }
    if anchor == Anchor::Eof {
        builder.gap(offset);
    }
    Ok(())
}

/// Fragments of one side, by position (1 = next to the anchor sequence): the alternatives at each
/// position as one part, with the gap that separates it from the previous position.
fn fragments(sub: &Element, side: &str, id: u32) -> Result<Vec<(Part, Gap)>, XmlError> {
    let mut by_position: BTreeMap<u32, (Vec<Vec<Token>>, Gap)> = BTreeMap::new();
    for f in sub.children(side) {
        let position = f
            .num::<u32>("Position")?
            .ok_or_else(|| f.error(format!("<{side}> has no Position")))?;
        let min = f.num::<u64>("MinOffset")?.unwrap_or(0);
        let max = f.num::<u64>("MaxOffset")?;
        let tokens = expr::parse_fixed(&f.text).map_err(|e| f.error(format!("signature {id}: {e}")))?;
        let entry = by_position
            .entry(position)
            .or_insert_with(|| (Vec::new(), Gap::new(min, max)));
        entry.0.push(tokens);
    }
    let mut out = Vec::with_capacity(by_position.len());
    for (expected, (position, (alts, gap))) in (1u32..).zip(by_position) {
        if position != expected {
            return Err(sub.error(format!(
                "signature {id}: <{side}> positions skip from {} to {position}",
                expected - 1
            )));
        }
        out.push((part_of(alts), gap));
    }
    Ok(out)
}

/// Alternatives as a part; one-byte alternatives become a single byte set.
fn part_of(alts: Vec<Vec<Token>>) -> Part {
    if alts.len() > 1 {
        if let Some(set) = expr::single_byte_set(&alts) {
            return Part {
                alts: vec![Alt::new(vec![Token::Set(Box::new(set))])],
            };
        }
    }
    Part {
        alts: alts.into_iter().map(Alt::new).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml;

    fn sig(xml_text: &str) -> Signature {
        internal_signature(&xml::parse(xml_text.as_bytes()).unwrap()).unwrap()
    }

    #[test]
    fn fragments_are_laid_out_in_file_order() {
        let s = sig(r#"<InternalSignature ID="1"><ByteSequence Reference="BOFoffset">
            <SubSequence Position="1" SubSeqMinOffset="2" SubSeqMaxOffset="4">
              <Sequence>AABB</Sequence>
              <LeftFragment Position="1" MinOffset="1" MaxOffset="1">01</LeftFragment>
              <LeftFragment Position="2" MinOffset="0" MaxOffset="3">02</LeftFragment>
              <RightFragment Position="1" MinOffset="5" MaxOffset="6">03</RightFragment>
              <RightFragment Position="1" MinOffset="5" MaxOffset="6">04</RightFragment>
            </SubSequence>
            <SubSequence Position="2" SubSeqMinOffset="0"><Sequence>CC</Sequence></SubSequence>
          </ByteSequence></InternalSignature>"#);
        let seq = &s.sequences[0];
        let lens: Vec<usize> = seq.parts.iter().map(|p| p.min_len()).collect();
        assert_eq!(lens, vec![1, 1, 2, 1, 1]);
        assert_eq!(
            seq.gaps,
            vec![
                Gap { min: 2, max: Some(4) },
                Gap { min: 0, max: Some(3) },
                Gap::fixed(1),
                Gap { min: 5, max: Some(6) },
                Gap { min: 0, max: None },
                Gap::ANY
            ]
        );
    }

    #[test]
    fn eof_offsets_follow_the_subsequence() {
        let s = sig(r#"<InternalSignature ID="2"><ByteSequence Reference="EOFoffset">
            <SubSequence Position="1" SubSeqMinOffset="0" SubSeqMaxOffset="4"><Sequence>3B</Sequence></SubSequence>
          </ByteSequence></InternalSignature>"#);
        assert_eq!(s.sequences[0].gaps, vec![Gap::ANY, Gap { min: 0, max: Some(4) }]);
    }

    #[test]
    fn errors_name_the_signature() {
        let el = xml::parse(br#"<InternalSignature ID="7"><ByteSequence><SubSequence Position="1"><Sequence>4G</Sequence></SubSequence></ByteSequence></InternalSignature>"#).unwrap();
        let err = internal_signature(&el).unwrap_err();
        assert!(
            err.message.starts_with("signature 7: byte sequence `4G`"),
            "{}",
            err.message
        );
    }
}
