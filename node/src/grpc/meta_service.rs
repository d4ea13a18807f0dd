//! The metadata keyspace over gRPC. Writes and linearizable reads go through the leader;
//! a follower forwards them once.

use std::sync::Arc;

use archipel_proto::meta::meta_server::Meta;
use archipel_proto::meta::{
    cas_request, txn_condition, CasReply, CasRequest, Consistency, DeleteReply, DeleteRequest, Entry, GetManyReply,
    GetManyRequest, GetReply, GetRequest, PutReply, PutRequest, ScanReply, ScanRequest, TimeReply, TimeRequest,
    TxnReply, TxnRequest,
};
use tonic::{Request, Response, Status};

use super::status_of_raft;
use crate::kv::{self, KvEntry};
use crate::node::Node;
use crate::raft::{Command, CommandResult, Condition, Expect};
use crate::tls::tenant::{self, Confined};

pub struct MetaService {
    pub node: Arc<Node>,
}

fn invalid(reason: String) -> Status {
    Status::invalid_argument(reason)
}

fn check_key(ns: &str, key: &[u8]) -> Result<(), Status> {
    kv::validate_namespace(ns).map_err(invalid)?;
    kv::validate_key(key).map_err(invalid)
}

/// `sys.*` holds the object store's own records (manifests, namespaces): written only by nodes.
fn check_writable(ns: &str) -> Result<(), Status> {
    if ns.starts_with("sys.") {
        return Err(Status::permission_denied(format!(
            "namespace `{ns}` is reserved for Archipel's own records; use the object API"
        )));
    }
    Ok(())
}

fn to_pb(e: KvEntry) -> Entry {
    Entry {
        namespace: e.ns,
        key: e.key,
        value: e.value,
        revision: e.revision,
    }
}

fn unexpected(result: CommandResult) -> Status {
    Status::internal(format!("unexpected state-machine result {result:?}"))
}

fn store_error(e: rocksdb::Error) -> Status {
    Status::internal(format!("metadata store read failed: {e}"))
}

impl MetaService {
    /// Proposes `cmd` here, or through the leader when this node is a follower.
    async fn propose(&self, cmd: Command) -> Result<CommandResult, Status> {
        self.node.propose(cmd).await.map_err(status_of_raft)
    }

    /// Linearizable reads are served here once this node has applied the leader's read index.
    async fn read_barrier(&self, consistency: i32) -> Result<(), Status> {
        if consistency == Consistency::Stale as i32 {
            return Ok(());
        }
        self.node.read_barrier().await.map_err(status_of_raft)
    }
}

#[tonic::async_trait]
impl Meta for MetaService {
    async fn put(&self, request: Request<PutRequest>) -> Result<Response<PutReply>, Status> {
        let confined = Confined::of(&request);
        let r = request.into_inner();
        tenant::check(confined.as_ref(), "/archipel.meta.v1.Meta/Put", &r.namespace)?;
        check_key(&r.namespace, &r.key)?;
        check_writable(&r.namespace)?;
        kv::validate_value(&r.value).map_err(invalid)?;
        let cmd = Command::Put {
            ns: r.namespace.clone(),
            key: r.key.clone(),
            value: r.value.clone(),
        };
        match self.propose(cmd).await? {
            CommandResult::Put { revision } => Ok(Response::new(PutReply { revision })),
            other => Err(unexpected(other)),
        }
    }

    async fn delete(&self, request: Request<DeleteRequest>) -> Result<Response<DeleteReply>, Status> {
        let confined = Confined::of(&request);
        let r = request.into_inner();
        tenant::check(confined.as_ref(), "/archipel.meta.v1.Meta/Delete", &r.namespace)?;
        check_key(&r.namespace, &r.key)?;
        check_writable(&r.namespace)?;
        let cmd = Command::Delete {
            ns: r.namespace.clone(),
            key: r.key.clone(),
        };
        match self.propose(cmd).await? {
            CommandResult::Delete { existed, revision } => Ok(Response::new(DeleteReply { existed, revision })),
            other => Err(unexpected(other)),
        }
    }

    async fn cas(&self, request: Request<CasRequest>) -> Result<Response<CasReply>, Status> {
        let confined = Confined::of(&request);
        let r = request.into_inner();
        tenant::check(confined.as_ref(), "/archipel.meta.v1.Meta/Cas", &r.namespace)?;
        check_key(&r.namespace, &r.key)?;
        check_writable(&r.namespace)?;
        if let Some(v) = &r.new_value {
            kv::validate_value(v).map_err(invalid)?;
        }
        let expect = match &r.expect {
            Some(cas_request::Expect::Absent(_)) => Expect::Absent,
            Some(cas_request::Expect::Value(v)) => Expect::Value(v.clone()),
            Some(cas_request::Expect::Revision(rev)) => Expect::Revision(*rev),
            None => {
                return Err(invalid(
                    "compare-and-swap needs a condition: absent, value or revision".into(),
                ))
            }
        };
        let cmd = Command::Cas {
            ns: r.namespace.clone(),
            key: r.key.clone(),
            expect,
            new_value: r.new_value.clone(),
        };
        match self.propose(cmd).await? {
            CommandResult::Cas {
                succeeded,
                current,
                revision,
            } => Ok(Response::new(CasReply {
                succeeded,
                current: current.map(to_pb),
                revision,
            })),
            other => Err(unexpected(other)),
        }
    }

    async fn txn(&self, request: Request<TxnRequest>) -> Result<Response<TxnReply>, Status> {
        let confined = Confined::of(&request);
        let r = request.into_inner();
        // A condition reveals a value through the outcome, so it counts as a read.
        for ns in r
            .conditions
            .iter()
            .map(|c| &c.namespace)
            .chain(r.writes.iter().map(|w| &w.namespace))
        {
            tenant::check(confined.as_ref(), "/archipel.meta.v1.Meta/Txn", ns)?;
        }
        let ops = r.conditions.len() + r.writes.len();
        let bytes: usize = r
            .writes
            .iter()
            .map(|w| w.key.len() + w.value.as_ref().map_or(0, Vec::len))
            .sum();
        if r.writes.is_empty() || ops > kv::MAX_TXN_OPS || bytes > kv::MAX_TXN_BYTES {
            return Err(invalid(format!(
                "a transaction needs 1 to {} conditions and writes in all and at most {} bytes; this one has {} writes, \
                 {ops} operations and {bytes} bytes: split it",
                kv::MAX_TXN_OPS,
                kv::MAX_TXN_BYTES,
                r.writes.len()
            )));
        }
        let mut conditions = Vec::with_capacity(r.conditions.len());
        for c in r.conditions {
            check_key(&c.namespace, &c.key)?;
            let expect = match c.expect {
                Some(txn_condition::Expect::Absent(_)) => Expect::Absent,
                Some(txn_condition::Expect::Value(v)) => Expect::Value(v),
                Some(txn_condition::Expect::Revision(rev)) => Expect::Revision(rev),
                None => {
                    return Err(invalid(
                        "every transaction condition needs absent, value or revision".into(),
                    ))
                }
            };
            conditions.push(Condition {
                ns: c.namespace,
                key: c.key,
                expect,
            });
        }
        let mut then = Vec::with_capacity(r.writes.len());
        for w in r.writes {
            check_key(&w.namespace, &w.key)?;
            check_writable(&w.namespace)?;
            then.push(match w.value {
                Some(value) => {
                    kv::validate_value(&value).map_err(invalid)?;
                    Command::Put {
                        ns: w.namespace,
                        key: w.key,
                        value,
                    }
                }
                None => Command::Delete {
                    ns: w.namespace,
                    key: w.key,
                },
            });
        }
        match self.propose(Command::Txn { conditions, then }).await? {
            CommandResult::Txn {
                succeeded,
                failed_condition,
                results,
            } => {
                let revision = results
                    .iter()
                    .find_map(|r| match r {
                        CommandResult::Put { revision } | CommandResult::Delete { revision, .. } => Some(*revision),
                        _ => None,
                    })
                    .unwrap_or_default();
                Ok(Response::new(TxnReply {
                    succeeded,
                    failed_condition: failed_condition.map(|i| i as u32),
                    revision,
                }))
            }
            other => Err(unexpected(other)),
        }
    }

    async fn get(&self, request: Request<GetRequest>) -> Result<Response<GetReply>, Status> {
        let confined = Confined::of(&request);
        let r = request.into_inner();
        tenant::check(confined.as_ref(), "/archipel.meta.v1.Meta/Get", &r.namespace)?;
        check_key(&r.namespace, &r.key)?;
        self.read_barrier(r.consistency).await?;
        let entry = self.node.state.get(&r.namespace, &r.key).map_err(store_error)?;
        Ok(Response::new(GetReply {
            entry: entry.map(to_pb),
        }))
    }

    async fn get_many(&self, request: Request<GetManyRequest>) -> Result<Response<GetManyReply>, Status> {
        let confined = Confined::of(&request);
        let r = request.into_inner();
        tenant::check(confined.as_ref(), "/archipel.meta.v1.Meta/GetMany", &r.namespace)?;
        kv::validate_namespace(&r.namespace).map_err(invalid)?;
        if r.keys.is_empty() || r.keys.len() > archipel_proto::limits::GET_MANY_KEYS {
            return Err(Status::invalid_argument(format!(
                "GetMany names {} keys: give between 1 and {}",
                r.keys.len(),
                archipel_proto::limits::GET_MANY_KEYS
            )));
        }
        for key in &r.keys {
            kv::validate_key(key).map_err(invalid)?;
        }
        self.read_barrier(r.consistency).await?;
        let (mut entries, mut bytes, mut answered) = (Vec::new(), 0usize, 0u32);
        for key in &r.keys {
            if let Some(e) = self.node.state.get(&r.namespace, key).map_err(store_error)? {
                let size = e.key.len() + e.value.len();
                // The first key is always answered (one value always fits).
                if answered > 0 && bytes + size > kv::GET_MANY_REPLY_BYTES {
                    break;
                }
                bytes += size;
                entries.push(to_pb(e));
            }
            answered += 1;
        }
        Ok(Response::new(GetManyReply { entries, answered }))
    }

    async fn scan(&self, request: Request<ScanRequest>) -> Result<Response<ScanReply>, Status> {
        let confined = Confined::of(&request);
        let r = request.into_inner();
        tenant::check(confined.as_ref(), "/archipel.meta.v1.Meta/Scan", &r.namespace)?;
        kv::validate_namespace(&r.namespace).map_err(invalid)?;
        let limit = match r.limit as usize {
            0 => kv::DEFAULT_SCAN_LIMIT,
            n => n.min(kv::MAX_SCAN_LIMIT),
        };
        self.read_barrier(r.consistency).await?;
        let (entries, more) = self
            .node
            .state
            .scan(&r.namespace, &r.prefix, &r.start_after, limit)
            .map_err(store_error)?;
        Ok(Response::new(ScanReply {
            entries: entries.into_iter().map(to_pb).collect(),
            more,
        }))
    }

    /// The leader-stamped state time once this node has caught up with the leader: what the
    /// archive layer judges communicability and deadlines by, never its own wall clock.
    async fn time(&self, _request: Request<TimeRequest>) -> Result<Response<TimeReply>, Status> {
        self.read_barrier(Consistency::Linearizable as i32).await?;
        Ok(Response::new(TimeReply {
            now_ms: self.node.state_time_ms(),
        }))
    }
}
