//! The SHA-512 of a DIP's objects, computed on a thread of its own while the zip writer goes on:
//! on the writer's thread, hashing took a fifth of a large DIP's time (docs/performance.md).
//! Each object's digest comes back tagged with its entry; the writer checks the ones ready after
//! each object and waits for the rest before the zip's last entry, so an altered object still
//! cuts the download short before the zip could look complete.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use bytes::Bytes;
use sha2::{Digest, Sha512};

/// Chunks queued for the hashing thread: bounds what it holds when it falls behind.
const QUEUED_CHUNKS: usize = 64;

enum Job {
    Chunk(Bytes),
    /// The object of this entry is complete.
    End(usize),
}

/// One object's digest, hex.
pub(super) struct Digested {
    pub entry: usize,
    pub sha512: String,
}

pub(super) struct Digests {
    jobs: Option<SyncSender<Job>>,
    done: Receiver<Digested>,
    thread: Option<JoinHandle<()>>,
    /// Entries ended and not yet taken back.
    pending: usize,
}

impl Digests {
    pub fn start() -> std::io::Result<Self> {
        let (jobs, queue) = sync_channel::<Job>(QUEUED_CHUNKS);
        let (finished, done) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new().name("dip-sha512".into()).spawn(move || {
            let mut hasher = Sha512::new();
            for job in queue {
                match job {
                    Job::Chunk(c) => hasher.update(&c),
                    Job::End(entry) => {
                        let sha512 = hex::encode(hasher.finalize_reset());
                        if finished.send(Digested { entry, sha512 }).is_err() {
                            return;
                        }
                    }
                }
            }
        })?;
        Ok(Self {
            jobs: Some(jobs),
            done,
            thread: Some(thread),
            pending: 0,
        })
    }

    /// Adds bytes to the current object (the chunk is shared with the hashing thread, not copied).
    pub fn update(&mut self, chunk: Bytes) -> std::io::Result<()> {
        self.send(Job::Chunk(chunk))
    }

    /// Ends the current object as entry `entry`.
    pub fn end(&mut self, entry: usize) -> std::io::Result<()> {
        self.send(Job::End(entry))?;
        self.pending += 1;
        Ok(())
    }

    /// The digests finished so far.
    pub fn ready(&mut self) -> Vec<Digested> {
        let out: Vec<Digested> = self.done.try_iter().collect();
        self.pending -= out.len();
        out
    }

    /// Every digest not yet taken, waiting for them.
    pub fn rest(&mut self) -> std::io::Result<Vec<Digested>> {
        let mut out = Vec::with_capacity(self.pending);
        while self.pending > 0 {
            out.push(self.done.recv().map_err(|_| stopped())?);
            self.pending -= 1;
        }
        Ok(out)
    }

    fn send(&self, job: Job) -> std::io::Result<()> {
        self.jobs.as_ref().ok_or_else(stopped)?.send(job).map_err(|_| stopped())
    }
}

fn stopped() -> std::io::Error {
    std::io::Error::other("the DIP's hashing thread stopped")
}

impl Drop for Digests {
    fn drop(&mut self) {
        // Closing the queue ends the thread once it has hashed what it holds.
        self.jobs = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha512(data: &[u8]) -> String {
        hex::encode(Sha512::digest(data))
    }

    #[test]
    fn each_object_gets_its_own_digest_in_order() {
        let mut d = Digests::start().unwrap();
        let objects: [&[u8]; 3] = [b"first object", b"", b"third, in two chunks"];
        for (entry, o) in objects.iter().enumerate() {
            let (a, b) = o.split_at(o.len() / 2);
            d.update(Bytes::copy_from_slice(a)).unwrap();
            d.update(Bytes::copy_from_slice(b)).unwrap();
            d.end(entry * 10).unwrap();
        }
        let mut got = d.ready();
        got.extend(d.rest().unwrap());
        let got: Vec<(usize, String)> = got.into_iter().map(|g| (g.entry, g.sha512)).collect();
        let want: Vec<(usize, String)> = objects.iter().enumerate().map(|(i, o)| (i * 10, sha512(o))).collect();
        assert_eq!(got, want);
        assert!(d.rest().unwrap().is_empty(), "nothing is returned twice");
    }

    #[test]
    fn more_chunks_than_the_queue_holds_all_count() {
        let mut d = Digests::start().unwrap();
        let chunk = [7u8; 1000];
        let mut whole = Vec::new();
        for _ in 0..QUEUED_CHUNKS * 3 {
            d.update(Bytes::copy_from_slice(&chunk)).unwrap();
            whole.extend_from_slice(&chunk);
        }
        d.end(0).unwrap();
        let got = d.rest().unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].sha512, sha512(&whole));
    }
}
