//! Reading a DIP's objects from the cluster, in runs: objects packed near each other in the same
//! pack are read by one ranged request. The node decodes (and decrypts) whole stripes, so reading
//! a pack's small objects one request each decoded the same stripe again for every object: a
//! 100 KiB object cost a whole stripe and a round trip (docs/performance.md, "DIP build").

use std::ops::Range;

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::model::ObjectRecord;

/// Bytes between two packed objects read through rather than opening another request: less than
/// a stripe, which a second request would decode again.
const MAX_GAP: u64 = 1 << 20;
/// Bytes one request reads at most, so a failed run is retried from a bounded start.
const MAX_SPAN: u64 = 256 << 20;

/// One read request and the entries (indexes into the read order) it serves.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Run {
    pub key: String,
    pub offset: u64,
    /// `None`: the whole object.
    pub length: Option<u64>,
    pub entries: Range<usize>,
}

/// The order objects are read and zipped in: each pack's objects together, by offset.
pub(super) fn read_order(o: &ObjectRecord) -> (&str, u64) {
    (o.key.as_str(), o.pack_offset.unwrap_or(0))
}

/// Groups `objects`, already in [`read_order`], into runs.
pub(super) fn runs<'a>(objects: impl IntoIterator<Item = &'a ObjectRecord>) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    for (i, o) in objects.into_iter().enumerate() {
        if let (Some(offset), Some(last)) = (o.pack_offset, runs.last_mut()) {
            if let Some(length) = last.length.filter(|_| last.key == o.key) {
                let end = last.offset + length;
                let new_end = offset.saturating_add(o.size);
                if offset >= end && offset - end <= MAX_GAP && new_end - last.offset <= MAX_SPAN {
                    last.length = Some(new_end - last.offset);
                    last.entries.end = i + 1;
                    continue;
                }
            }
        }
        runs.push(Run {
            key: o.key.clone(),
            offset: o.pack_offset.unwrap_or(0),
            length: o.pack_offset.map(|_| o.size),
            entries: i..i + 1,
        });
    }
    runs
}

/// The bytes of one run as the client receives them (its chunks, not copied), read from the
/// blocking zip writer.
pub(super) struct RunSource {
    chunks: mpsc::Receiver<Bytes>,
    handle: tokio::runtime::Handle,
    /// Offset in the object of the next byte to hand on.
    position: u64,
    /// What is left of the chunk last received.
    current: Bytes,
}

impl RunSource {
    pub fn new(chunks: mpsc::Receiver<Bytes>, handle: tokio::runtime::Handle, run: &Run) -> Self {
        Self {
            chunks,
            handle,
            position: run.offset,
            current: Bytes::new(),
        }
    }

    /// Hands `f` the `size` bytes at `offset` (past what was read), piece by piece; returns how
    /// many came before the run ended.
    pub fn copy(
        &mut self,
        offset: u64,
        size: u64,
        mut f: impl FnMut(Bytes) -> std::io::Result<()>,
    ) -> std::io::Result<u64> {
        if offset < self.position {
            return Err(std::io::Error::other(format!(
                "the DIP's objects are out of read order (offset {offset} after {})",
                self.position
            )));
        }
        let gap = offset - self.position;
        if self.pass(gap, |_| Ok(()))? < gap {
            return Ok(0);
        }
        self.pass(size, &mut f)
    }

    /// Reads what is left, to let the request finish; returns how many bytes that was.
    pub fn drain(&mut self) -> std::io::Result<u64> {
        self.pass(u64::MAX, |_| Ok(()))
    }

    fn pass(&mut self, mut wanted: u64, mut f: impl FnMut(Bytes) -> std::io::Result<()>) -> std::io::Result<u64> {
        let mut passed = 0u64;
        while wanted > 0 {
            if self.current.is_empty() {
                match self.handle.block_on(self.chunks.recv()) {
                    Some(chunk) => self.current = chunk,
                    None => break,
                }
                continue;
            }
            let n = self.current.len().min(usize::try_from(wanted).unwrap_or(usize::MAX));
            f(self.current.split_to(n))?;
            passed += n as u64;
            wanted -= n as u64;
            self.position += n as u64;
        }
        Ok(passed)
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// An object record for tests: `key`, where in it (when packed), how long.
    pub(in crate::delivery) fn object(key: &str, pack_offset: Option<u64>, size: u64) -> ObjectRecord {
        ObjectRecord {
            id: format!("{key}@{}", pack_offset.unwrap_or(0)),
            sip_id: "sip".into(),
            group_id: None,
            version: None,
            filename: None,
            size,
            sha512: String::new(),
            blake3: None,
            declared_algorithm: "SHA-512".into(),
            declared_digest: String::new(),
            puid: None,
            format_name: None,
            mime: None,
            declared_puid: None,
            key: key.into(),
            pack_offset,
            group_system_id: None,
        }
    }

    #[test]
    fn neighbours_in_a_pack_share_one_read() {
        let objects = [
            object("pack-1", Some(0), 100),
            object("pack-1", Some(100), 50),
            object("pack-1", Some(200), 10),
            object("pack-2", Some(0), 10),
            object("whole", None, 7),
            object("whole-2", None, 7),
        ];
        assert_eq!(
            runs(&objects),
            [
                Run {
                    key: "pack-1".into(),
                    offset: 0,
                    length: Some(210),
                    entries: 0..3
                },
                Run {
                    key: "pack-2".into(),
                    offset: 0,
                    length: Some(10),
                    entries: 3..4
                },
                Run {
                    key: "whole".into(),
                    offset: 0,
                    length: None,
                    entries: 4..5
                },
                Run {
                    key: "whole-2".into(),
                    offset: 0,
                    length: None,
                    entries: 5..6
                },
            ]
        );
    }

    #[test]
    fn far_apart_or_overlapping_objects_are_read_apart() {
        let objects = [
            object("pack", Some(0), 10),
            object("pack", Some(10 + MAX_GAP + 1), 10),
            object("pack", Some(10 + MAX_GAP + 5), 10),
            object("pack", Some(MAX_SPAN * 2), 10),
        ];
        let starts: Vec<u64> = runs(&objects).iter().map(|r| r.offset).collect();
        assert_eq!(starts, [0, 10 + MAX_GAP + 1, 10 + MAX_GAP + 5, MAX_SPAN * 2]);
    }

    /// A run's source fed `data` in chunks of `chunk` bytes by a task on `rt`.
    fn source_of(rt: &tokio::runtime::Runtime, run: &Run, data: Vec<u8>, chunk: usize) -> RunSource {
        let (tx, rx) = mpsc::channel(1);
        rt.spawn(async move {
            for piece in data.chunks(chunk) {
                if tx.send(Bytes::copy_from_slice(piece)).await.is_err() {
                    return;
                }
            }
        });
        RunSource::new(rx, rt.handle().clone(), run)
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn a_run_is_split_into_its_objects_skipping_the_gaps() {
        let rt = runtime();
        let pack: Vec<u8> = (0..=255u8).cycle().take(4000).collect();
        let run = Run {
            key: "pack".into(),
            offset: 1000,
            length: Some(2000),
            entries: 0..2,
        };
        // Chunks of 7 bytes: objects and gaps start and end inside chunks.
        let mut source = source_of(&rt, &run, pack[1000..3000].to_vec(), 7);
        let mut first = Vec::new();
        let n = source
            .copy(1000, 300, |c| {
                first.extend_from_slice(&c);
                Ok(())
            })
            .unwrap();
        assert_eq!((n, &first[..]), (300, &pack[1000..1300]));
        let mut second = Vec::new();
        let n = source
            .copy(2500, 400, |c| {
                second.extend_from_slice(&c);
                Ok(())
            })
            .unwrap();
        assert_eq!((n, &second[..]), (400, &pack[2500..2900]));
        assert!(source.copy(2000, 1, |_| Ok(())).is_err(), "backwards is refused");
        assert_eq!(source.drain().unwrap(), 100);
    }

    #[test]
    fn a_run_cut_short_reports_what_came() {
        let rt = runtime();
        let run = Run {
            key: "pack".into(),
            offset: 0,
            length: Some(500),
            entries: 0..2,
        };
        let mut source = source_of(&rt, &run, vec![1u8; 50], 16);
        assert_eq!(source.copy(0, 40, |_| Ok(())).unwrap(), 40);
        assert_eq!(source.copy(100, 40, |_| Ok(())).unwrap(), 0, "the skip ran out");
    }
}
