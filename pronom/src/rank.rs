//! From the formats that matched to one answer: priorities, ranking, extension fallback, basis
//! and warnings.

use crate::identifier::Identifier;
use crate::result::{Basis, Identification};
use crate::search::Span;
use crate::view::View;

/// Plain text.
const TEXT_PUID: &str = "x-fmt/111";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Method {
    Byte,
    Container,
}

/// A format that matched, and how.
#[derive(Clone, Debug)]
pub(crate) struct Candidate {
    pub(crate) format: usize,
    pub(crate) method: Method,
    pub(crate) specificity: u32,
    pub(crate) evidence: String,
}

pub(crate) fn byte_evidence(sig_id: u32, spans: &[Span]) -> String {
    let at: Vec<String> = spans.iter().map(|s| format!("{}..{}", s.start, s.end)).collect();
    format!("byte signature {sig_id} at {}", at.join(", "))
}

/// True when the end of the file is in view and holds no ZIP end-of-central-directory record
/// (which must lie within the last 65,557 bytes).
pub(crate) fn lacks_zip_directory(view: &View<'_>) -> bool {
    const TAIL: u64 = 22 + 65_535;
    let Some(last) = view.segments().last() else {
        return true;
    };
    let tail_start = view.len().saturating_sub(TAIL);
    if last.end() != view.len() || last.start > tail_start {
        return false; // not enough of the end in view to tell
    }
    let from = (tail_start - last.start) as usize;
    memchr::memmem::find(&last.data[from..], b"PK\x05\x06").is_none()
}

/// Picks the answer. Formats another matched format has priority over are dropped; the rest
/// are ranked by whether the extension fits, then by how specific the matching signature is,
/// then by their order in the signature file (so the result is deterministic).
pub(crate) fn choose(
    id: &Identifier,
    mut candidates: Vec<Candidate>,
    ext: Option<&str>,
    text: bool,
    mut warnings: Vec<String>,
) -> Identification {
    // One entry per format, the most specific evidence kept.
    candidates.sort_by(|a, b| a.format.cmp(&b.format).then(b.specificity.cmp(&a.specificity)));
    candidates.dedup_by_key(|c| c.format);
    let formats: Vec<usize> = candidates.iter().map(|c| c.format).collect();
    candidates.retain(|c| {
        !formats
            .iter()
            .any(|&g| g != c.format && id.priority[g].contains(&c.format))
    });
    let fits = |f: usize| ext.is_some_and(|e| id.formats[f].extensions.iter().any(|x| x == e));
    candidates.sort_by(|a, b| {
        fits(b.format)
            .cmp(&fits(a.format))
            .then(b.specificity.cmp(&a.specificity))
            .then(a.format.cmp(&b.format))
    });
    let others: Vec<String> = candidates
        .iter()
        .skip(1)
        .map(|c| id.formats[c.format].puid.clone())
        .collect();
    if let Some(best) = candidates.first() {
        let f = &id.formats[best.format];
        let mismatch = ext.is_some() && !f.extensions.is_empty() && !fits(best.format);
        let basis = match (mismatch, best.method) {
            (true, _) => Basis::ExtensionMismatch,
            (false, Method::Byte) => Basis::ByteMatch,
            (false, Method::Container) => Basis::ContainerMatch,
        };
        if mismatch {
            warnings.push(format!(
                "extension mismatch: .{} is not an extension of {} ({})",
                ext.unwrap_or_default(),
                f.puid,
                f.extensions.join(", ")
            ));
        }
        if !others.is_empty() {
            warnings.push(format!("also matched, ranked lower: {}", others.join(", ")));
        }
        let mut detail = best.evidence.clone();
        if let Some(e) = ext.filter(|_| !mismatch) {
            detail.push_str(&format!("; extension .{e}"));
        }
        return identification(id, Some(best.format), basis, detail, others, warnings);
    }
    // No signature matched: the extension, if it names exactly one format.
    let by_ext: Vec<usize> = ext.and_then(|e| id.by_ext.get(e)).cloned().unwrap_or_default();
    let names: Vec<String> = by_ext.iter().map(|&f| id.formats[f].puid.clone()).collect();
    match by_ext.as_slice() {
        [only] => {
            warnings.push("match on extension only".into());
            let detail = format!("extension .{}", ext.unwrap_or_default());
            identification(id, Some(*only), Basis::ExtensionOnly, detail, Vec::new(), warnings)
        }
        _ => {
            if !names.is_empty() {
                warnings.push(format!(
                    "no signature match; the extension .{} fits {}",
                    ext.unwrap_or_default(),
                    names.join(", ")
                ));
            }
            match id.by_puid.get(TEXT_PUID).filter(|_| text) {
                Some(&t) => {
                    warnings.push("match on text only".into());
                    let others = names.into_iter().filter(|n| n != TEXT_PUID).collect();
                    identification(id, Some(t), Basis::TextMatch, "text".into(), others, warnings)
                }
                None => identification(id, None, Basis::Unknown, "no match".into(), names, warnings),
            }
        }
    }
}

fn identification(
    id: &Identifier,
    format: Option<usize>,
    basis: Basis,
    detail: String,
    candidates: Vec<String>,
    warnings: Vec<String>,
) -> Identification {
    let f = format.map(|i| &id.formats[i]);
    Identification {
        puid: f.map(|f| f.puid.clone()),
        format: f.map(|f| f.name.clone()),
        version: f.and_then(|f| f.version.clone()),
        mime: f.and_then(|f| f.mime.clone()),
        basis,
        detail,
        candidates,
        warnings,
        bytes_read: 0,
    }
}
