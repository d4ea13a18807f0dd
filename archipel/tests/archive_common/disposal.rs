//! Helpers for the disposal tests: unit ids from an ATR, and a search for bytes over the nodes'
//! data directories. (`Front::start_with` starts a front with chosen tuning and flags.)

use std::path::Path;

/// Archipel's id of the unit the SIP calls `sip_id`, read from the ATR.
pub fn system_id(atr: &str, sip_id: &str) -> String {
    let at = atr
        .find(&format!("<ArchiveUnit id=\"{sip_id}\">"))
        .unwrap_or_else(|| panic!("unit {sip_id} not in the ATR:\n{atr}"));
    let rest = &atr[at..];
    let start = rest.find("<SystemId>").unwrap() + "<SystemId>".len();
    rest[start..start + rest[start..].find("</SystemId>").unwrap()].to_owned()
}

/// The files under `root` holding `needle`.
pub fn files_holding(root: &Path, needle: &[u8]) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for e in entries.flatten() {
            let path = e.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                if bytes.windows(needle.len()).any(|w| w == needle) {
                    found.push(path);
                }
            }
        }
    }
    found
}
