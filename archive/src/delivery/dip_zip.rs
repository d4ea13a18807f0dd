//! A DIP's zip, written while it is downloaded and never stored. Its plan, fixed when the DIP
//! becomes ready, says what goes in and in which order; every download of it is the same bytes,
//! so the zip's size is known before the first one (the download's `Content-Length`).
//!
//! Layout (docs/archive.md, "Access and communication"): `Content/<object id>[.ext]`, the
//! objects, in read order (a pack's objects together); `metadata/<unit id>.json`, each unit's
//! complete catalog record; `manifest.xml`, the ArchiveDeliveryRequestReply. Entries are stored,
//! not compressed, with data descriptors (the zip is written as a stream).

use std::io::Write;

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::{Deserialize, Serialize};

use crate::counted::Counted;
use crate::model::ObjectRecord;

/// What a DIP holds, fixed when it becomes ready.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DipPlan {
    /// When the DIP became ready: every entry's modification time.
    pub prepared_at: DateTime<Utc>,
    /// The objects, in read order.
    pub entries: Vec<PlanEntry>,
    pub metadata: Vec<UnitMetadata>,
    /// The ArchiveDeliveryRequestReply.
    pub manifest: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PlanEntry {
    /// The entry's name in the zip.
    pub path: String,
    pub object: ObjectRecord,
}

/// A unit's catalog record as it was when the DIP became ready.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UnitMetadata {
    pub unit: String,
    pub json: String,
}

/// Below this many bytes a zip has no ZIP64 field (every size and offset fits in 32 bits), so
/// its layout does not depend on how long the objects are.
const PLAIN_ZIP_LIMIT: u64 = 0xF000_0000;

impl DipPlan {
    /// The zip's size in bytes. Entries are stored, so only their count and lengths matter: the
    /// layout with empty objects plus their sizes, while no ZIP64 field can appear; else the
    /// zip written with zeros in place of the objects (writing 100 MB of zeros was most of a
    /// DIP's planning, docs/performance.md).
    pub fn zip_size(&self) -> std::io::Result<u64> {
        let content: u64 = self.entries.iter().map(|e| e.object.size).sum();
        let frame = write_zip(Counted::new(std::io::sink()), self, |_, _| Ok(()))?.bytes;
        match frame.checked_add(content) {
            Some(size) if size < PLAIN_ZIP_LIMIT => Ok(size),
            _ => self.zip_size_written(),
        }
    }

    /// The zip's size, written with zeros in place of the objects.
    fn zip_size_written(&self) -> std::io::Result<u64> {
        let zeros = [0u8; 64 << 10];
        let counted = write_zip(Counted::new(std::io::sink()), self, |i, out| {
            let mut left = self.entries[i].object.size;
            while left > 0 {
                let n = usize::try_from(left).unwrap_or(usize::MAX).min(zeros.len());
                out.write_all(&zeros[..n])?;
                left -= n as u64;
            }
            Ok(())
        })?;
        Ok(counted.bytes)
    }
}

/// zstd's frame magic: a stored plan that starts with it is compressed; plans stored before
/// were plain JSON (which starts with `{`).
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];

/// A plan's JSON as it is stored beside its delivery: compressed, as the plan's PUT is on the way
/// to `ready` and a thousand units' manifest and records shrink several times.
pub fn stored_plan(json: &[u8]) -> std::io::Result<Vec<u8>> {
    zstd::bulk::compress(json, 1)
}

/// A stored plan read back, compressed or not; more than `limit` bytes of JSON is refused.
pub fn read_stored_plan(stored: &[u8], limit: u64) -> std::io::Result<DipPlan> {
    let too_large = || {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("the plan holds more than the {limit} bytes a front reads; ask for fewer units"),
        )
    };
    if stored.len() as u64 > limit {
        return Err(too_large());
    }
    let mut json = Vec::new();
    let json = if stored.starts_with(&ZSTD_MAGIC) {
        use std::io::Read;
        zstd::stream::read::Decoder::new(stored)?
            .take(limit.saturating_add(1))
            .read_to_end(&mut json)?;
        if json.len() as u64 > limit {
            return Err(too_large());
        }
        &json[..]
    } else {
        stored
    };
    serde_json::from_slice(json).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

/// Writes the zip of `plan` into `out` and returns `out`; `content(i, w)` writes the bytes of
/// `plan.entries[i]`, which is asked for in order.
pub fn write_zip<W: Write>(
    out: W,
    plan: &DipPlan,
    mut content: impl FnMut(usize, &mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<W> {
    use zip::write::SimpleFileOptions;
    let zip_err = |e: zip::result::ZipError| std::io::Error::other(format!("zip: {e}"));
    let stored = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .last_modified_time(zip_time(plan.prepared_at));
    let mut zip = zip::ZipWriter::new_stream(out);
    for (i, e) in plan.entries.iter().enumerate() {
        zip.start_file(e.path.as_str(), stored.large_file(e.object.size >= u64::from(u32::MAX)))
            .map_err(zip_err)?;
        content(i, &mut zip)?;
    }
    for m in &plan.metadata {
        zip.start_file(format!("metadata/{}.json", m.unit), stored)
            .map_err(zip_err)?;
        zip.write_all(m.json.as_bytes())?;
    }
    zip.start_file("manifest.xml", stored).map_err(zip_err)?;
    zip.write_all(plan.manifest.as_bytes())?;
    Ok(zip.finish().map_err(zip_err)?.into_inner())
}

/// A zip's (MS-DOS) time for `t`; zips cannot say before 1980, which no DIP is.
fn zip_time(t: DateTime<Utc>) -> zip::DateTime {
    let field = |v: u32| u8::try_from(v).unwrap_or(0);
    u16::try_from(t.year())
        .ok()
        .and_then(|year| {
            zip::DateTime::from_date_and_time(
                year,
                field(t.month()),
                field(t.day()),
                field(t.hour()),
                field(t.minute()),
                field(t.second()),
            )
            .ok()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::dip_read::tests::object;
    use std::io::Read;

    fn plan(sizes: &[u64]) -> DipPlan {
        DipPlan {
            prepared_at: "2026-12-06T10:20:30Z".parse().unwrap(),
            entries: sizes
                .iter()
                .enumerate()
                .map(|(i, s)| PlanEntry {
                    path: format!("Content/o{i}.bin"),
                    object: object(&format!("aip/o{i}"), None, *s),
                })
                .collect(),
            metadata: vec![UnitMetadata {
                unit: "u1".into(),
                json: "{\"id\": \"u1\", \"title\": \"Délibération\"}".into(),
            }],
            manifest: "<ArchiveDeliveryRequestReply/>".into(),
        }
    }

    fn bytes_of(i: usize, size: u64) -> Vec<u8> {
        (0..size).map(|b| (b as usize * 7 + i) as u8).collect()
    }

    fn written(p: &DipPlan) -> Vec<u8> {
        write_zip(Vec::new(), p, |i, out| {
            out.write_all(&bytes_of(i, p.entries[i].object.size))
        })
        .unwrap()
    }

    #[test]
    fn the_size_is_known_before_the_bytes_and_every_download_is_the_same() {
        for sizes in [&[][..], &[0], &[0, 0, 7], &[1, 100_000, 3], &[70_000; 40]] {
            let p = plan(sizes);
            let zip = written(&p);
            assert_eq!(p.zip_size().unwrap(), zip.len() as u64, "sizes {sizes:?}");
            assert_eq!(p.zip_size_written().unwrap(), zip.len() as u64, "sizes {sizes:?}");
            assert_eq!(written(&p), zip, "the same plan gives the same bytes");
        }
    }

    #[test]
    fn the_zip_reads_back_with_its_entries_in_plan_order_and_the_plans_date() {
        let p = plan(&[10, 0, 5000]);
        let zip = written(&p);
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
        let names: Vec<String> = archive.file_names().map(str::to_owned).collect();
        assert_eq!(
            names,
            [
                "Content/o0.bin",
                "Content/o1.bin",
                "Content/o2.bin",
                "metadata/u1.json",
                "manifest.xml"
            ]
        );
        for i in 0..3 {
            let mut f = archive.by_index(i).unwrap();
            let modified = f.last_modified().unwrap();
            assert_eq!(
                (modified.year(), modified.month(), modified.day(), modified.hour()),
                (2026, 12, 6, 10)
            );
            let mut got = Vec::new();
            f.read_to_end(&mut got).unwrap();
            assert_eq!(got, bytes_of(i, p.entries[i].object.size));
        }
        let mut meta = String::new();
        archive
            .by_name("metadata/u1.json")
            .unwrap()
            .read_to_string(&mut meta)
            .unwrap();
        assert!(meta.contains("Délibération"));
    }

    #[test]
    fn a_plan_is_stored_compressed_and_read_back_as_it_was() {
        let p = plan(&[10, 0, 5000]);
        let json = serde_json::to_vec(&p).unwrap();
        let stored = stored_plan(&json).unwrap();
        assert!(stored.starts_with(&ZSTD_MAGIC));
        assert_eq!(read_stored_plan(&stored, 1 << 20).unwrap(), p);
        // Plans stored before compression are plain JSON.
        assert_eq!(read_stored_plan(&json, 1 << 20).unwrap(), p);
        let err = read_stored_plan(&stored, json.len() as u64 - 1).unwrap_err();
        assert!(err.to_string().contains("fewer units"), "{err}");
        let err = read_stored_plan(&stored[..stored.len() / 2], 1 << 20).unwrap_err();
        assert!(!err.to_string().is_empty());
    }

    #[test]
    fn a_failing_object_stops_the_zip() {
        let p = plan(&[10, 10]);
        let err = write_zip(Vec::new(), &p, |i, out| match i {
            0 => out.write_all(&[1; 10]),
            _ => Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "altered")),
        })
        .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    }
}
