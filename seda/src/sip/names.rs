//! Entry names: what a safe name looks like, and when two names would land on the same file.

use std::collections::{HashMap, HashSet};

use unicode_normalization::UnicodeNormalization;

use super::error::{NameProblem, SipError};

/// Checks a `/`-separated relative path; a trailing `/` (a directory entry) is allowed.
pub(crate) fn check(name: &str, max_len: usize, max_depth: usize) -> Result<(), NameProblem> {
    if name.is_empty() {
        return Err(NameProblem::Empty);
    }
    if name.len() > max_len {
        return Err(NameProblem::TooLong {
            len: name.len(),
            max: max_len,
        });
    }
    if name.chars().any(char::is_control) {
        return Err(NameProblem::ControlChar);
    }
    if name.contains('\\') {
        return Err(NameProblem::Backslash);
    }
    if name.starts_with('/') {
        return Err(NameProblem::Absolute);
    }
    let b = name.as_bytes();
    if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' {
        return Err(NameProblem::DriveLetter);
    }
    let path = name.strip_suffix('/').unwrap_or(name);
    let mut depth = 0;
    for part in path.split('/') {
        match part {
            ".." => return Err(NameProblem::ParentDir),
            "." => return Err(NameProblem::DotComponent),
            "" => return Err(NameProblem::EmptyComponent),
            _ => depth += 1,
        }
    }
    if depth > max_depth {
        return Err(NameProblem::TooDeep { depth, max: max_depth });
    }
    Ok(())
}

/// The form under which two names are "the same file" on a case-insensitive or normalising file
/// system (Windows, macOS): NFC, then lower case, without a directory's trailing `/`.
pub(crate) fn fold(name: &str) -> String {
    let path = name.strip_suffix('/').unwrap_or(name);
    path.nfc().collect::<String>().to_lowercase()
}

/// Rejects two entries that would collide once extracted: the same name twice, two files whose
/// folded names match, or a file where another entry needs a directory (`a` and `a/b`).
/// Directories that differ only by case merge harmlessly and are let through.
pub(crate) fn check_collisions<'a>(names: impl Iterator<Item = &'a str>) -> Result<(), SipError> {
    let mut exact: HashSet<&str> = HashSet::new();
    let mut files: HashMap<String, &str> = HashMap::new();
    let mut file_order: Vec<String> = Vec::new();
    let mut dirs: HashMap<String, &str> = HashMap::new();
    for name in names {
        if !exact.insert(name) {
            return Err(SipError::Duplicate { name: name.to_owned() });
        }
        let key = fold(name);
        // Every parent of an entry is a directory, whether or not the zip lists it.
        let mut at = 0;
        while let Some(slash) = key[at..].find('/') {
            dirs.entry(key[..at + slash].to_owned()).or_insert(name);
            at += slash + 1;
        }
        if name.ends_with('/') {
            dirs.entry(key).or_insert(name);
        } else if let Some(first) = files.insert(key.clone(), name) {
            return Err(SipError::Collision {
                first: first.to_owned(),
                second: name.to_owned(),
            });
        } else {
            file_order.push(key);
        }
    }
    for key in &file_order {
        if let (Some(file), Some(dir)) = (files.get(key), dirs.get(key)) {
            return Err(SipError::Collision {
                first: (*file).to_owned(),
                second: (*dir).to_owned(),
            });
        }
    }
    Ok(())
}
