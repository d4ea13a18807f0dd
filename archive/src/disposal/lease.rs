//! One disposal operation at a time per tenant: modifications and eliminations rewrite AIP
//! descriptors (read, change, write back), which the object store cannot make conditional, so
//! they take a lease in the cluster first. A front that dies holding it leaves a lease that
//! expires; the next operation takes it over by compare-and-swap on its revision.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{ArchiveError, Result};
use crate::store::{Expect, Store, Write};

const TTL: Duration = Duration::minutes(30);

fn key(tenant: &str) -> String {
    format!("t/{tenant}/disposal-lease")
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Record {
    operation: String,
    actor: String,
    expires_at: DateTime<Utc>,
}

pub struct Lease {
    store: Store,
    key: String,
    revision: u64,
}

impl Lease {
    /// Takes the tenant's lease for `operation`, or says who holds it.
    pub async fn take(store: &Store, tenant: &str, operation: &str, actor: &str) -> Result<Lease> {
        let key = key(tenant);
        let record = Record {
            operation: operation.into(),
            actor: actor.into(),
            expires_at: Utc::now() + TTL,
        };
        let current = store.get::<Record>(&key).await?;
        let expect = match &current {
            None => Expect::Absent(key.clone()),
            Some(c) if c.value.expires_at < Utc::now() => Expect::Revision(key.clone(), c.revision),
            Some(c) => {
                return Err(ArchiveError::Conflict(format!(
                    "operation {} by {} is already changing this tenant's units (until {} at the latest): retry when it is done",
                    c.value.operation, c.value.actor, c.value.expires_at
                )))
            }
        };
        if !store
            .atomically(&[expect], vec![Write::put(key.clone(), &record)?])
            .await?
        {
            return Err(ArchiveError::Conflict(
                "another operation took this tenant's disposal lease just now: retry".into(),
            ));
        }
        let revision = store
            .get::<Record>(&key)
            .await?
            .filter(|v| v.value.operation == operation)
            .map(|v| v.revision)
            .ok_or_else(|| ArchiveError::Conflict("the disposal lease was taken over: retry".into()))?;
        Ok(Lease {
            store: store.clone(),
            key,
            revision,
        })
    }

    /// Gives the lease back (only if it is still ours).
    pub async fn release(self) {
        let expect = [Expect::Revision(self.key.clone(), self.revision)];
        if let Err(e) = self
            .store
            .atomically(&expect, vec![Write::Delete(self.key.clone())])
            .await
        {
            tracing::warn!("releasing {} failed ({e}); it expires by itself", self.key);
        }
    }
}
