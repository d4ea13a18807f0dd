//! Container identification: a ZIP or OLE2 file recognised by the entries it holds.

mod ole2;
mod zip;

use std::collections::HashMap;
use std::io::{Read, Seek};

use crate::container_file::{ContainerKind, ContainerSignature};
use crate::limits::Limits;
use crate::matcher::Matcher;
use crate::view::View;

/// A container open for reading entries.
pub(crate) trait Archive {
    /// Whether an entry (or, for a path ending in `/`, a directory) exists.
    fn has(&self, path: &str) -> bool;
    /// The first `limit` bytes of an entry, and its declared size.
    fn read(&mut self, path: &str, limit: u64) -> Result<Entry, String>;
}

pub(crate) struct Entry {
    pub(crate) data: Vec<u8>,
    /// The size the container declares for the entry (decompressed).
    pub(crate) declared: u64,
    /// The compressed size, for ZIP entries.
    pub(crate) compressed: Option<u64>,
}

impl Entry {
    /// A warning when only part of the entry was examined.
    fn truncation_warning(&self, kind: ContainerKind, path: &str) -> Option<String> {
        let read = self.data.len() as u64;
        if self.declared <= read {
            return None;
        }
        let bomb = match self.compressed {
            Some(c) if self.declared / c.max(1) >= 100 => format!(
                " from {c} compressed (ratio {}:1, a possible zip bomb)",
                self.declared / c.max(1)
            ),
            _ => String::new(),
        };
        Some(format!(
            "{kind} entry {path} expands to {} bytes{bomb}; only the first {read} were examined",
            self.declared
        ))
    }
}

/// Container signatures compiled: one matcher per file rule that has binary signatures.
pub(crate) struct Containers {
    pub(crate) sigs: Vec<ContainerSignature>,
    matchers: Vec<Vec<Option<Matcher>>>,
}

/// What looking inside a container found.
#[derive(Debug, Default)]
pub(crate) struct Found {
    /// Indices of the container signatures that matched.
    pub(crate) matched: Vec<usize>,
    pub(crate) warnings: Vec<String>,
}

impl Containers {
    pub(crate) fn new(mut sigs: Vec<ContainerSignature>) -> Result<Self, String> {
        let mut matchers = Vec::with_capacity(sigs.len());
        for s in &mut sigs {
            let mut per_file = Vec::with_capacity(s.files.len());
            for f in &mut s.files {
                per_file.push(match f.signatures.is_empty() {
                    true => None,
                    false => Some(Matcher::new(std::mem::take(&mut f.signatures))?),
                });
            }
            matchers.push(per_file);
        }
        Ok(Containers { sigs, matchers })
    }

    pub(crate) fn specificity(&self, index: usize) -> u32 {
        let sig = &self.sigs[index];
        let files = sig.files.len() as u32 * 64;
        let bytes: u32 = self.matchers[index]
            .iter()
            .flatten()
            .map(|m| m.signatures().iter().map(|s| s.specificity()).min().unwrap_or(0))
            .sum();
        files + bytes
    }

    /// Opens `reader` as a container of `kind` and evaluates its signatures. `Err` says why the
    /// container could not be read.
    pub(crate) fn identify<R: Read + Seek>(
        &self,
        kind: ContainerKind,
        reader: R,
        limits: &Limits,
    ) -> Result<Found, String> {
        let mut archive: Box<dyn Archive> = match kind {
            ContainerKind::Zip => Box::new(zip::ZipArchive::open(reader, limits)?),
            ContainerKind::Ole2 => Box::new(ole2::Ole2Archive::open(reader, limits)?),
        };
        Ok(self.evaluate(kind, archive.as_mut(), limits))
    }

    fn evaluate(&self, kind: ContainerKind, archive: &mut dyn Archive, limits: &Limits) -> Found {
        let mut found = Found::default();
        let mut cache: HashMap<String, Option<Entry>> = HashMap::new();
        let mut decoded = 0u64;
        for (si, sig) in self.sigs.iter().enumerate().filter(|(_, s)| s.kind == kind) {
            let mut all = true;
            for (fi, rule) in sig.files.iter().enumerate() {
                if !archive.has(&rule.path) {
                    all = false;
                    break;
                }
                let Some(matcher) = &self.matchers[si][fi] else {
                    continue;
                };
                if !cache.contains_key(&rule.path) {
                    let entry = if decoded >= limits.container_bytes {
                        found.warnings.push(format!(
                            "{kind} entry {} not read: {} decompressed bytes already read from this container (limit)",
                            rule.path, limits.container_bytes
                        ));
                        None
                    } else {
                        match archive.read(&rule.path, limits.entry_bytes.min(limits.container_bytes - decoded)) {
                            Ok(e) => {
                                decoded += e.data.len() as u64;
                                found.warnings.extend(e.truncation_warning(kind, &rule.path));
                                Some(e)
                            }
                            Err(why) => {
                                found
                                    .warnings
                                    .push(format!("{kind} entry {} unreadable: {why}", rule.path));
                                None
                            }
                        }
                    };
                    cache.insert(rule.path.clone(), entry);
                }
                let matched = match cache.get(&rule.path).and_then(Option::as_ref) {
                    Some(e) => {
                        let view = if e.declared > e.data.len() as u64 {
                            View::windows(e.declared, &e.data, &[])
                        } else {
                            View::whole(&e.data)
                        };
                        !matcher.run(&view).matches.is_empty()
                    }
                    None => false,
                };
                if !matched {
                    all = false;
                    break;
                }
            }
            if all {
                found.matched.push(si);
            }
        }
        found.warnings.dedup();
        found
    }
}
