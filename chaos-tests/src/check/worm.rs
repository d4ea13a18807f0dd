//! Invariant `worm-retention`: no delete of an object under a COMPLIANCE retention is ever
//! acknowledged, whatever clock jumped, and every such object reads back whole after healing.

use std::time::Duration;

use archipel_client::{Client, ClientError};

use super::Violation;
use crate::workload::worm::{WormHistory, WORM_NAMESPACE};

pub const NAME: &str = "worm-retention";

pub async fn check(client: &Client, h: &WormHistory) -> Vec<Violation> {
    let mut out: Vec<Violation> = h
        .deletes_applied
        .iter()
        .map(|d| Violation::new(NAME, format!("a delete of a locked object was applied: {d}")))
        .collect();
    if h.locked.is_empty() {
        out.push(Violation::new(
            NAME,
            format!(
                "no locked object was acknowledged, nothing was tested: {}",
                h.setup_errors.join("; ")
            ),
        ));
    }
    for (key, blake3, size) in &h.locked {
        let mut last = String::new();
        let mut ok = false;
        for _ in 0..5 {
            let mut sink = tokio::io::sink();
            match client.get_object(WORM_NAMESPACE, key, 0, None, &mut sink, None).await {
                Ok(info) if info.blake3.as_slice() == blake3 && info.size == *size => {
                    ok = true;
                    break;
                }
                Ok(info) => {
                    last = format!("reads back {} bytes with another BLAKE3", info.size);
                    break;
                }
                Err(ClientError::NotFound(_)) => {
                    last = "is gone".into();
                    break;
                }
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        if !ok {
            out.push(Violation::new(NAME, format!("locked object {key} {last}")));
        }
    }
    out
}
