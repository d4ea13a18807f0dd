//! Where the manifest is, and so which directory is the package root.

use super::error::SipError;

const MANIFEST: &str = "manifest.xml";

/// Where the manifest was found.
pub(crate) struct Layout {
    /// Index, in the given names, of the manifest entry.
    pub manifest: usize,
    /// `""`, or `"dir/"` when the whole package sits in one top-level directory.
    pub root: String,
}

fn is_manifest(name: &str) -> bool {
    name.eq_ignore_ascii_case(MANIFEST)
}

/// `manifest.xml` (any case) at the root; failing that, inside a single top-level directory that
/// holds every entry, as some packaging tools produce.
pub(crate) fn locate(names: &[&str]) -> Result<Layout, SipError> {
    // Collisions were rejected already, so at most one root manifest exists.
    if let Some(i) = names.iter().position(|n| is_manifest(n)) {
        return Ok(Layout {
            manifest: i,
            root: String::new(),
        });
    }
    let nested: Vec<usize> = (0..names.len())
        .filter(|&i| {
            let n = names[i];
            n.rsplit_once('/').is_some_and(|(_, last)| is_manifest(last))
        })
        .collect();
    let tops: std::collections::BTreeSet<String> = names
        .iter()
        .map(|n| match n.split_once('/') {
            Some((top, _)) => format!("{}/", top.to_lowercase()),
            None => n.to_lowercase(),
        })
        .collect();
    let second_level: Vec<usize> = nested
        .iter()
        .copied()
        .filter(|&i| names[i].matches('/').count() == 1)
        .collect();
    match (second_level.as_slice(), tops.len()) {
        ([i], 1) => {
            let root = names[*i].len() - MANIFEST.len();
            Ok(Layout {
                manifest: *i,
                root: names[*i][..root].to_owned(),
            })
        }
        ([_, _, ..], _) => Err(SipError::ManifestAmbiguous {
            candidates: second_level.iter().map(|&i| format!("`{}`", names[i])).collect(),
        }),
        _ => {
            let hint = match nested.first() {
                Some(&i) => format!(
                    " (found `{}`, but it is not at the root nor in a single top-level directory holding everything)",
                    names[i]
                ),
                None => String::new(),
            };
            Err(SipError::ManifestMissing { hint })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_root_and_single_directory_manifests() {
        let l = locate(&["content/a.txt", "Manifest.XML"]).unwrap();
        assert_eq!((l.manifest, l.root.as_str()), (1, ""));
        let l = locate(&["pkg/", "pkg/manifest.xml", "pkg/content/a"]).unwrap();
        assert_eq!((l.manifest, l.root.as_str()), (1, "pkg/"));
    }

    #[test]
    fn reports_missing_and_ambiguous() {
        assert!(matches!(locate(&["a/manifest.xml", "b/manifest.xml"]),
            Err(SipError::ManifestAmbiguous { candidates }) if candidates.len() == 2));
        assert!(matches!(locate(&["pkg/manifest.xml", "other.txt"]),
            Err(SipError::ManifestMissing { hint }) if hint.contains("pkg/manifest.xml")));
        assert!(matches!(locate(&["content/a"]), Err(SipError::ManifestMissing { hint }) if hint.is_empty()));
        // A directory entry named like the manifest is not one.
        assert!(locate(&["manifest.xml/", "manifest.xml/x"]).is_err());
    }
}
