//! Storing an object: stream in, cut into stripes, erasure-code, fan the shards out to the
//! placed nodes in parallel, and only once every shard is fsync'd commit the manifest in Raft.

use std::time::Duration;

use archipel_proto::shard::shard_client::ShardClient;
use archipel_proto::shard::{ReserveRequest, ShardHeader, WholeShard};
use bytes::Bytes;
use futures::future::join_all;
use futures::{Stream, StreamExt};

use crate::ec_profile::EcProfile;
use crate::erasure::Codec;
use crate::node::Node;
use crate::placement::place;
use crate::raft::{Command, CommandResult, Condition, Expect};
use crate::shards::{object_id_hex, ObjectId};

use super::fanout::Fanout;
use super::lock::{self, LockActor, LockSpec, ObjectLock};
use super::model::{manifest_ns, validate_object_key, Manifest, NamespaceConfig, ShardRef, Storage, NS_OBJECT_IDS};
use super::retention::{self, check_retention};
use super::ObjectError;

const RESERVE_TIMEOUT: Duration = Duration::from_secs(3);
/// Placement attempts when chosen nodes refuse (full, down): each retry excludes them.
const PLACEMENT_ATTEMPTS: usize = 3;
/// A shard's bytes beyond its stripe: the JSON header (with the key, up to 1 KiB), the table and
/// the footer. A generous bound, used to tell whether a shard will be packed.
const SHARD_FRAMING: u64 = 2048;
/// A degraded write (some shard nodes down) still stores k + this many shards, so the object
/// survives one more failure before repair restores full redundancy.
pub const DEGRADED_SPARE: usize = 1;

pub struct PutOutcome {
    pub manifest: Manifest,
    pub revision: u64,
}

impl Node {
    pub async fn put_object<S>(
        &self,
        namespace: &str,
        key: &str,
        declared_size: Option<u64>,
        lock_spec: LockSpec,
        writer: &LockActor,
        data: S,
    ) -> Result<PutOutcome, ObjectError>
    where
        S: Stream<Item = Result<Bytes, ObjectError>> + Unpin + Send,
    {
        validate_object_key(key).map_err(ObjectError::Invalid)?;
        let started = tokio::time::Instant::now();
        // The commit must apply within the orphan grace of this, in state time (`retention`).
        let started_state_ms = retention::upload_start(self)?;
        lock::check_new(&lock_spec, started_state_ms)?;
        // No read barrier: the commit is conditional on the revision read here, so a stale read
        // costs a retry (below), never a lost update.
        let ns = match self.namespace(namespace) {
            Err(ObjectError::NoNamespace(_)) => {
                self.read_barrier().await?;
                self.namespace(namespace)?
            }
            other => other?,
        };
        let existing = self.current_manifest(namespace, key)?;
        if let Some((old, _)) = &existing {
            check_retention(old, self.state_time_ms())?;
            self.check_unlocked(old, false)?;
        }
        let mut input = StripeInput {
            stream: data,
            pending: Bytes::new(),
            stripe_size: self.config.objects.stripe_size as usize,
            ended: false,
            received: 0,
            declared: declared_size,
        };
        let first = input.next_stripe().await?;
        let object_id: ObjectId = rand::random();
        let (manifest, missing) = self.store(&ns, key, object_id, first, &mut input).await?;
        let new_lock = self.new_lock(&manifest, &lock_spec, writer);
        // Past the grace period the collector may have taken this upload's shards (and marked the
        // id collected, which would fail the commit anyway): give up clearly.
        if started.elapsed() >= self.config.objects.orphan_grace {
            return Err(ObjectError::Unavailable(
                "the upload took longer than objects.orphan_grace_secs and was abandoned".into(),
            ));
        }
        let revision = match self
            .commit_manifest(
                &manifest,
                existing.as_ref(),
                missing.clone(),
                started_state_ms,
                new_lock.as_ref(),
            )
            .await
        {
            Err(ObjectError::Conflict) => {
                // Our read may have lagged the leader: retry once on current state. A PUT
                // overwrites, so only retention can still refuse it.
                self.read_barrier().await?;
                let existing = self.current_manifest(namespace, key)?;
                if let Some((old, _)) = &existing {
                    check_retention(old, self.state_time_ms())?;
                    self.check_unlocked(old, false)?;
                }
                self.commit_manifest(
                    &manifest,
                    existing.as_ref(),
                    missing,
                    started_state_ms,
                    new_lock.as_ref(),
                )
                .await?
            }
            other => other?,
        };
        Ok(PutOutcome { manifest, revision })
    }

    /// Stores the data (inline or sharded) and builds the manifest, with the damage records of
    /// shards a degraded write left out.
    async fn store<S>(
        &self,
        ns: &NamespaceConfig,
        key: &str,
        object_id: ObjectId,
        first: Vec<u8>,
        input: &mut StripeInput<S>,
    ) -> Result<(Manifest, Vec<Command>), ObjectError>
    where
        S: Stream<Item = Result<Bytes, ObjectError>> + Unpin + Send,
    {
        let namespace = ns.name.as_str();
        let declared_size = input.declared;
        // Encrypted namespaces: sealed before erasure coding (objects/crypt.rs).
        let sealer = self.object_sealer(ns, &object_id)?;
        let (storage, size, blake3) = if input.done() && first.len() as u64 <= self.config.objects.inline_max {
            let hash = *blake3::hash(&first).as_bytes();
            let stored = match &sealer {
                Some(s) => s.seal_inline(&first),
                None => first.clone(),
            };
            (Storage::Inline(stored), first.len() as u64, hash)
        } else {
            self.store_sharded(ns, key, &object_id, first, input, sealer.clone())
                .await?
        };
        if let Some(declared) = declared_size {
            if declared != size {
                return Err(ObjectError::SizeMismatch { declared, sent: size });
            }
        }
        // Leader-stamped time, taken once the data is stored: a retention starts just before the
        // commit (`retention::commit_deadline`), whatever this node's clock says.
        let created_at_ms = self.state_time_ms();
        let manifest = Manifest {
            namespace: namespace.to_owned(),
            key: key.to_owned(),
            object_id,
            size,
            blake3,
            created_at_ms,
            retain_until_ms: retention::retain_until(created_at_ms, ns.worm_retention_secs),
            storage,
            sealed: sealer.as_ref().map(|s| s.sealing()),
        };
        // Shards a degraded write left out are recorded in the same transaction as the manifest,
        // so nothing can commit the object without its repair being queued.
        let mut missing = Vec::new();
        if let Storage::Sharded { profile, shards, .. } = &manifest.storage {
            for index in 0..profile.total() as u32 {
                if !shards.iter().any(|s| s.index == index) {
                    let reason = "not written: its node was unavailable when the object was stored";
                    missing.push(super::damage_command(
                        &manifest,
                        index,
                        None,
                        None,
                        reason,
                        self.id(),
                        self.clock.now_ms(),
                    ));
                }
            }
        }
        Ok((manifest, missing))
    }

    /// Commits `manifest` if the key still holds `existing` and the orphan collector has not
    /// given up this object id, with `extra` commands in the same transaction.
    async fn commit_manifest(
        &self,
        manifest: &Manifest,
        existing: Option<&(Manifest, u64)>,
        extra: Vec<Command>,
        started_state_ms: u64,
        new_lock: Option<&ObjectLock>,
    ) -> Result<u64, ObjectError> {
        let grace_ms = self.config.objects.orphan_grace.as_millis() as u64;
        let deadline = retention::commit_deadline(manifest, started_state_ms, grace_ms);
        let txn = commit_txn(manifest, existing, extra, deadline, new_lock);
        let result = self.propose_grouped(txn).await?;
        match result {
            CommandResult::Txn {
                succeeded: true,
                results,
                ..
            } => match results.first() {
                Some(CommandResult::Put { revision }) => Ok(*revision),
                other => Err(ObjectError::Internal(format!("unexpected commit result {other:?}"))),
            },
            // The upload outlived objects.orphan_grace_secs and the collector took its shards.
            CommandResult::Txn {
                succeeded: false,
                failed_condition: Some(COMMIT_NOT_COLLECTED),
                ..
            } => Err(ObjectError::Unavailable(
                "the upload took longer than objects.orphan_grace_secs and was abandoned".into(),
            )),
            CommandResult::Txn {
                succeeded: false,
                failed_condition: Some(COMMIT_UNRETAINED),
                ..
            } => Err(match self.current_manifest(&manifest.namespace, &manifest.key)? {
                Some((current, _)) => retention::locked(&current),
                None => ObjectError::Conflict,
            }),
            CommandResult::Txn {
                succeeded: false,
                failed_condition: Some(COMMIT_UNLOCKED),
                ..
            } => Err(match self.current_manifest(&manifest.namespace, &manifest.key)? {
                Some((current, _)) => match self.object_lock(&current)? {
                    Some(l) => lock::locked(&current, &l),
                    None => ObjectError::Conflict,
                },
                None => ObjectError::Conflict,
            }),
            CommandResult::Txn {
                succeeded: false,
                failed_condition: Some(COMMIT_DEADLINE),
                ..
            } => Err(ObjectError::Unavailable(
                "the commit reached the cluster after its deadline (the orphan grace, or a WORM object's \
                 retention start) and was refused"
                    .into(),
            )),
            // Another writer got there first; our shards become orphans and are collected.
            CommandResult::Txn { succeeded: false, .. } => Err(ObjectError::Conflict),
            other => Err(ObjectError::Internal(format!("unexpected commit result {other:?}"))),
        }
    }

    async fn store_sharded<S>(
        &self,
        ns: &NamespaceConfig,
        key: &str,
        object_id: &ObjectId,
        first: Vec<u8>,
        input: &mut StripeInput<S>,
        sealer: Option<super::crypt::ObjectSealer>,
    ) -> Result<(Storage, u64, [u8; 32]), ObjectError>
    where
        S: Stream<Item = Result<Bytes, ObjectError>> + Unpin + Send,
    {
        let profile = self.effective_profile(ns)?;
        let codec = Codec::new(profile).map_err(|e| ObjectError::Internal(e.to_string()))?;
        let stripe_size = self.config.objects.stripe_size;
        let overhead = if sealer.is_some() { crate::crypto::TAG_LEN } else { 0 };
        let shard_len = codec.shard_len(stripe_size as usize + overhead) as u64;
        let estimate = match input.declared {
            Some(size) => size.div_ceil(profile.data as u64) + shard_len,
            None => shard_len,
        };
        let targets = self.choose_targets(object_id, profile, estimate).await?;
        let header = ShardHeader {
            cluster_id: self.identity.cluster_id().unwrap_or_default(),
            object_id: object_id.to_vec(),
            namespace: ns.name.clone(),
            key: key.to_owned(),
            index: 0,
            data_shards: profile.data as u32,
            parity_shards: profile.parity as u32,
            stripe_size,
            shard_len,
        };
        let first_shard_len = codec.shard_len(first.len() + overhead) as u64;
        if input.done() && first_shard_len + SHARD_FRAMING <= self.config.objects.pack_shards_up_to {
            return self
                .store_small(profile, &codec, &targets, header, first, sealer, input.declared)
                .await;
        }
        let mut fanout = Fanout::open(self, &targets, header).await?;
        let mut hasher = blake3::Hasher::new();
        let mut size = 0u64;
        let mut stripe = first;
        let mut index = 0u64;
        while !stripe.is_empty() {
            hasher.update(&stripe);
            size += stripe.len() as u64;
            let codec = codec.clone();
            let sealer = sealer.clone();
            let shards = tokio::task::spawn_blocking(move || match sealer {
                Some(s) => codec.encode_owned(Bytes::from(s.seal_stripe(index, &stripe))),
                None => codec.encode_owned(Bytes::from(stripe)),
            })
            .await
            .map_err(|e| ObjectError::Internal(e.to_string()))?
            .map_err(|e| ObjectError::Internal(e.to_string()))?;
            fanout.send_stripe(shards).await?;
            index += 1;
            stripe = input.next_stripe().await?;
        }
        if let Some(declared) = input.declared {
            if declared != size {
                return Err(ObjectError::SizeMismatch { declared, sent: size });
            }
        }
        let shards = fanout.finish(size, None).await?;
        Ok((
            Storage::Sharded {
                profile,
                stripe_size,
                shards,
            },
            size,
            *hasher.finalize().as_bytes(),
        ))
    }

    /// A one-stripe object whose shards the nodes pack: each shard joins its node's next
    /// `WriteShards` batch (`objects::small`), so concurrent small PUTs share calls and syncs.
    #[allow(clippy::too_many_arguments)]
    async fn store_small(
        &self,
        profile: EcProfile,
        codec: &Codec,
        targets: &[Option<(u64, String)>],
        header: ShardHeader,
        data: Vec<u8>,
        sealer: Option<super::crypt::ObjectSealer>,
        declared: Option<u64>,
    ) -> Result<(Storage, u64, [u8; 32]), ObjectError> {
        let size = data.len() as u64;
        if let Some(declared) = declared {
            if declared != size {
                return Err(ObjectError::SizeMismatch { declared, sent: size });
            }
        }
        let hash = *blake3::hash(&data).as_bytes();
        let shards = match &sealer {
            Some(s) => codec.encode_owned(Bytes::from(s.seal_stripe(0, &data))),
            None => codec.encode_owned(Bytes::from(data)),
        }
        .map_err(|e| ObjectError::Internal(e.to_string()))?;
        let writes = targets
            .iter()
            .zip(shards)
            .enumerate()
            .filter_map(|(index, (target, stripe))| {
                let (node, addr) = target.as_ref()?;
                let mut h = header.clone();
                h.index = index as u32;
                let shard = WholeShard {
                    header: Some(h),
                    stripe,
                    object_size: size,
                    // ShardBatcher::write sets the hash it computes, and checks the answer.
                    expected_table_hash: None,
                };
                Some(async move {
                    let local = (*node == self.id()).then_some(&self.shards);
                    let r = self.small_writes.write(&self.peers, addr, local, shard).await;
                    (index as u32, *node, addr, r)
                })
            });
        let mut refs = Vec::new();
        for (index, node_id, addr, result) in join_all(writes).await {
            match result {
                Ok(table_hash) => refs.push(ShardRef {
                    index,
                    node_id,
                    table_hash,
                }),
                Err(reason) => {
                    return Err(ObjectError::Unavailable(format!(
                        "writing shard {index} to node {node_id} ({addr}) failed: {reason}"
                    )))
                }
            }
        }
        let stripe_size = header.stripe_size;
        Ok((
            Storage::Sharded {
                profile,
                stripe_size,
                shards: refs,
            },
            size,
            hash,
        ))
    }

    /// Places the shards and checks every chosen node can take its shard; nodes that refuse or
    /// do not answer are excluded and placement runs again. When no full placement exists (a
    /// site is down), the object is stored degraded: the shards whose nodes answer, if at least
    /// k + [`DEGRADED_SPARE`] of them, the others left `None` and recorded for repair.
    async fn choose_targets(
        &self,
        object_id: &ObjectId,
        profile: EcProfile,
        shard_bytes: u64,
    ) -> Result<Vec<Option<(u64, String)>>, ObjectError> {
        let map = self.state.cluster_map();
        let nodes = self.placement_nodes();
        let addr_of = |id: &u64| map.nodes.get(id).map(|n| n.addr.clone()).unwrap_or_default();
        let mut exclude: Vec<u64> = Vec::new();
        let mut refusals: Vec<String> = Vec::new();
        let mut placement_error = None;
        for _ in 0..PLACEMENT_ATTEMPTS {
            let placed = match place(object_id, profile, &nodes, &exclude) {
                Ok(p) => p,
                Err(e) => {
                    placement_error = Some(e.to_string());
                    break;
                }
            };
            let refused = self.reserve_all(&placed, &addr_of, shard_bytes, &mut refusals).await;
            if refused.is_empty() {
                return Ok(placed.iter().map(|id| Some((*id, addr_of(id)))).collect());
            }
            exclude.extend(refused);
        }
        // Degraded: the full placement, minus the nodes that cannot take their shard.
        let placed = place(object_id, profile, &nodes, &[]).map_err(|e| ObjectError::Unavailable(e.to_string()))?;
        let unchecked: Vec<u64> = placed.iter().filter(|id| !exclude.contains(id)).copied().collect();
        exclude.extend(self.reserve_all(&unchecked, &addr_of, shard_bytes, &mut refusals).await);
        let targets: Vec<Option<(u64, String)>> = placed
            .iter()
            .map(|id| (!exclude.contains(id)).then(|| (*id, addr_of(id))))
            .collect();
        let writable = targets.iter().flatten().count();
        let needed = profile.data as usize + DEGRADED_SPARE;
        if writable < needed.min(profile.total()) {
            return Err(ObjectError::Unavailable(format!(
                "{profile} needs at least {needed} of its {} shards stored, only {writable} nodes can take one ({}{})",
                profile.total(),
                refusals.join("; "),
                placement_error.map(|e| format!("; {e}")).unwrap_or_default()
            )));
        }
        tracing::warn!(
            object = %object_id_hex(object_id),
            stored = writable,
            of = profile.total(),
            "storing degraded: {}",
            refusals.join("; ")
        );
        Ok(targets)
    }

    /// Reserves space on each node; returns those that refused, with reasons appended to `refusals`.
    async fn reserve_all(
        &self,
        ids: &[u64],
        addr_of: &impl Fn(&u64) -> String,
        bytes: u64,
        refusals: &mut Vec<String>,
    ) -> Vec<u64> {
        let checks = join_all(ids.iter().map(|id| {
            let addr = addr_of(id);
            async move { self.reserve_cached(*id, &addr, bytes).await }
        }))
        .await;
        let mut refused = Vec::new();
        for (id, check) in ids.iter().zip(checks) {
            if let Err(reason) = check {
                self.free_space.forget(*id);
                refused.push(*id);
                refusals.push(format!("node {id}: {reason}"));
            }
        }
        refused
    }

    /// [`Self::reserve_on`], skipped while the node's last answer, a moment ago, left ample room.
    pub(crate) async fn reserve_cached(&self, id: u64, addr: &str, bytes: u64) -> Result<(), String> {
        if self.free_space.has_ample(id, bytes) {
            return Ok(());
        }
        match self.reserve_on(addr, bytes).await {
            Ok(free) => {
                self.free_space.record(id, free);
                Ok(())
            }
            Err(reason) => {
                self.free_space.forget(id);
                Err(reason)
            }
        }
    }

    async fn reserve_on(&self, addr: &str, bytes: u64) -> Result<u64, String> {
        let channel = self.peers.channel(addr).map_err(|e| e.to_string())?;
        let mut req = tonic::Request::new(ReserveRequest {
            cluster_id: self.identity.cluster_id().unwrap_or_default(),
            bytes,
        });
        req.set_timeout(RESERVE_TIMEOUT);
        match tokio::time::timeout(RESERVE_TIMEOUT, ShardClient::new(channel).reserve(req)).await {
            Ok(Ok(reply)) => Ok(reply.into_inner().free_bytes),
            Ok(Err(status)) => Err(status.message().to_owned()),
            Err(_) => Err(format!("no answer within {RESERVE_TIMEOUT:?}")),
        }
    }
}

/// The conditions of a manifest commit, in this order (`failed_condition` tells which failed).
const COMMIT_NOT_COLLECTED: usize = 1;
const COMMIT_UNRETAINED: usize = 2;
const COMMIT_DEADLINE: usize = 3;
const COMMIT_UNLOCKED: usize = 4;

/// The transaction committing `manifest`: the key still holds `existing` (its revision, or
/// absent), the collector has not given up the object id, no retention holds the key at apply
/// time, no lock of the replaced version forbids it, and it applies before state time `deadline`.
/// The new version's lock (or none) replaces the old one's.
pub(super) fn commit_txn(
    manifest: &Manifest,
    existing: Option<&(Manifest, u64)>,
    extra: Vec<Command>,
    deadline: u64,
    new_lock: Option<&ObjectLock>,
) -> Command {
    let mns = manifest_ns(&manifest.namespace);
    let key = manifest.key.as_bytes().to_vec();
    let mut then = vec![
        Command::Put {
            ns: mns.clone(),
            key: key.clone(),
            value: manifest.encode(),
        },
        Command::Put {
            ns: NS_OBJECT_IDS.into(),
            key: object_id_hex(&manifest.object_id).into_bytes(),
            value: owner_value(&manifest.namespace, &manifest.key),
        },
    ];
    let expect = match existing {
        Some((old, revision)) => {
            then.push(Command::Delete {
                ns: NS_OBJECT_IDS.into(),
                key: object_id_hex(&old.object_id).into_bytes(),
            });
            then.extend(super::fixity::forget(old));
            Expect::Revision(*revision)
        }
        None => Expect::Absent,
    };
    then.extend(extra);
    then.push(lock::commit_lock(manifest, new_lock));
    let conditions = vec![
        Condition { ns: mns, key, expect },
        super::collected::not_collected(&manifest.object_id),
        retention::unretained(&manifest.namespace, &manifest.key),
        Condition::state_time(Expect::StateTimeBefore(deadline)),
        lock::unlocked(&manifest.namespace, &manifest.key, false),
    ];
    Command::Txn { conditions, then }
}

/// What `sys.objid/<id>` holds: the object's namespace and key, NUL-separated.
pub(crate) fn owner_value(namespace: &str, key: &str) -> Vec<u8> {
    let mut v = namespace.as_bytes().to_vec();
    v.push(0);
    v.extend_from_slice(key.as_bytes());
    v
}

pub(crate) fn parse_owner(value: &[u8]) -> Option<(String, String)> {
    let sep = value.iter().position(|b| *b == 0)?;
    Some((
        String::from_utf8(value[..sep].to_vec()).ok()?,
        String::from_utf8(value[sep + 1..].to_vec()).ok()?,
    ))
}

/// Cuts the incoming byte stream into stripes of exactly `stripe_size` (the last shorter).
struct StripeInput<S> {
    stream: S,
    pending: Bytes,
    stripe_size: usize,
    ended: bool,
    received: u64,
    declared: Option<u64>,
}

impl<S> StripeInput<S>
where
    S: Stream<Item = Result<Bytes, ObjectError>> + Unpin,
{
    fn done(&self) -> bool {
        self.ended && self.pending.is_empty()
    }

    /// The next stripe; empty once the stream is exhausted.
    async fn next_stripe(&mut self) -> Result<Vec<u8>, ObjectError> {
        let mut buf = Vec::with_capacity(self.stripe_size.min(1 << 20));
        loop {
            if !self.pending.is_empty() {
                let take = (self.stripe_size - buf.len()).min(self.pending.len());
                buf.extend_from_slice(&self.pending.split_to(take));
            }
            if buf.len() == self.stripe_size || self.ended {
                return Ok(buf);
            }
            match self.stream.next().await {
                Some(Ok(chunk)) => {
                    self.received += chunk.len() as u64;
                    if let Some(declared) = self.declared {
                        if self.received > declared {
                            return Err(ObjectError::SizeMismatch {
                                declared,
                                sent: self.received,
                            });
                        }
                    }
                    self.pending = chunk;
                }
                Some(Err(e)) => return Err(e),
                None => self.ended = true,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_dates() {
        assert_eq!(
            parse_owner(&owner_value("ns", "a/b")),
            Some(("ns".into(), "a/b".into()))
        );
    }

    #[tokio::test]
    async fn stripes_are_exact_whatever_the_chunking() {
        let chunks: Vec<Result<Bytes, ObjectError>> = [3usize, 5, 1, 7, 4]
            .iter()
            .map(|n| Ok(Bytes::from(vec![1u8; *n])))
            .collect();
        let mut input = StripeInput {
            stream: futures::stream::iter(chunks),
            pending: Bytes::new(),
            stripe_size: 6,
            ended: false,
            received: 0,
            declared: Some(20),
        };
        let mut sizes = vec![];
        loop {
            let s = input.next_stripe().await.unwrap();
            if s.is_empty() {
                break;
            }
            sizes.push(s.len());
        }
        assert_eq!(sizes, vec![6, 6, 6, 2]);
    }
}
