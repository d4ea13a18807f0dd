//! Reads the cluster's final state once faults are healed: every key the workload touched,
//! the namespace listing, and the counters.

use std::collections::BTreeMap;
use std::time::Duration;

use archipel_client::proto::object::ObjectInfo;
use archipel_client::{Client, ClientError, Consistency};

use crate::history::{ObjectHistory, State, Step};
use crate::workload::{counter_key, COUNTERS, META_NAMESPACE, NAMESPACE};

const ATTEMPTS: usize = 5;
const PAGES: usize = 100;

#[derive(Debug, Clone)]
pub enum FinalRead {
    /// A full read whose bytes matched the object's BLAKE3 (checked by the client).
    Read(State),
    Error(String),
}

#[derive(Debug, Default)]
pub struct FinalState {
    pub reads: BTreeMap<String, FinalRead>,
    pub listed: Vec<ObjectInfo>,
    pub counters: BTreeMap<String, Option<Step>>,
    /// Reads of the final state that failed for good (the cluster is healed by then).
    pub errors: Vec<String>,
}

async fn read_key(client: &Client, key: &str) -> FinalRead {
    let mut last = String::new();
    for _ in 0..ATTEMPTS {
        let mut sink = tokio::io::sink();
        match client.get_object(NAMESPACE, key, 0, None, &mut sink, None).await {
            Ok(info) => {
                return match info.blake3.as_slice().try_into() {
                    Ok(blake3) => FinalRead::Read(State::Present {
                        blake3,
                        size: info.size,
                    }),
                    Err(_) => FinalRead::Error("the object info has no 32-byte BLAKE3".into()),
                }
            }
            Err(ClientError::NotFound(_)) => return FinalRead::Read(State::Absent),
            Err(e) if e.is_transient() => last = e.to_string(),
            Err(e) => return FinalRead::Error(e.to_string()),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    FinalRead::Error(last)
}

pub async fn read(client: &Client, objects: &ObjectHistory) -> FinalState {
    let mut state = FinalState::default();
    for key in objects.keys.keys() {
        state.reads.insert(key.clone(), read_key(client, key).await);
    }
    let mut after = String::new();
    for _ in 0..PAGES {
        match client.list_objects(NAMESPACE, "", &after, 1000).await {
            Ok((page, more)) => {
                if let Some(last) = page.last() {
                    after = last.key.clone();
                }
                state.listed.extend(page);
                if !more {
                    break;
                }
            }
            Err(e) => {
                state.errors.push(format!("listing {NAMESPACE} failed: {e}"));
                break;
            }
        }
    }
    for c in 0..COUNTERS {
        let key = counter_key(c);
        match client
            .meta_get(META_NAMESPACE, key.as_bytes(), Consistency::Linearizable)
            .await
        {
            Ok(entry) => {
                state.counters.insert(key, entry.and_then(|e| Step::decode(&e.value)));
            }
            Err(e) => state.errors.push(format!("reading counter {key} failed: {e}")),
        }
    }
    state
}
