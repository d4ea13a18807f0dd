//! The replicated metadata keyspace.

use archipel_proto::meta::meta_client::MetaClient;
use archipel_proto::meta::{
    cas_request, txn_condition, CasRequest, Consistency as PbConsistency, DeleteRequest, Entry, GetManyReply,
    GetManyRequest, GetRequest, PutRequest, ScanRequest, TimeRequest, TxnCondition, TxnRequest, TxnWrite,
};

use crate::conn::Idempotence;
use crate::{Client, ClientError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consistency {
    /// Sees every write acknowledged before the read started.
    Linearizable,
    /// The contacted node's state: cheaper, possibly behind.
    Stale,
}

impl Consistency {
    fn pb(self) -> i32 {
        match self {
            Self::Linearizable => PbConsistency::Linearizable as i32,
            Self::Stale => PbConsistency::Stale as i32,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaEntry {
    pub namespace: String,
    pub key: Vec<u8>,
    pub value: Vec<u8>,
    pub revision: u64,
}

impl From<Entry> for MetaEntry {
    fn from(e: Entry) -> Self {
        Self {
            namespace: e.namespace,
            key: e.key,
            value: e.value,
            revision: e.revision,
        }
    }
}

#[derive(Debug, Clone)]
pub enum CasExpect {
    Absent,
    Value(Vec<u8>),
    Revision(u64),
}

/// One write of a transaction: `value` None deletes the key.
#[derive(Debug, Clone)]
pub struct TxnOp {
    pub namespace: String,
    pub key: Vec<u8>,
    pub value: Option<Vec<u8>>,
}

/// Outcome of a transaction.
#[derive(Debug, Clone)]
pub struct TxnOutcome {
    pub succeeded: bool,
    /// On failure, the index of the first condition that did not hold.
    pub failed_condition: Option<usize>,
    /// On success, the revision of every key written.
    pub revision: u64,
}

/// Outcome of a compare-and-swap.
#[derive(Debug, Clone)]
pub struct CasOutcome {
    pub succeeded: bool,
    /// After success, the new entry; after failure, what was there instead.
    pub current: Option<MetaEntry>,
}

impl Client {
    pub async fn meta_put(&self, ns: &str, key: &[u8], value: &[u8]) -> Result<u64, ClientError> {
        let req = PutRequest {
            namespace: ns.into(),
            key: key.into(),
            value: value.into(),
        };
        // Not sent again after an unknown outcome: applied late or twice, it could overwrite a
        // newer write made meanwhile. The caller gets `Indeterminate` and reads the key back.
        let reply = self
            .call(Idempotence::ServerSaysSafe, |ch| {
                let req = req.clone();
                async move { MetaClient::new(ch).put(req).await }
            })
            .await?;
        Ok(reply.revision)
    }

    /// Returns whether the key existed.
    pub async fn meta_delete(&self, ns: &str, key: &[u8]) -> Result<bool, ClientError> {
        let req = DeleteRequest {
            namespace: ns.into(),
            key: key.into(),
        };
        // At most once, like `meta_put`: a late second delete could remove a newer value.
        let reply = self
            .call(Idempotence::ServerSaysSafe, |ch| {
                let req = req.clone();
                async move { MetaClient::new(ch).delete(req).await }
            })
            .await?;
        Ok(reply.existed)
    }

    /// Sets `key` to `new_value` (None deletes it) only if `expect` holds.
    pub async fn meta_cas(
        &self,
        ns: &str,
        key: &[u8],
        expect: CasExpect,
        new_value: Option<&[u8]>,
    ) -> Result<CasOutcome, ClientError> {
        let req = CasRequest {
            namespace: ns.into(),
            key: key.into(),
            expect: Some(match expect {
                CasExpect::Absent => cas_request::Expect::Absent(true),
                CasExpect::Value(v) => cas_request::Expect::Value(v),
                CasExpect::Revision(r) => cas_request::Expect::Revision(r),
            }),
            new_value: new_value.map(<[u8]>::to_vec),
        };
        let reply = self
            .call(Idempotence::ServerSaysSafe, |ch| {
                let req = req.clone();
                async move { MetaClient::new(ch).cas(req).await }
            })
            .await?;
        Ok(CasOutcome {
            succeeded: reply.succeeded,
            current: reply.current.map(MetaEntry::from),
        })
    }

    /// Applies every write of `ops` atomically, only if every `(namespace, key, expect)` holds.
    /// Exactly-once: retried elsewhere only when the server says it did not apply.
    pub async fn meta_txn(
        &self,
        conditions: &[(&str, &[u8], CasExpect)],
        ops: Vec<TxnOp>,
    ) -> Result<TxnOutcome, ClientError> {
        let req = TxnRequest {
            conditions: conditions
                .iter()
                .map(|(ns, key, expect)| TxnCondition {
                    namespace: (*ns).into(),
                    key: key.to_vec(),
                    expect: Some(match expect {
                        CasExpect::Absent => txn_condition::Expect::Absent(true),
                        CasExpect::Value(v) => txn_condition::Expect::Value(v.clone()),
                        CasExpect::Revision(r) => txn_condition::Expect::Revision(*r),
                    }),
                })
                .collect(),
            writes: ops
                .into_iter()
                .map(|op| TxnWrite {
                    namespace: op.namespace,
                    key: op.key,
                    value: op.value,
                })
                .collect(),
        };
        let reply = self
            .call(Idempotence::ServerSaysSafe, |ch| {
                let req = req.clone();
                async move { MetaClient::new(ch).txn(req).await }
            })
            .await?;
        Ok(TxnOutcome {
            succeeded: reply.succeeded,
            failed_condition: reply.failed_condition.map(|i| i as usize),
            revision: reply.revision,
        })
    }

    pub async fn meta_get(
        &self,
        ns: &str,
        key: &[u8],
        consistency: Consistency,
    ) -> Result<Option<MetaEntry>, ClientError> {
        let req = GetRequest {
            namespace: ns.into(),
            key: key.into(),
            consistency: consistency.pb(),
        };
        let reply = self
            .call(Idempotence::Safe, |ch| {
                let req = req.clone();
                async move { MetaClient::new(ch).get(req).await }
            })
            .await?;
        Ok(reply.entry.map(MetaEntry::from))
    }

    /// The entries of `keys` in namespace `ns`, in the order of `keys` (`None` where absent):
    /// one read barrier per call of up to `limits::GET_MANY_KEYS` keys instead of one per key. Each
    /// call is its own read point; a node that does not know `GetMany` is read key by key.
    pub async fn meta_get_many(
        &self,
        ns: &str,
        keys: &[Vec<u8>],
        consistency: Consistency,
    ) -> Result<Vec<Option<MetaEntry>>, ClientError> {
        let mut out = Vec::with_capacity(keys.len());
        let mut rest = keys;
        while !rest.is_empty() {
            let batch = &rest[..rest.len().min(archipel_proto::limits::GET_MANY_KEYS)];
            let req = GetManyRequest {
                namespace: ns.into(),
                keys: batch.to_vec(),
                consistency: consistency.pb(),
            };
            let reply = self
                .call(Idempotence::Safe, |ch| {
                    let req = req.clone();
                    async move {
                        match MetaClient::new(ch).get_many(req).await {
                            // An older node: `answered: 0` sends this batch key by key.
                            Err(s) if s.code() == tonic::Code::Unimplemented => {
                                Ok(tonic::Response::new(GetManyReply {
                                    entries: Vec::new(),
                                    answered: 0,
                                }))
                            }
                            other => other,
                        }
                    }
                })
                .await?;
            let answered = reply.answered as usize;
            if answered > batch.len() {
                return Err(ClientError::Server(format!(
                    "GetMany answered {answered} keys of {}",
                    batch.len()
                )));
            }
            if answered == 0 {
                for key in batch {
                    out.push(self.meta_get(ns, key, consistency).await?);
                }
                rest = &rest[batch.len()..];
                continue;
            }
            let found: std::collections::HashMap<Vec<u8>, MetaEntry> = reply
                .entries
                .into_iter()
                .map(|e| (e.key.clone(), MetaEntry::from(e)))
                .collect();
            out.extend(batch[..answered].iter().map(|k| found.get(k).cloned()));
            rest = &rest[answered..];
        }
        Ok(out)
    }

    /// One page of keys under `prefix`, after `start_after`. The flag says whether more remain.
    pub async fn meta_scan(
        &self,
        ns: &str,
        prefix: &[u8],
        start_after: &[u8],
        limit: u32,
        consistency: Consistency,
    ) -> Result<(Vec<MetaEntry>, bool), ClientError> {
        let req = ScanRequest {
            namespace: ns.into(),
            prefix: prefix.into(),
            start_after: start_after.into(),
            limit,
            consistency: consistency.pb(),
        };
        let reply = self
            .call(Idempotence::Safe, |ch| {
                let req = req.clone();
                async move { MetaClient::new(ch).scan(req).await }
            })
            .await?;
        Ok((reply.entries.into_iter().map(MetaEntry::from).collect(), reply.more))
    }

    /// The cluster's time in milliseconds since the epoch, stamped by the Raft leader with the
    /// time a majority of the voters' clocks reached: judge deadlines (communicability, expiry)
    /// by it, not by this machine's clock. It never goes back and lags by at most a tick (5 s)
    /// when the cluster is idle.
    pub async fn cluster_time_ms(&self) -> Result<u64, ClientError> {
        let reply = self
            .call(Idempotence::Safe, |ch| async move {
                MetaClient::new(ch).time(TimeRequest {}).await
            })
            .await?;
        Ok(reply.now_ms)
    }
}

#[cfg(test)]
mod tests {
    //! The retry contract against a node that breaks every write mid-call, and reads from a
    //! node older than `GetMany`.

    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use archipel_proto::meta::meta_server::{Meta, MetaServer};
    use archipel_proto::meta::{CasReply, DeleteReply, GetReply, PutReply, ScanReply, TimeReply, TxnReply};
    use tonic::{Request, Response, Status};

    use super::*;
    use crate::ClientOptions;

    /// Counts writes and answers each as a connection lost after the request was sent.
    #[derive(Clone, Default)]
    struct BrokenNode {
        writes: Arc<AtomicUsize>,
        reads: Arc<AtomicUsize>,
    }

    fn lost() -> Status {
        Status::unknown("connection reset by peer after the request was sent")
    }

    #[tonic::async_trait]
    impl Meta for BrokenNode {
        async fn put(&self, _: Request<PutRequest>) -> Result<Response<PutReply>, Status> {
            self.writes.fetch_add(1, Ordering::SeqCst);
            Err(lost())
        }
        async fn delete(&self, _: Request<DeleteRequest>) -> Result<Response<DeleteReply>, Status> {
            self.writes.fetch_add(1, Ordering::SeqCst);
            Err(lost())
        }
        async fn cas(&self, _: Request<CasRequest>) -> Result<Response<CasReply>, Status> {
            self.writes.fetch_add(1, Ordering::SeqCst);
            Err(lost())
        }
        /// Reads as a node older than `GetMany` serves them: one key at a time, `present` only.
        async fn get(&self, r: Request<GetRequest>) -> Result<Response<GetReply>, Status> {
            let r = r.into_inner();
            let entry = (r.key == b"present").then(|| Entry {
                namespace: r.namespace,
                key: r.key,
                value: b"v".to_vec(),
                revision: 7,
            });
            Ok(Response::new(GetReply { entry }))
        }
        async fn get_many(&self, _: Request<GetManyRequest>) -> Result<Response<GetManyReply>, Status> {
            Err(Status::unimplemented("unknown method GetMany"))
        }
        async fn scan(&self, _: Request<ScanRequest>) -> Result<Response<ScanReply>, Status> {
            Err(Status::unimplemented("not in this test"))
        }
        async fn txn(&self, _: Request<TxnRequest>) -> Result<Response<TxnReply>, Status> {
            self.writes.fetch_add(1, Ordering::SeqCst);
            Err(lost())
        }
        async fn time(&self, _: Request<TimeRequest>) -> Result<Response<TimeReply>, Status> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            Err(lost())
        }
    }

    async fn serve(node: BrokenNode) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(MetaServer::new(node))
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
        );
        addr
    }

    async fn client_of_two(node: &BrokenNode) -> Client {
        let endpoints = vec![serve(node.clone()).await, serve(node.clone()).await];
        let options = ClientOptions {
            retry_for: Duration::from_secs(2),
            ..ClientOptions::default()
        };
        Client::new(&endpoints, options).unwrap()
    }

    #[tokio::test]
    async fn a_put_or_delete_with_an_unknown_outcome_is_not_sent_again() {
        let node = BrokenNode::default();
        let client = client_of_two(&node).await;

        let put = client.meta_put("app", b"k", b"v").await;
        assert!(matches!(put, Err(ClientError::Indeterminate(_))), "{put:?}");
        assert_eq!(node.writes.load(Ordering::SeqCst), 1, "the put was sent again");

        let delete = client.meta_delete("app", b"k").await;
        assert!(matches!(delete, Err(ClientError::Indeterminate(_))), "{delete:?}");
        assert_eq!(node.writes.load(Ordering::SeqCst), 2, "the delete was sent again");
    }

    /// A node that does not know `GetMany` (an older version) is read key by key.
    #[tokio::test]
    async fn many_keys_are_read_one_by_one_from_a_node_without_get_many() {
        let node = BrokenNode::default();
        let client = client_of_two(&node).await;
        let keys = vec![b"absent".to_vec(), b"present".to_vec(), b"other".to_vec()];
        let got = client
            .meta_get_many("app", &keys, Consistency::Linearizable)
            .await
            .unwrap();
        let values: Vec<Option<Vec<u8>>> = got.into_iter().map(|e| e.map(|e| e.value)).collect();
        assert_eq!(values, vec![None, Some(b"v".to_vec()), None]);
    }

    /// Reading the cluster's time changes nothing: a lost answer is asked again.
    #[tokio::test]
    async fn reading_the_cluster_time_is_retried() {
        let node = BrokenNode::default();
        let client = client_of_two(&node).await;
        assert!(client.cluster_time_ms().await.is_err());
        assert!(node.reads.load(Ordering::SeqCst) > 1, "the time read was not retried");
    }
}
