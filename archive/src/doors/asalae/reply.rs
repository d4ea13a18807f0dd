//! The ATR as Pastell's as@lae connector reads it. Ingest's ATR already has the SEDA namespace
//! as the default one, one `MessageRequestIdentifier` and one `MessageIdentifier`; two things
//! differ from what the connector expects, and are rewritten on the way out:
//!
//! - `ReplyCode`: as@lae's list says `000` for an accepted transfer, and Pastell accepts only
//!   that. OK and WARNING (stored, with remarks listed in `Operation`) become `000`; KO stays
//!   `KO`, which Pastell shows as "Archive refusée - code de retour : KO".
//! - the archive's identifier: Pastell reads exactly one top-level
//!   `ArchiveUnit/Content/ArchivalAgencyArchiveUnitIdentifier`. It is written, with the AIP id,
//!   in the first top-level unit, right after its `SystemId` (the schema's order).
//!
//! The stored ATR is left as ingest wrote it; this is a view of it.

use quick_xml::events::{BytesEnd, BytesStart, BytesText, Event};
use quick_xml::{Reader, Writer};

/// Path of the element that gets the archive identifier, from the root.
const UNIT_SYSTEM_ID: [&[u8]; 6] = [
    b"ArchiveTransferReply",
    b"DataObjectPackage",
    b"DescriptiveMetadata",
    b"ArchiveUnit",
    b"Content",
    b"SystemId",
];

/// `000` for accepted transfers; other codes unchanged.
pub fn reply_code(code: &str) -> &str {
    match code {
        "OK" | "WARNING" => "000",
        other => other,
    }
}

/// Rewrites an ATR written by ingest for the as@lae connector (see the module doc).
pub fn asalae_atr(xml: &[u8], archive_id: Option<&str>) -> Result<Vec<u8>, quick_xml::Error> {
    let mut reader = Reader::from_reader(xml);
    let mut writer = Writer::new(Vec::with_capacity(xml.len() + 128));
    let mut path: Vec<Vec<u8>> = Vec::new();
    let mut placed = archive_id.is_none();
    loop {
        let event = reader.read_event()?;
        match &event {
            Event::Eof => break,
            Event::Start(e) => path.push(e.local_name().as_ref().to_vec()),
            Event::Text(t) if is_path(&path, &[b"ArchiveTransferReply", b"ReplyCode"]) => {
                let code = String::from_utf8_lossy(t.as_ref()).trim().to_owned();
                writer.write_event(Event::Text(BytesText::new(reply_code(&code))))?;
                continue;
            }
            Event::End(_) => {
                let at_system_id = is_path(&path, &UNIT_SYSTEM_ID);
                path.pop();
                writer.write_event(event.borrow())?;
                if at_system_id && !placed {
                    if let Some(id) = archive_id {
                        let name = "ArchivalAgencyArchiveUnitIdentifier";
                        writer.write_event(Event::Start(BytesStart::new(name)))?;
                        writer.write_event(Event::Text(BytesText::new(id)))?;
                        writer.write_event(Event::End(BytesEnd::new(name)))?;
                    }
                    placed = true;
                }
                continue;
            }
            _ => {}
        }
        writer.write_event(event.borrow())?;
    }
    Ok(writer.into_inner())
}

fn is_path(path: &[Vec<u8>], want: &[&[u8]]) -> bool {
    path.len() == want.len() && path.iter().zip(want).all(|(a, b)| a.as_slice() == *b)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ATR: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ArchiveTransferReply xmlns=\"fr:gouv:culture:archivesdefrance:seda:v2.1\">\
        <Comment>Archipel transfer t &amp; co</Comment><Date>2026-01-01T00:00:00Z</Date><MessageIdentifier>ATR-t</MessageIdentifier>\
        <CodeListVersions/><DataObjectPackage><DescriptiveMetadata>\
        <ArchiveUnit id=\"ROOT\"><Content><SystemId>u1</SystemId></Content></ArchiveUnit>\
        <ArchiveUnit id=\"U2\"><Content><SystemId>u2</SystemId></Content></ArchiveUnit>\
        </DescriptiveMetadata><ManagementMetadata/></DataObjectPackage><ReplyCode>WARNING</ReplyCode>\
        <MessageRequestIdentifier>M1</MessageRequestIdentifier></ArchiveTransferReply>";

    #[test]
    fn accepted_becomes_000_with_one_archive_identifier() {
        let out = String::from_utf8(asalae_atr(ATR.as_bytes(), Some("aip-1")).unwrap()).unwrap();
        assert!(out.contains("<ReplyCode>000</ReplyCode>"), "{out}");
        assert_eq!(
            out.matches("ArchivalAgencyArchiveUnitIdentifier>aip-1<").count(),
            1,
            "{out}"
        );
        assert!(
            out.contains("<SystemId>u1</SystemId><ArchivalAgencyArchiveUnitIdentifier>aip-1"),
            "{out}"
        );
        assert!(out.contains("t &amp; co"), "{out}");
        assert!(out.contains("xmlns=\"fr:gouv:culture:archivesdefrance:seda:v2.1\""));
    }

    #[test]
    fn ko_keeps_its_code() {
        let ko = ATR.replace("WARNING", "KO");
        let out = String::from_utf8(asalae_atr(ko.as_bytes(), None).unwrap()).unwrap();
        assert!(out.contains("<ReplyCode>KO</ReplyCode>"), "{out}");
        assert!(!out.contains("ArchivalAgencyArchiveUnitIdentifier"));
        assert_eq!(reply_code("OK"), "000");
    }
}
