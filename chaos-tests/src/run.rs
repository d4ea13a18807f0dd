//! One run: a fresh cluster, the seeded workload with the fault schedule beside it, healing,
//! then the invariant checker.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::backend::{client_for, wait_ready, Backend};
use crate::check::{check_all, harness, CheckReport};
use crate::history::{CasHistory, ObjectHistory, OpCounts};
use crate::inject::{Executed, Injector};
use crate::schedule::{self, FaultKind, Planned};
use crate::workload::{self, Shared, NAMESPACE, OP_LIMIT};

pub struct RunParams {
    pub seed: u64,
    pub duration: Duration,
    pub ops: u64,
    pub kinds: Vec<FaultKind>,
    pub redundancy_bound: Duration,
    pub sabotage: bool,
    /// Fewer acknowledged puts than this fail the run (see check/harness.rs).
    pub min_puts_acked: u64,
    /// Invariants whose violations are reported as warnings only (known, tracked elsewhere).
    pub tolerate: Vec<String>,
}

pub struct RunOutcome {
    pub seed: u64,
    pub plan: Vec<Planned>,
    pub log: Vec<Executed>,
    pub counts: OpCounts,
    pub report: CheckReport,
    pub warnings: Vec<String>,
    pub elapsed: Duration,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

pub fn plan_for(p: &RunParams) -> Vec<Planned> {
    let mut rng = ChaCha8Rng::seed_from_u64(p.seed);
    schedule::plan(&mut rng, p.duration, &p.kinds)
}

pub async fn run_one<B: Backend>(backend: &mut B, p: &RunParams) -> Result<RunOutcome> {
    let began = Instant::now();
    let plan = plan_for(p);
    eprintln!("chaos: run seed={} ({} faults planned)", p.seed, plan.len());
    backend.start().await.context("starting a fresh cluster")?;
    let nodes = backend.nodes();
    let client = client_for(&nodes)?;
    client
        .create_namespace(NAMESPACE, None, 0)
        .await
        .context("creating the chaos namespace")?;

    let start = Instant::now();
    let shared = Arc::new(Shared {
        client: client_for(&nodes)?,
        seed: p.seed,
        start,
        deadline: start + p.duration,
        ops_limit: p.ops,
        ops_started: AtomicU64::new(0),
        objects: Mutex::new(ObjectHistory::default()),
        cas: Mutex::new(CasHistory::default()),
        worm: Mutex::new(Default::default()),
        // Locked objects must survive clock jumps: with the clock faults only, so that the
        // default campaign's workload stays as it was.
        worm_enabled: p.kinds.iter().any(|k| {
            matches!(
                k,
                FaultKind::ClockJump | FaultKind::ClockJumpLeader | FaultKind::LongPartition | FaultKind::ClockSkew
            )
        }),
    });
    let workload = tokio::spawn(workload::run(shared.clone()));
    let log = Injector::new(backend, &client, start, &shared.objects).run(&plan).await;
    let mut warnings = Vec::new();
    let limit = p.duration + OP_LIMIT + Duration::from_secs(30);
    match tokio::time::timeout(limit.saturating_sub(start.elapsed()), workload).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => warnings.push(format!("the workload task failed: {e}")),
        Err(_) => warnings.push(format!("the workload did not finish within {limit:?}")),
    }

    backend.heal_all().await.context("healing every fault")?;
    let healed_at_ms = now_ms();
    wait_ready(&nodes, Duration::from_secs(90))
        .await
        .context("the cluster did not recover after healing")?;

    let objects = std::mem::take(&mut *shared.objects.lock().map_err(|_| anyhow::anyhow!("history poisoned"))?);
    if p.sabotage {
        let what = sabotage(backend, &client, &objects).await?;
        eprintln!("chaos: self-test: {what}");
        warnings.push(format!("self-test: {what}"));
    }
    let cas = std::mem::take(&mut *shared.cas.lock().map_err(|_| anyhow::anyhow!("history poisoned"))?);
    let placement = backend.placement_check_interval();
    let mut report = check_all(
        &client,
        &nodes,
        &objects,
        &cas,
        healed_at_ms,
        p.redundancy_bound,
        placement,
    )
    .await;
    let worm = std::mem::take(&mut *shared.worm.lock().map_err(|_| anyhow::anyhow!("history poisoned"))?);
    if shared.worm_enabled {
        eprintln!(
            "chaos: worm: {} locked object(s), {} delete(s) refused, {} of unknown outcome",
            worm.locked.len(),
            worm.deletes_refused,
            worm.deletes_unknown
        );
        report
            .violations
            .extend(crate::check::worm::check(&client, &worm).await);
    }
    report.violations.extend(harness::check(
        plan.len(),
        &log,
        objects.counts.puts_acked,
        p.min_puts_acked,
    ));
    warnings.extend(objects.warnings.iter().cloned());
    let (tolerated, violations) = std::mem::take(&mut report.violations)
        .into_iter()
        .partition(|v| p.tolerate.iter().any(|t| t == v.invariant));
    report.violations = violations;
    let tolerated: Vec<crate::check::Violation> = tolerated;
    warnings.extend(
        tolerated
            .iter()
            .map(|v| format!("tolerated [{}] {}", v.invariant, v.detail)),
    );
    Ok(RunOutcome {
        seed: p.seed,
        plan,
        log,
        counts: objects.counts.clone(),
        report,
        warnings,
        elapsed: began.elapsed(),
    })
}

/// Deletes every shard of one acknowledged sharded object: a loss the checker must report.
async fn sabotage<B: Backend>(
    backend: &B,
    client: &archipel_client::Client,
    objects: &ObjectHistory,
) -> Result<String> {
    for (key, rec) in objects
        .keys
        .iter()
        .filter(|(_, r)| r.must_exist() && r.possible.len() == 1)
    {
        let info = client.stat_object(NAMESPACE, key).await?;
        if info.shards.is_empty() {
            continue;
        }
        let hex = hex::encode(&info.object_id);
        let paths = info
            .shards
            .iter()
            .map(|s| backend.shard_path(s.node_id, &hex, s.index))
            .collect::<Result<Vec<_>>>()?;
        if !paths.iter().all(|p| p.exists()) {
            continue; // packed shards: only files can be destroyed from outside a running node
        }
        for path in &paths {
            std::fs::remove_file(path).with_context(|| format!("cannot delete {}", path.display()))?;
        }
        return Ok(format!(
            "deleted all {} shards of {key} ({})",
            info.shards.len(),
            rec.describe_possible()
        ));
    }
    anyhow::bail!("self-test: no acknowledged sharded object to destroy")
}
