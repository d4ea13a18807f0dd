//! Invariant: once every fault is healed, the cluster lists no lost object. The faults stay
//! within what the profiles survive, so an object the repairer gave up on (`sys.lost`, shown by
//! `archipel status`) is a loss even before a read finds it.

use archipel_client::Client;

use super::Violation;

pub const NAME: &str = "no-lost-object";

pub async fn check(client: &Client) -> Vec<Violation> {
    match client.status(1000).await {
        Ok(s) if s.lost.is_empty() && s.objects_lost == 0 => Vec::new(),
        Ok(s) => {
            let named: Vec<String> = s
                .lost
                .iter()
                .take(5)
                .map(|l| format!("{}/{} ({})", l.namespace, l.key, l.reason))
                .collect();
            vec![Violation::new(
                NAME,
                format!(
                    "{} object(s) counted lost, {} listed: {}",
                    s.objects_lost,
                    s.lost.len(),
                    named.join("; ")
                ),
            )]
        }
        Err(e) => vec![Violation::new(NAME, format!("status unreadable: {e}"))],
    }
}
