//! Accuracy over a skeleton suite: one file per signature, named after the format it must be
//! identified as (`fmt-123-signature-id-456.ext` → `fmt/123`).

use std::fmt;
use std::path::{Path, PathBuf};

use crate::identifier::Identifier;
use crate::result::Identification;

/// The PUID a skeleton file's name gives: `x-fmt-412-signature-id-199.jar` → `x-fmt/412`,
/// `fmt-1084-container-signature-id-33000.hwp` → `fmt/1084`.
pub fn expected_puid(file_name: &str) -> Option<String> {
    let (prefix, rest) = if let Some(r) = file_name.strip_prefix("x-fmt-") {
        ("x-fmt", r)
    } else {
        ("fmt", file_name.strip_prefix("fmt-")?)
    };
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    (!digits.is_empty()).then(|| format!("{prefix}/{digits}"))
}

/// A file identified as something else than its name says.
#[derive(Debug, Clone)]
pub struct Miss {
    pub file: String,
    pub expected: String,
    pub got: Option<String>,
    pub reason: String,
}

/// One folder of the suite (`fmt`, `x-fmt`, `containers`).
#[derive(Debug, Clone)]
pub struct Category {
    pub name: String,
    pub total: usize,
    pub matched: usize,
    pub misses: Vec<Miss>,
    /// Files that gave an error instead of an identification.
    pub errors: Vec<(String, String)>,
}

impl Category {
    pub fn accuracy(&self) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        100.0 * self.matched as f64 / self.total as f64
    }
}

#[derive(Debug, Clone)]
pub struct SuiteReport {
    pub categories: Vec<Category>,
}

impl SuiteReport {
    pub fn category(&self, name: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.name == name)
    }

    pub fn errors(&self) -> usize {
        self.categories.iter().map(|c| c.errors.len()).sum()
    }
}

/// Identifies every file of each sub-folder of `dir` and compares with the names.
pub fn run(id: &Identifier, dir: &Path) -> std::io::Result<SuiteReport> {
    let mut folders: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    folders.sort();
    let mut categories = Vec::new();
    for folder in folders {
        let name = folder
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let results = id.identify_all(std::slice::from_ref(&folder));
        let mut cat = Category {
            name,
            total: 0,
            matched: 0,
            misses: Vec::new(),
            errors: Vec::new(),
        };
        for r in results {
            let file = r
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let Some(expected) = expected_puid(&file) else { continue };
            cat.total += 1;
            match r.result {
                Ok(found) if found.puid.as_deref() == Some(expected.as_str()) => cat.matched += 1,
                Ok(found) => cat.misses.push(Miss {
                    reason: reason(&found, &expected),
                    file,
                    expected,
                    got: found.puid,
                }),
                Err(e) => cat.errors.push((file, e.to_string())),
            }
        }
        categories.push(cat);
    }
    Ok(SuiteReport { categories })
}

/// Why a file was not identified as expected, from what identification reported.
fn reason(found: &Identification, expected: &str) -> String {
    let mut why = if found.candidates.iter().any(|c| c == expected) {
        format!(
            "{expected} matched too but ranked lower ({}: {})",
            found.basis, found.detail
        )
    } else if found.puid.is_some() {
        format!("{expected} did not match; {} ({})", found.basis, found.detail)
    } else {
        format!("nothing matched ({})", found.detail)
    };
    if !found.warnings.is_empty() {
        why.push_str(&format!("; warnings: {}", found.warnings.join(" | ")));
    }
    why
}

impl fmt::Display for SuiteReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in &self.categories {
            writeln!(
                f,
                "{:<12} {:>5}/{:<5} {:>6.2} %  ({} misses, {} errors)",
                c.name,
                c.matched,
                c.total,
                c.accuracy(),
                c.misses.len(),
                c.errors.len()
            )?;
        }
        for c in &self.categories {
            for m in &c.misses {
                writeln!(
                    f,
                    "MISS {}/{}: expected {}, got {}: {}",
                    c.name,
                    m.file,
                    m.expected,
                    m.got.as_deref().unwrap_or("nothing"),
                    m.reason
                )?;
            }
            for (file, e) in &c.errors {
                writeln!(f, "ERROR {}/{file}: {e}", c.name)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_give_puids() {
        assert_eq!(
            expected_puid("x-fmt-412-signature-id-199.jar").as_deref(),
            Some("x-fmt/412")
        );
        assert_eq!(
            expected_puid("fmt-1084-container-signature-id-33000.hwp").as_deref(),
            Some("fmt/1084")
        );
        assert_eq!(expected_puid("README"), None);
    }
}
