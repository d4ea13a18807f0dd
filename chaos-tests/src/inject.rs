//! Executes a run's fault schedule against a backend, one fault at a time, and logs exactly
//! what was hit and when.

use std::collections::BTreeSet;
use std::fmt;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use archipel_client::Client;
use archipel_node::shards::packed;

use crate::backend::{wait_healthy, Backend};
use crate::history::ObjectHistory;
use crate::schedule::{FaultKind, Planned};
use crate::workload::NAMESPACE;

/// How long a fault that needs the leader waits for an election to end.
const LEADER_WAIT: Duration = Duration::from_secs(15);
/// How long a damage fault waits for an acknowledged sharded object to hit.
const CANDIDATE_WAIT: Duration = Duration::from_secs(10);
/// 25 h: past the collected-mark TTL's 24 h floor (`node/src/objects/collected.rs`).
const MARK_TTL_JUMP_MS: i64 = 25 * 3_600_000;

#[derive(Debug, Clone)]
pub struct Executed {
    pub planned: Planned,
    pub injected_at: Duration,
    pub healed_at: Option<Duration>,
    pub target: String,
    pub error: Option<String>,
}

impl Executed {
    pub fn ok(&self) -> bool {
        self.error.is_none()
    }
}

impl fmt::Display for Executed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "t+{:>6.1}s {:<16} {:<34}",
            self.injected_at.as_secs_f64(),
            self.planned.kind.name(),
            self.target
        )?;
        match self.healed_at {
            Some(h) => write!(f, " healed t+{:.1}s", h.as_secs_f64())?,
            None => write!(f, " (nothing to heal)")?,
        }
        if let Some(e) = &self.error {
            write!(f, "  ERROR: {e}")?;
        }
        Ok(())
    }
}

pub struct Injector<'a, B: Backend> {
    pub backend: &'a mut B,
    pub client: &'a Client,
    pub start: Instant,
    pub objects: &'a std::sync::Mutex<ObjectHistory>,
    /// Objects already damaged in this run: at most one shard each, to stay within m.
    damaged: BTreeSet<Vec<u8>>,
}

impl<'a, B: Backend> Injector<'a, B> {
    pub fn new(
        backend: &'a mut B,
        client: &'a Client,
        start: Instant,
        objects: &'a std::sync::Mutex<ObjectHistory>,
    ) -> Self {
        Self {
            backend,
            client,
            start,
            objects,
            damaged: BTreeSet::new(),
        }
    }

    pub async fn run(&mut self, plan: &[Planned]) -> Vec<Executed> {
        let mut log = Vec::new();
        for p in plan {
            let due = self.start + p.at;
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                tokio::time::sleep(wait).await;
            }
            let injected_at = self.start.elapsed();
            let mut entry = Executed {
                planned: p.clone(),
                injected_at,
                healed_at: None,
                target: String::new(),
                error: None,
            };
            if let Err(e) = self.one(p, &mut entry).await {
                entry.error = Some(format!("{e:#}"));
            }
            eprintln!("chaos:   {entry}");
            log.push(entry);
        }
        log
    }

    /// The leader, waiting out an election (a previous fault may just have killed it).
    async fn leader(&self) -> Result<u64> {
        let deadline = Instant::now() + LEADER_WAIT;
        loop {
            let last = match self.client.status(1000).await {
                Ok(s) => match s.leader_id {
                    Some(id) => return Ok(id),
                    None => "no leader known".to_owned(),
                },
                Err(e) => e.to_string(),
            };
            if Instant::now() >= deadline {
                bail!("no leader within {LEADER_WAIT:?}: {last}");
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    async fn one(&mut self, p: &Planned, e: &mut Executed) -> Result<()> {
        let nodes = self.backend.nodes();
        if nodes.is_empty() {
            bail!("no nodes");
        }
        let node = nodes[(p.pick % nodes.len() as u64) as usize].clone();
        let sites: Vec<String> = nodes
            .iter()
            .map(|n| n.site.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let site = sites[(p.pick % sites.len() as u64) as usize].clone();
        match p.kind {
            FaultKind::KillNode | FaultKind::KillLeader => {
                let id = if p.kind == FaultKind::KillLeader {
                    self.leader().await?
                } else {
                    node.id
                };
                e.target = format!("node {id}");
                self.backend.kill(id).await?;
                self.hold(p).await;
                self.backend.revive(id).await?;
            }
            FaultKind::KillSite => {
                let ids: Vec<u64> = nodes.iter().filter(|n| n.site == site).map(|n| n.id).collect();
                e.target = format!("site {site} (nodes {ids:?})");
                for id in &ids {
                    self.backend.kill(*id).await?;
                }
                self.hold(p).await;
                for id in &ids {
                    self.backend.revive(*id).await?;
                }
            }
            FaultKind::Pause | FaultKind::PauseLeader => {
                // A paused leader wakes up believing it still leads: a classic for stale reads.
                let id = if p.kind == FaultKind::PauseLeader {
                    self.leader().await?
                } else {
                    node.id
                };
                e.target = format!("node {id}");
                self.backend.pause(id).await?;
                self.hold(p).await;
                self.backend.resume(id).await?;
            }
            FaultKind::CutSite => {
                e.target = format!("site {site}");
                self.backend.cut_site(&site).await?;
                self.hold(p).await;
                self.backend.heal_site(&site).await?;
            }
            FaultKind::Latency => {
                e.target = "every node's WAN interface, 200 ms".into();
                self.backend.add_latency().await?;
                self.hold(p).await;
                self.backend.remove_latency().await?;
            }
            FaultKind::DiskFull => {
                e.target = format!("node {} (capacity 4KiB)", node.id);
                self.backend.fill_disk(node.id).await?;
                self.hold(p).await;
                self.backend.unfill_disk(node.id).await?;
            }
            FaultKind::ClockSkew => {
                let secs = 30 + (p.pick >> 8) as i64 % 870;
                let secs = if (p.pick >> 20) & 1 == 1 { -secs } else { secs };
                e.target = format!("node {} ({secs:+} s)", node.id);
                self.backend.skew_clock(node.id, secs).await?;
                self.hold(p).await;
                self.backend.unskew_clock(node.id).await?;
            }
            FaultKind::RollingRestart => {
                // As docs/operations.md says: one at a time, the leader last, healthy in between.
                let leader = self.leader().await.ok();
                let mut order: Vec<u64> = nodes.iter().map(|n| n.id).filter(|id| Some(*id) != leader).collect();
                order.extend(leader);
                e.target = format!("every node, one by one: {order:?}");
                for id in order {
                    self.backend.restart(id).await?;
                    wait_healthy(&nodes, Duration::from_secs(60)).await?;
                }
            }
            FaultKind::OneWayLeader => {
                // The leader cannot open a connection to anyone; everyone still reaches it.
                let leader = self.leader().await?;
                let others: Vec<u64> = nodes.iter().map(|n| n.id).filter(|id| *id != leader).collect();
                e.target = format!("node {leader} (leader) → every other node");
                self.links(leader, &others, true, false).await?;
                self.hold(p).await;
                self.links(leader, &others, true, true).await?;
            }
            FaultKind::OneWayLink => {
                // One direction between the leader and another node, either way round.
                let leader = self.leader().await?;
                let others: Vec<u64> = nodes.iter().map(|n| n.id).filter(|id| *id != leader).collect();
                let other = others[((p.pick >> 8) % others.len() as u64) as usize];
                let (from, to) = if (p.pick >> 4) & 1 == 1 {
                    (leader, other)
                } else {
                    (other, leader)
                };
                e.target = format!("link {from} → {to} (leader {leader})");
                self.backend.set_link(from, to, false).await?;
                self.hold(p).await;
                self.backend.set_link(from, to, true).await?;
            }
            FaultKind::LongPartition => {
                e.target = self.long_partition(p).await?;
            }
            FaultKind::CutSiteRestart => {
                // Overlapping faults: a site cut off while a node of another site restarts.
                let others: Vec<u64> = nodes.iter().filter(|n| n.site != site).map(|n| n.id).collect();
                let victim = others[((p.pick >> 8) % others.len() as u64) as usize];
                e.target = format!("site {site} cut; node {victim} killed and restarted meanwhile");
                self.backend.cut_site(&site).await?;
                tokio::time::sleep(p.hold / 3).await;
                self.backend.kill(victim).await?;
                tokio::time::sleep(p.hold / 3).await;
                self.backend.revive(victim).await?;
                tokio::time::sleep(p.hold / 3).await;
                self.backend.heal_site(&site).await?;
            }
            FaultKind::ClockJump | FaultKind::ClockJumpLeader => {
                let id = if p.kind == FaultKind::ClockJumpLeader {
                    self.leader().await?
                } else {
                    node.id
                };
                // From a minute to two days, either way: the stamping clock of a running node.
                let ms = 60_000 + (p.pick >> 8) as i64 % (2 * 86_400_000 - 60_000);
                let ms = if (p.pick >> 40) & 1 == 1 { -ms } else { ms };
                e.target = format!("node {id} ({:+.1} h, running)", ms as f64 / 3_600_000.0);
                self.backend.set_clock_offset(id, ms).await?;
                self.hold(p).await;
                self.backend.set_clock_offset(id, 0).await?;
            }
            FaultKind::Enospc => {
                let taken = self.backend.fill_fs(node.id).await?;
                e.target = format!("node {} (filesystem full, {} MiB of ballast)", node.id, taken >> 20);
                self.hold(p).await;
                self.note_exit(node.id, e);
                self.backend.unfill_fs(node.id).await?;
                if self.backend.is_running(node.id) == Some(false) {
                    self.backend.revive(node.id).await?;
                }
            }
            FaultKind::Eio => {
                e.target = format!("node {} (every disk I/O fails with EIO)", node.id);
                self.backend.fail_disk(node.id).await?;
                self.hold(p).await;
                self.note_exit(node.id, e);
                self.backend.repair_disk(node.id).await?;
            }
            FaultKind::FlipBytes | FaultKind::DeleteShard => {
                e.target = self.damage(p).await?;
                e.healed_at = None;
                return Ok(());
            }
        }
        e.healed_at = Some(self.start.elapsed());
        Ok(())
    }

    /// Cuts (`open` false) or opens the links between `node` and each of `others`: outgoing
    /// ones, and the incoming ones too unless `one_way`.
    async fn links(&mut self, node: u64, others: &[u64], one_way: bool, open: bool) -> Result<()> {
        for o in others {
            self.backend.set_link(node, *o, open).await?;
            if !one_way {
                self.backend.set_link(*o, node, open).await?;
            }
        }
        Ok(())
    }

    /// The leader cut off both ways for longer than the orphan grace and the node-down
    /// timeout. Halfway, once the majority elected a leader, every node of the majority jumps 25 h
    /// ahead: past the 24 h floor of the collected-mark TTL, which no real partition in a run can
    /// outlast. The whole majority, because entries are stamped with a majority's clock: one
    /// node's jump alone no longer moves the cluster's time. Then all heals.
    async fn long_partition(&mut self, p: &Planned) -> Result<String> {
        let nodes = self.backend.nodes();
        let leader = self.leader().await?;
        let others: Vec<u64> = nodes.iter().map(|n| n.id).filter(|id| *id != leader).collect();
        self.links(leader, &others, false, false).await?;
        let began = Instant::now();
        tokio::time::sleep(p.hold / 2).await;
        let mut target = format!("node {leader} (leader) isolated {:.0} s", p.hold.as_secs_f64());
        let successor = self.leader_among(&nodes, leader).await;
        let jumped = match successor {
            Some(id) => {
                for o in &others {
                    self.backend.set_clock_offset(*o, MARK_TTL_JUMP_MS).await?;
                }
                target.push_str(&format!(
                    "; new leader {id}; the majority's {} nodes jumped +25 h",
                    others.len()
                ));
                true
            }
            None => {
                target.push_str("; no new leader within the wait (no clock jump)");
                false
            }
        };
        if let Some(rest) = p.hold.checked_sub(began.elapsed()) {
            tokio::time::sleep(rest).await;
        }
        if jumped {
            for o in &others {
                self.backend.set_clock_offset(*o, 0).await?;
            }
        }
        self.links(leader, &others, false, true).await?;
        if successor.is_none() {
            bail!("{target}: the majority elected no leader while the old one was cut off");
        }
        Ok(target)
    }

    /// A node other than `except` that says it leads, asked node by node.
    async fn leader_among(&self, nodes: &[crate::backend::NodeRef], except: u64) -> Option<u64> {
        let deadline = Instant::now() + LEADER_WAIT;
        while Instant::now() < deadline {
            for n in nodes.iter().filter(|n| n.id != except) {
                if let Ok(Ok(info)) = tokio::time::timeout(Duration::from_secs(2), self.client.node_info(&n.addr)).await
                {
                    if info.raft.as_ref().is_some_and(|r| r.role == "leader") {
                        return Some(n.id);
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        None
    }

    /// Says in the log whether the node's process exited under a disk fault.
    fn note_exit(&mut self, node: u64, e: &mut Executed) {
        match self.backend.is_running(node) {
            Some(true) => e.target.push_str("; the node kept running"),
            Some(false) => e.target.push_str("; the node exited"),
            None => {}
        }
    }

    async fn hold(&self, p: &Planned) {
        tokio::time::sleep(p.hold).await;
    }

    /// Flips bytes in, or deletes, one shard of an acknowledged sharded object: a shard file
    /// in place, a packed shard in its node's store while that node is down. Waits a little for
    /// a first acknowledged object, so that an early damage fault is injected rather than lost.
    async fn damage(&mut self, p: &Planned) -> Result<String> {
        let deadline = Instant::now() + CANDIDATE_WAIT;
        loop {
            match self.damage_once(p).await? {
                Some(done) => return Ok(done),
                None if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(500)).await,
                None => bail!("no sharded, undamaged acknowledged object within {CANDIDATE_WAIT:?}"),
            }
        }
    }

    async fn damage_once(&mut self, p: &Planned) -> Result<Option<String>> {
        let candidates: Vec<String> = match self.objects.lock() {
            Ok(h) => h
                .keys
                .iter()
                .filter(|(_, r)| r.must_exist() && r.possible.len() == 1)
                .map(|(k, _)| k.clone())
                .collect(),
            Err(_) => bail!("history lock poisoned"),
        };
        for attempt in 0..candidates.len().min(16) as u64 {
            let key = &candidates[((p.pick.wrapping_add(attempt)) % candidates.len() as u64) as usize];
            let Ok(info) = self.client.stat_object(NAMESPACE, key).await else {
                continue;
            };
            if info.shards.is_empty() || self.damaged.contains(&info.object_id) {
                continue; // inline, or already hurt once
            }
            let shard = &info.shards[((p.pick >> 8) % info.shards.len() as u64) as usize];
            let Ok(object_id) = <[u8; 16]>::try_from(info.object_id.as_slice()) else {
                bail!("{key}: object id of {} bytes", info.object_id.len());
            };
            let path = self
                .backend
                .shard_path(shard.node_id, &hex::encode(object_id), shard.index)?;
            let what = if path.exists() {
                damage_file(&path, p)?
            } else {
                match self.damage_packed(shard.node_id, &object_id, shard.index, p).await? {
                    Some(what) => what,
                    None => continue, // neither a file nor packed there: moved by a repair meanwhile
                }
            };
            self.damaged.insert(info.object_id.clone());
            return Ok(Some(format!(
                "{key} shard {} on node {} ({what})",
                shard.index, shard.node_id
            )));
        }
        Ok(None)
    }

    /// A packed shard lives in the node's own RocksDB, which only a stopped node lets go of:
    /// kill the node, edit its store offline, start it again.
    async fn damage_packed(
        &mut self,
        node: u64,
        object_id: &[u8; 16],
        index: u32,
        p: &Planned,
    ) -> Result<Option<String>> {
        let dir = self.backend.data_dir(node)?;
        self.backend.kill(node).await?;
        let edited = if p.kind == FaultKind::FlipBytes {
            // Past the shard's JSON header, into stripe data (modulo the shard's length).
            let offset = 1024 + (p.pick >> 16) as usize % 4096;
            packed::flip_byte_offline(&dir, object_id, index, offset)
                .map(|hit| hit.then(|| format!("packed, byte {offset}")))
        } else {
            packed::delete_offline(&dir, object_id, index).map(|hit| hit.then(|| "packed, deleted".to_owned()))
        };
        let revived = self.backend.revive(node).await;
        let edited = edited.with_context(|| format!("cannot edit the packed store of node {node} offline"))?;
        revived.with_context(|| format!("node {node} did not come back after its packed store was edited"))?;
        Ok(edited)
    }
}

/// Flips 16 bytes of a shard file in place, or deletes it.
fn damage_file(path: &std::path::Path, p: &Planned) -> Result<String> {
    if p.kind == FaultKind::FlipBytes {
        let mut bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        if bytes.is_empty() {
            bail!("{} is empty", path.display());
        }
        let at = ((p.pick >> 16) % bytes.len() as u64) as usize;
        let end = (at + 16).min(bytes.len());
        for b in &mut bytes[at..end] {
            *b ^= 0x5a;
        }
        std::fs::write(path, &bytes).with_context(|| format!("cannot write {}", path.display()))?;
        Ok(format!("bytes {at}..{end}"))
    } else {
        std::fs::remove_file(path).with_context(|| format!("cannot delete {}", path.display()))?;
        Ok("deleted".into())
    }
}
