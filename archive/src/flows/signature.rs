//! Electronic signatures embedded in PDF files (PAdES, or the older PKCS#7 signatures of Adobe),
//! found by their signature dictionary's `/SubFilter`: a signed act is a proof only with its
//! signature (Code civil 1366–1367), so the build says which files carry one.
//!
//! This finds the signature; it does not verify it (that needs the signer's chain and the
//! time of signing, which is the archivist's tools' job).

use std::io::Read;
use std::path::Path;

/// `/SubFilter` values of PDF signature dictionaries (ISO 32000-1 12.8.3, ETSI EN 319 142).
const SUBFILTERS: [(&[u8], &str); 4] = [
    (b"/ETSI.CAdES.detached", "PAdES (ETSI.CAdES.detached)"),
    (b"/ETSI.RFC3161", "horodatage PAdES (ETSI.RFC3161)"),
    (b"/adbe.pkcs7.detached", "PKCS#7 (adbe.pkcs7.detached)"),
    (b"/adbe.pkcs7.sha1", "PKCS#7 (adbe.pkcs7.sha1)"),
];

/// The kinds of embedded signature in the PDF at `path`, read in one streaming pass; empty
/// when it has none (or is not a PDF).
pub fn pdf_signatures(path: &Path) -> std::io::Result<Vec<&'static str>> {
    let mut file = std::fs::File::open(path)?;
    let longest = SUBFILTERS.iter().map(|(s, _)| s.len()).max().unwrap_or(0);
    let mut buf = vec![0u8; 1 << 20];
    // Bytes kept from the previous chunk, so a name cut between two reads is still seen.
    let mut carry = 0;
    let mut found: Vec<&'static str> = Vec::new();
    let mut head_checked = false;
    loop {
        let n = file.read(&mut buf[carry..])?;
        if n == 0 {
            break;
        }
        let window = &buf[..carry + n];
        if !head_checked {
            if window.len() < 5 {
                carry = window.len();
                continue;
            }
            if !window.starts_with(b"%PDF-") {
                return Ok(found);
            }
            head_checked = true;
        }
        for (pattern, kind) in SUBFILTERS {
            if !found.contains(&kind) && window.windows(pattern.len()).any(|w| w == pattern) {
                found.push(kind);
            }
        }
        let keep = longest.min(window.len());
        let end = window.len();
        buf.copy_within(end - keep..end, 0);
        carry = keep;
    }
    Ok(found)
}

/// What a unit's description says of a signed PDF.
pub fn describe(kinds: &[&str]) -> String {
    format!("Signature électronique intégrée au PDF : {}.", kinds.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_found_even_across_reads() {
        let dir = tempfile::tempdir().unwrap();
        let signed = dir.path().join("signed.pdf");
        let mut bytes = b"%PDF-1.7\n".to_vec();
        // Put the name across the 1 MiB read boundary.
        bytes.resize((1 << 20) - 8, b' ');
        bytes.extend_from_slice(
            b"<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /ByteRange [0 1 2 3] >>",
        );
        std::fs::write(&signed, &bytes).unwrap();
        assert_eq!(pdf_signatures(&signed).unwrap(), ["PAdES (ETSI.CAdES.detached)"]);

        let plain = dir.path().join("plain.pdf");
        std::fs::write(&plain, b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj").unwrap();
        assert!(pdf_signatures(&plain).unwrap().is_empty());
        let not_pdf = dir.path().join("x.txt");
        std::fs::write(&not_pdf, b"/ETSI.CAdES.detached").unwrap();
        assert!(pdf_signatures(&not_pdf).unwrap().is_empty(), "only PDFs");
    }
}
