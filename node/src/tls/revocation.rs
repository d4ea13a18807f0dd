//! The deny-list of revoked certificate serials. It lives in the Raft keyspace (`sys.revoked`,
//! key = serial in lowercase hex), so a revocation reaches every node with the log, and each
//! node reads its applied state on every handshake and request: no polling delay.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};

use crate::store::StateView;

pub use crate::sys_keys::NS_REVOKED;

/// What is stored for a revoked serial.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Revocation {
    pub reason: String,
    pub revoked_at_ms: u64,
    /// Who asked (the operator certificate's subject), for the record.
    pub by: String,
}

#[derive(Clone, Default)]
pub struct DenyList {
    state: Option<Arc<StateView>>,
    /// Serials denied without Raft: tests, and tools that run before a cluster exists.
    fixed: Arc<RwLock<HashSet<String>>>,
}

impl DenyList {
    pub fn from_state(state: Arc<StateView>) -> DenyList {
        DenyList {
            state: Some(state),
            fixed: Default::default(),
        }
    }

    pub fn deny(&self, serial: &str) {
        self.fixed
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(serial.to_owned());
    }

    /// True if `serial` is revoked. A store read error counts as revoked: fail closed.
    pub fn is_revoked(&self, serial: &str) -> bool {
        if self.fixed.read().unwrap_or_else(|p| p.into_inner()).contains(serial) {
            return true;
        }
        match &self.state {
            Some(state) => match state.get(NS_REVOKED, serial.as_bytes()) {
                Ok(found) => found.is_some(),
                Err(e) => {
                    tracing::error!(serial, "cannot read the deny-list, refusing the certificate: {e}");
                    true
                }
            },
            None => false,
        }
    }
}
