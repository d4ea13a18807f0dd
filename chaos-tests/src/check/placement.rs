//! Invariant: once redundancy is back, no site holds more than m−1 shards of an object, the
//! bound under which losing a whole site plus one more node loses nothing
//! (docs/erasure-coding.md). Write-time placement keeps it and repair must not break it.

use std::collections::BTreeMap;

use archipel_client::Client;

use super::Violation;
use crate::workload::NAMESPACE;

pub const NAME: &str = "placement-site-bound";

/// "k+m" → m.
fn parity(storage: &str) -> Option<usize> {
    storage.split_once('+')?.1.trim().parse().ok()
}

/// The sites holding more than `m - 1` of these shards, with their counts.
pub fn over_bound<'a>(sites: impl IntoIterator<Item = &'a str>, m: usize) -> Vec<(String, usize)> {
    let mut per_site: BTreeMap<&str, usize> = BTreeMap::new();
    for s in sites {
        *per_site.entry(s).or_default() += 1;
    }
    per_site
        .into_iter()
        .filter(|(_, c)| *c + 1 > m)
        .map(|(s, c)| (s.to_owned(), c))
        .collect()
}

pub async fn check(client: &Client, sites: usize) -> Vec<Violation> {
    // With fewer than three sites no placement survives a site loss; nothing to hold.
    if sites < 3 {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut after = String::new();
    loop {
        let (page, more) = match client.list_objects(NAMESPACE, "", &after, 1000).await {
            Ok(p) => p,
            Err(e) => return vec![Violation::new(NAME, format!("listing failed: {e}"))],
        };
        for info in &page {
            let Some(m) = parity(&info.storage) else { continue };
            let stat = match client.stat_object(NAMESPACE, &info.key).await {
                Ok(s) => s,
                Err(archipel_client::ClientError::NotFound(_)) => continue,
                Err(e) => {
                    out.push(Violation::new(NAME, format!("{}: stat failed: {e}", info.key)));
                    continue;
                }
            };
            let over = over_bound(stat.shards.iter().map(|s| s.site.as_str()), m);
            if !over.is_empty() {
                out.push(Violation::new(
                    NAME,
                    format!(
                        "{} ({}): site(s) {over:?} hold more than m-1 = {} shards",
                        info.key,
                        info.storage,
                        m - 1
                    ),
                ));
            }
        }
        match page.last() {
            Some(last) if more => after = last.key.clone(),
            _ => return out,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_site_with_m_shards_breaks_the_bound() {
        assert!(over_bound(["a", "a", "b", "b", "c", "c"], 3).is_empty());
        assert_eq!(over_bound(["a", "a", "a", "b", "b", "c"], 3), vec![("a".to_owned(), 3)]);
        assert_eq!(parity("3+3"), Some(3));
        assert_eq!(parity("inline"), None);
    }
}
