//! The identifier: signatures loaded and compiled, and the decision for one file.

use std::cell::Cell;
use std::collections::HashMap;
use std::fs::File;
use std::io::{Cursor, Read, Seek};
use std::path::Path;
use std::rc::Rc;

use crate::container::{Containers, Found};
use crate::container_file::{self, ContainerKind};
use crate::droid;
use crate::error::{Error, Result};
use crate::format::FileFormat;
use crate::io::{read_windows, Metered};
use crate::limits::Limits;
use crate::matcher::Matcher;
use crate::rank::{self, Candidate, Method};
use crate::result::Identification;
use crate::view::View;
use crate::xml::XmlError;

/// Bytes of the beginning of a file examined to tell text.
const TEXT_WINDOW: usize = 64 << 10;

/// Identifies file formats against one DROID signature file and one container signature file.
///
/// Build it once (loading V118 takes about 70 ms in a release build) and share it: it is `Send + Sync`
/// and identification takes `&self`.
pub struct Identifier {
    pub(crate) formats: Vec<FileFormat>,
    pub(crate) by_puid: HashMap<String, usize>,
    pub(crate) by_ext: HashMap<String, Vec<usize>>,
    /// Matcher signature index → the formats it identifies.
    sig_formats: Vec<Vec<usize>>,
    /// Format index → the formats it takes priority over.
    pub(crate) priority: Vec<Vec<usize>>,
    matcher: Matcher,
    containers: Containers,
    /// Container signature index → its formats.
    container_formats: Vec<Vec<usize>>,
    triggers: Vec<(ContainerKind, usize)>,
    limits: Limits,
    info: SignatureInfo,
}

/// Which signature files are loaded, and what was skipped in them.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SignatureInfo {
    pub droid_version: String,
    pub container_version: String,
    pub formats: usize,
    pub byte_signatures: usize,
    pub container_signatures: usize,
    /// Things skipped while loading (signatures no format uses, unknown container types…).
    pub notes: Vec<String>,
}

impl Identifier {
    /// Loads and compiles a DROID signature file and a container signature file.
    pub fn load(droid_path: &Path, container_path: &Path) -> Result<Self> {
        let read = |path: &Path| {
            std::fs::read(path).map_err(|source| Error::SignatureIo {
                path: path.to_owned(),
                source,
            })
        };
        Self::build(&read(droid_path)?, droid_path, &read(container_path)?, container_path)
    }

    /// Like [`Identifier::load`], from the files' contents.
    pub fn from_xml(droid_xml: &[u8], container_xml: &[u8]) -> Result<Self> {
        Self::build(
            droid_xml,
            Path::new("(DROID signatures)"),
            container_xml,
            Path::new("(container signatures)"),
        )
    }

    fn build(droid_xml: &[u8], droid_path: &Path, container_xml: &[u8], container_path: &Path) -> Result<Self> {
        fn invalid<'p>(what: &'static str, path: &'p Path) -> impl FnOnce(XmlError) -> Error + 'p {
            move |e: XmlError| Error::SignatureInvalid {
                what,
                path: path.to_owned(),
                line: e.line,
                message: e.message,
            }
        }
        let d = droid::parse(droid_xml).map_err(invalid("DROID signature file", droid_path))?;
        let c = container_file::parse(container_xml).map_err(invalid("container signature file", container_path))?;
        let mut notes = c.notes;
        let mut formats = d.formats;
        let mut by_puid = HashMap::new();
        let mut by_id = HashMap::new();
        for (i, f) in formats.iter().enumerate() {
            by_puid.entry(f.puid.clone()).or_insert(i);
            by_id.insert(f.id, i);
        }
        // Byte signatures, kept only when a format uses them.
        let mut users: HashMap<u32, Vec<usize>> = HashMap::new();
        for (i, f) in formats.iter().enumerate() {
            for id in &f.signature_ids {
                users.entry(*id).or_default().push(i);
            }
        }
        let mut sigs = Vec::new();
        let mut sig_formats = Vec::new();
        let mut unused = 0;
        for sig in d.signatures {
            match users.remove(&sig.id) {
                Some(fs) => {
                    sig_formats.push(fs);
                    sigs.push(sig);
                }
                None => unused += 1,
            }
        }
        if unused > 0 {
            notes.push(format!(
                "{unused} byte signature(s) belong to no format and are never reported"
            ));
        }
        let mut undefined: Vec<(u32, Vec<usize>)> = users.into_iter().collect();
        undefined.sort();
        for (id, fs) in undefined {
            let names: Vec<&str> = fs.iter().map(|&i| formats[i].puid.as_str()).collect();
            notes.push(format!(
                "{} refer(s) to byte signature {id}, which the file does not define",
                names.join(", ")
            ));
        }
        let priority = formats
            .iter()
            .map(|f| f.priority_over.iter().filter_map(|id| by_id.get(id).copied()).collect())
            .collect();
        let mut container_formats = Vec::new();
        for sig in &c.signatures {
            let mut fs = Vec::new();
            for puid in &sig.puids {
                let i = *by_puid.entry(puid.clone()).or_insert_with(|| {
                    notes.push(format!(
                        "container signature {} maps to {puid}, unknown to the DROID file",
                        sig.id
                    ));
                    formats.push(FileFormat {
                        puid: puid.clone(),
                        name: sig.description.clone(),
                        version: None,
                        mime: None,
                        extensions: Vec::new(),
                        id: 0,
                        signature_ids: Vec::new(),
                        priority_over: Vec::new(),
                    });
                    formats.len() - 1
                });
                fs.push(i);
            }
            container_formats.push(fs);
        }
        let triggers = c
            .triggers
            .iter()
            .filter_map(|(k, puid)| by_puid.get(puid).map(|&i| (*k, i)))
            .collect();
        let mut by_ext: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, f) in formats.iter().enumerate() {
            for e in &f.extensions {
                by_ext.entry(e.clone()).or_default().push(i);
            }
        }
        let info = SignatureInfo {
            droid_version: d.version,
            container_version: c.version,
            formats: formats.len(),
            byte_signatures: sigs.len(),
            container_signatures: c.signatures.len(),
            notes,
        };
        Ok(Identifier {
            formats,
            by_puid,
            by_ext,
            sig_formats,
            priority,
            matcher: Matcher::new(sigs).map_err(Error::SignatureCompile)?,
            containers: Containers::new(c.signatures).map_err(Error::SignatureCompile)?,
            container_formats,
            triggers,
            limits: Limits::default(),
            info,
        })
    }

    /// Replaces the default [`Limits`].
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub(crate) fn containers(&self) -> &Containers {
        &self.containers
    }

    pub fn info(&self) -> &SignatureInfo {
        &self.info
    }

    /// What PRONOM says about a PUID (name, version, MIME type, extensions), e.g. to describe
    /// the format a submission declares.
    pub fn format(&self, puid: &str) -> Option<&FileFormat> {
        self.by_puid.get(puid.trim()).map(|&i| &self.formats[i])
    }

    /// Identifies a file on disk. Reads its first and last windows (see [`Limits`]) and, for a
    /// container, its directory and the entries signatures name; never the whole of a large file.
    pub fn identify_path(&self, path: &Path) -> Result<Identification> {
        let io = |source| Error::Io {
            path: path.to_owned(),
            source,
        };
        let mut file = File::open(path).map_err(io)?;
        let meta = file.metadata().map_err(io)?;
        if !meta.is_file() {
            return Err(Error::NotAFile { path: path.to_owned() });
        }
        let name = path.file_name().map(|n| n.to_string_lossy());
        self.identify_reader(&mut file, meta.len(), name.as_deref())
            .map_err(|e| match e {
                Error::EmptyFile { .. } => Error::EmptyFile { path: path.to_owned() },
                Error::Io { source, .. } => Error::Io {
                    path: path.to_owned(),
                    source,
                },
                other => other,
            })
    }

    /// Identifies `len` bytes read from `reader`; `name` (a file name) gives the extension.
    pub fn identify_reader<R: Read + Seek>(&self, reader: R, len: u64, name: Option<&str>) -> Result<Identification> {
        let label = || Path::new(name.unwrap_or("(stream)")).to_owned();
        let mut reader = reader;
        if len == 0 {
            return Err(Error::EmptyFile { path: label() });
        }
        let w = read_windows(&mut reader, len, &self.limits).map_err(|source| Error::Io { path: label(), source })?;
        if w.len == 0 {
            return Err(Error::EmptyFile { path: label() });
        }
        let windows_read = (w.bof.len() + w.eof.len()) as u64;
        let view = View::windows(w.len, &w.bof, &w.eof);
        let counter = Rc::new(Cell::new(0u64));
        let limit = self.limits.container_read;
        let whole = w.eof.is_empty();
        let mut id = self.decide(&view, name, |kind| {
            if whole {
                // The file is in memory already: read the container from there.
                self.containers.identify(kind, Cursor::new(&w.bof[..]), &self.limits)
            } else {
                let metered = Metered::new(&mut reader, counter.clone(), limit);
                self.containers.identify(kind, metered, &self.limits)
            }
        });
        id.bytes_read = windows_read + counter.get();
        Ok(id)
    }

    /// Identifies bytes in memory; `name` (a file name) gives the extension.
    pub fn identify_bytes(&self, data: &[u8], name: Option<&str>) -> Result<Identification> {
        self.identify_reader(Cursor::new(data), data.len() as u64, name)
    }

    /// The decision for one file, given its view and a way to look inside it as a container.
    fn decide(
        &self,
        view: &View<'_>,
        name: Option<&str>,
        mut open: impl FnMut(ContainerKind) -> std::result::Result<Found, String>,
    ) -> Identification {
        let ext = name.and_then(extension_of);
        let mut warnings = Vec::new();
        let mut tried: Vec<ContainerKind> = Vec::new();
        let mut settled: Option<Vec<Candidate>> = None;
        // Container triggers (ZIP, OLE2) are checked in place: when the container identifies the
        // file, the byte signatures that need searching do not matter and are not searched.
        let outcome = self.matcher.run_staged(view, &mut |complete| {
            let formats = complete.iter().flat_map(|&si| self.sig_formats[si].iter().copied());
            for kind in self.trigger_kinds(formats) {
                tried.push(kind);
                if let Some(found) = self.look_inside(kind, view, &mut open, &mut warnings) {
                    settled = Some(found);
                    return true;
                }
            }
            false
        });
        if let Some(candidates) = settled {
            return rank::choose(self, candidates, ext.as_deref(), false, warnings);
        }
        if !outcome.exhausted.is_empty() {
            let ids: Vec<String> = outcome.exhausted.iter().map(u32::to_string).collect();
            warnings.push(format!(
                "the search for byte signature(s) {} was cut short by the work limit; they count as not matched",
                ids.join(", ")
            ));
        }
        let mut candidates: Vec<Candidate> = Vec::new();
        for m in &outcome.matches {
            let sig = &self.matcher.signatures()[m.index];
            for &f in &self.sig_formats[m.index] {
                candidates.push(Candidate {
                    format: f,
                    method: Method::Byte,
                    specificity: sig.specificity(),
                    evidence: rank::byte_evidence(sig.id, &m.spans),
                });
            }
        }
        let kinds = self.trigger_kinds(candidates.iter().map(|c| c.format));
        for kind in kinds.into_iter().filter(|k| !tried.contains(k)) {
            if let Some(found) = self.look_inside(kind, view, &mut open, &mut warnings) {
                candidates = found;
                break;
            }
        }
        let text = candidates.is_empty() && self.looks_like_text(view);
        rank::choose(self, candidates, ext.as_deref(), text, warnings)
    }

    /// The container kinds that matched formats call for, in a fixed order.
    fn trigger_kinds(&self, formats: impl Iterator<Item = usize>) -> Vec<ContainerKind> {
        let formats: Vec<usize> = formats.collect();
        let mut kinds: Vec<ContainerKind> = self
            .triggers
            .iter()
            .filter(|(_, f)| formats.contains(f))
            .map(|(k, _)| *k)
            .collect();
        kinds.sort();
        kinds.dedup();
        kinds
    }

    /// Opens the file as a container of `kind`: the matching container formats, or `None` (with
    /// a warning when the container could not be read).
    fn look_inside(
        &self,
        kind: ContainerKind,
        view: &View<'_>,
        open: &mut impl FnMut(ContainerKind) -> std::result::Result<Found, String>,
        warnings: &mut Vec<String>,
    ) -> Option<Vec<Candidate>> {
        if kind == ContainerKind::Zip && rank::lacks_zip_directory(view) {
            warnings.push(
                "ZIP container unreadable: no end-of-central-directory record at the end of the file \
                 (truncated?); identified by byte signature only"
                    .into(),
            );
            return None;
        }
        match open(kind) {
            Ok(found) => {
                warnings.extend(found.warnings);
                if found.matched.is_empty() {
                    return None;
                }
                let candidates = found
                    .matched
                    .iter()
                    .flat_map(|&si| self.container_formats[si].iter().map(move |&f| (si, f)))
                    .map(|(si, f)| {
                        let sig = &self.containers.sigs[si];
                        Candidate {
                            format: f,
                            method: Method::Container,
                            specificity: self.containers.specificity(si),
                            evidence: format!("container signature {} ({}, {kind})", sig.id, sig.description),
                        }
                    })
                    .collect();
                Some(candidates)
            }
            Err(why) => {
                warnings.push(format!(
                    "{kind} container unreadable: {why}; identified by byte signature only"
                ));
                None
            }
        }
    }

    /// Whether the beginning of the file reads as text (see [`crate::text::is_text`]).
    fn looks_like_text(&self, view: &View<'_>) -> bool {
        view.segments().first().is_some_and(|s| {
            let n = s.data.len().min(TEXT_WINDOW);
            crate::text::is_text(&s.data[..n], (n as u64) < view.len())
        })
    }
}

/// The extension of a file name, lower case, without the dot.
pub(crate) fn extension_of(name: &str) -> Option<String> {
    let name = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let (stem, ext) = name.rsplit_once('.')?;
    (!stem.is_empty() && !ext.is_empty()).then(|| ext.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions() {
        assert_eq!(extension_of("a.TIF").as_deref(), Some("tif"));
        assert_eq!(extension_of("x.tar.gz").as_deref(), Some("gz"));
        assert_eq!(extension_of(".bashrc"), None);
        assert_eq!(extension_of("noext"), None);
        assert_eq!(extension_of("dir.d/file"), None);
    }
}
