//! Verifying a SIP's binary objects: each is extracted to the work directory while its digest
//! is computed, then its size, format and the agreement's format policy are checked. The objects
//! are split among a few threads, each reading the SIP through its own handle, so hashing keeps
//! every core busy; reasons come out in manifest order whatever the split.

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use archipel_pronom::{Agreement as FormatAgreement, Identifier};
use archipel_seda::digest::{digests_match, DigestAlgorithm, MultiHasher};
use archipel_seda::manifest::{ArchiveTransfer, BinaryDataObject};
use archipel_seda::sip::{Sip, SipLimits};

use super::checks::{reason, Reasons};
use crate::model::{Agreement, Severity};

/// Threads that verify objects at once, at most.
const MAX_WORKERS: usize = 4;

/// What the blocking part found about each binary object.
pub(super) struct VerifiedObject {
    pub sip_id: String,
    pub path: PathBuf,
    pub size: u64,
    pub sha512: String,
    pub blake3: String,
    pub puid: Option<String>,
    pub format_name: Option<String>,
    pub mime: Option<String>,
}

fn allowed(puid: Option<&str>, agreement: &[String], profile: &[String]) -> bool {
    let ok = |list: &[String]| list.is_empty() || puid.is_some_and(|p| list.iter().any(|x| x == p));
    ok(agreement) && ok(profile)
}

/// What decides whether a format is acceptable.
#[derive(Clone, Copy)]
struct Policy<'a> {
    identifier: Option<&'a Identifier>,
    agreement: Option<&'a Agreement>,
    profile_formats: &'a [String],
}

/// What one thread found over its objects.
struct Partial {
    out: Vec<(String, VerifiedObject)>,
    errors: Reasons,
    warnings: Reasons,
    referenced: HashSet<String>,
}

/// Verifies every binary object of `m`. `sip` serves the first share; the other threads open
/// the SIP again from `reopen` (its path and limits).
#[allow(clippy::too_many_arguments)]
pub(super) fn verify_objects(
    mut sip: Sip,
    reopen: &(PathBuf, SipLimits),
    m: &ArchiveTransfer,
    entries: &[String],
    work: &Path,
    identifier: Option<&Identifier>,
    agreement: Option<&Agreement>,
    profile_formats: &[String],
) -> Result<(HashMap<String, VerifiedObject>, Reasons), Reasons> {
    let policy = Policy {
        identifier,
        agreement,
        profile_formats,
    };
    let objects: Vec<(usize, &BinaryDataObject)> = m.binary_objects().into_iter().map(|(o, _)| o).enumerate().collect();
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, MAX_WORKERS)
        .min(objects.len().max(1));
    let share = objects.len().div_ceil(workers).max(1);
    let mut shares = objects.chunks(share);
    let first = shares.next().unwrap_or(&[]);
    let partials: Vec<Partial> = std::thread::scope(|scope| {
        let others: Vec<_> = shares
            .map(|objects| {
                let policy = &policy;
                scope.spawn(move || {
                    let mut sip = Sip::open(&reopen.0, &reopen.1)
                        .map_err(|e| vec![reason("unzip", None, format!("cannot read the SIP again: {e}"))])?;
                    Ok::<_, Reasons>(verify_range(&mut sip, objects, work, policy))
                })
            })
            .collect();
        let mut all = vec![Ok(verify_range(&mut sip, first, work, &policy))];
        for handle in others {
            all.push(handle.join().unwrap_or_else(|_| {
                Err(vec![reason(
                    "objects",
                    None,
                    "internal error: a verifying thread stopped",
                )])
            }));
        }
        all.into_iter().collect::<Result<Vec<_>, Reasons>>()
    })?;
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let mut out = HashMap::new();
    let mut referenced = HashSet::new();
    for p in partials {
        errors.extend(p.errors);
        warnings.extend(p.warnings);
        out.extend(p.out);
        referenced.extend(p.referenced);
    }
    for e in entries {
        if !referenced.contains(e) {
            errors.push(reason(
                "objects",
                Some(format!("entry {e}")),
                format!("the SIP holds `{e}` but no BinaryDataObject references it: reference it or remove it"),
            ));
        }
    }
    if errors.is_empty() {
        Ok((out, warnings))
    } else {
        Err(errors)
    }
}

/// Extracts `objects` (with their index among the manifest's binary objects) to `work`, checking
/// each digest and size, and identifies each.
fn verify_range(sip: &mut Sip, objects: &[(usize, &BinaryDataObject)], work: &Path, policy: &Policy<'_>) -> Partial {
    let Policy {
        identifier,
        agreement,
        profile_formats,
    } = *policy;
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let mut out = Vec::new();
    let mut referenced = HashSet::new();
    for &(n, o) in objects {
        let subject = Some(format!("BinaryDataObject {}", o.id));
        let Some(declared) = o.message_digest.as_ref() else {
            continue;
        };
        let algorithm = match declared.algorithm.as_deref().map(DigestAlgorithm::parse) {
            Some(Ok(alg)) => alg,
            Some(Err(e)) => {
                errors.push(reason("digest", subject, e.to_string()));
                continue;
            }
            None => {
                errors.push(reason("digest", subject, "MessageDigest has no algorithm attribute"));
                continue;
            }
        };
        let path = work.join(format!("{n:06}"));
        let written = match (&o.uri, &o.attachment) {
            (Some(uri), _) => match sip.lookup(uri) {
                Ok(entry) => {
                    referenced.insert(entry.name().to_owned());
                    match sip.entry(uri) {
                        Ok(mut r) => copy_hashing(&mut r, &path, algorithm),
                        Err(e) => Err(e.to_string()),
                    }
                }
                Err(e) => Err(e.to_string()),
            },
            (None, Some(att)) => match archipel_seda::digest::decode_base64(&att.base64) {
                Some(bytes) => copy_hashing(&mut bytes.as_slice(), &path, algorithm),
                None => Err("its Attachment is not valid base64".into()),
            },
            (None, None) => Err("it has neither Uri nor Attachment".into()),
        };
        let Copied {
            size,
            declared_hex,
            sha512,
            blake3,
        } = match written {
            Ok(v) => v,
            Err(e) => {
                errors.push(reason("objects", subject, e));
                continue;
            }
        };
        if !digests_match(&declared.value, &declared_hex) {
            errors.push(reason(
                "digest",
                subject.clone(),
                format!(
                    "{algorithm} of the content is {declared_hex}, the manifest declares {}: the file was altered or the manifest is wrong",
                    declared.value.trim()
                ),
            ));
        }
        if algorithm.is_weak() {
            warnings.push(reason(
                "digest",
                subject.clone(),
                format!("{algorithm} is weak; prefer SHA-512"),
            ));
        }
        if let Some(expected) = o.size_bytes() {
            if expected != size {
                errors.push(reason(
                    "size",
                    subject.clone(),
                    format!("the content has {size} bytes, the manifest declares {expected}"),
                ));
            }
        }
        let declared_puid = o.format.as_ref().and_then(|f| f.format_id.clone());
        let name = o
            .file_info
            .as_ref()
            .and_then(|f| f.filename.clone())
            .or_else(|| o.uri.clone());
        let (puid, format_name, mime) = match identifier {
            Some(id) => match id.identify_path(&path) {
                Ok(ident) => {
                    let policy = agreement.map(|a| (a.format_mismatch, a.unidentified_format));
                    let (mismatch, unidentified) = policy.unwrap_or((Severity::Warn, Severity::Warn));
                    if let Some(d) = &declared_puid {
                        if ident.compare_declared(d) == FormatAgreement::Different {
                            let msg = format!(
                                "declared as {d}, identified as {} ({})",
                                ident.puid.as_deref().unwrap_or("unknown"),
                                ident.basis
                            );
                            let r = reason("format", subject.clone(), msg);
                            if mismatch == Severity::Reject {
                                errors.push(r)
                            } else {
                                warnings.push(r)
                            }
                        }
                    }
                    if ident.puid.is_none() {
                        let r = reason(
                            "format",
                            subject.clone(),
                            format!(
                                "the format of {} could not be identified",
                                name.as_deref().unwrap_or(&o.id)
                            ),
                        );
                        if unidentified == Severity::Reject {
                            errors.push(r)
                        } else {
                            warnings.push(r)
                        }
                    }
                    (ident.puid, ident.format, ident.mime)
                }
                Err(e) => {
                    warnings.push(reason("format", subject.clone(), format!("identification failed: {e}")));
                    (None, None, None)
                }
            },
            None => (
                declared_puid.clone(),
                o.format.as_ref().and_then(|f| f.format_litteral.clone()),
                o.format.as_ref().and_then(|f| f.mime_type.clone()),
            ),
        };
        let agreement_formats = agreement.map(|a| a.allowed_formats.as_slice()).unwrap_or(&[]);
        if !allowed(puid.as_deref(), agreement_formats, profile_formats) {
            let r = reason(
                "format",
                subject,
                format!(
                    "format {} is not allowed by the agreement and profile",
                    puid.as_deref().unwrap_or("(unidentified)")
                ),
            );
            match agreement.map_or(Severity::Reject, |a| a.disallowed_format) {
                Severity::Reject => errors.push(r),
                Severity::Warn => warnings.push(r),
            }
        }
        out.push((
            o.id.clone(),
            VerifiedObject {
                sip_id: o.id.clone(),
                path,
                size,
                sha512,
                blake3,
                puid,
                format_name,
                mime,
            },
        ));
    }
    Partial {
        out,
        errors,
        warnings,
        referenced,
    }
}

/// What [`copy_hashing`] wrote: the size and the digests.
struct Copied {
    size: u64,
    /// In the algorithm the manifest declares.
    declared_hex: String,
    sha512: String,
    blake3: String,
}

/// Copies `r` to `path`, hashing it in the declared algorithm, SHA-512 and BLAKE3.
fn copy_hashing(r: &mut dyn Read, path: &Path, alg: DigestAlgorithm) -> Result<Copied, String> {
    let mut file = std::fs::File::create(path).map_err(|e| format!("cannot write a work file: {e}"))?;
    let mut hasher = MultiHasher::new(&[alg, DigestAlgorithm::Sha512]);
    let mut blake3 = blake3::Hasher::new();
    let mut buf = vec![0u8; 256 << 10];
    let mut size = 0u64;
    loop {
        let n = r.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        blake3.update(&buf[..n]);
        file.write_all(&buf[..n])
            .map_err(|e| format!("cannot write a work file: {e}"))?;
        size += n as u64;
    }
    let digests = hasher.finish();
    let get = |a: DigestAlgorithm| {
        digests
            .iter()
            .find(|(x, _)| *x == a)
            .map(|(_, h)| h.clone())
            .unwrap_or_default()
    };
    Ok(Copied {
        size,
        declared_hex: get(alg),
        sha512: get(DigestAlgorithm::Sha512),
        blake3: blake3.finalize().to_hex().to_string(),
    })
}
