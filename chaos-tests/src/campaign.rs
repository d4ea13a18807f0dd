//! A campaign: runs one after another on one backend, each failure printed in full, then the
//! summary.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Result};

use crate::backend::Backend;
use crate::check::INVARIANTS;
use crate::cli::{Args, BackendKind};
use crate::report::{print_failure, print_schedule, Summary};
use crate::run::{run_one, RunParams};
use crate::schedule::{self, FaultKind};

fn default_seed() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(1)
}
/// The kinds named by `--faults` (`all`: every kind the backend supports), else its defaults.
fn kinds(args: &Args, supported: &[FaultKind], defaults: &[FaultKind]) -> Result<Vec<FaultKind>> {
    if args.faults.is_empty() {
        return Ok(defaults.to_vec());
    }
    let mut out = Vec::new();
    for name in &args.faults {
        if name.trim() == "all" {
            out.extend(
                supported
                    .iter()
                    .filter(|k| !out.contains(*k))
                    .copied()
                    .collect::<Vec<_>>(),
            );
            continue;
        }
        let Some(k) = FaultKind::parse(name) else {
            bail!(
                "unknown fault `{name}`; known: all, {}",
                schedule::ALL.map(FaultKind::name).join(", ")
            );
        };
        if !supported.contains(&k) {
            bail!("the chosen backend cannot inject `{name}` here (see docs/reliability.md for what each fault needs)");
        }
        if !out.contains(&k) {
            out.push(k);
        }
    }
    Ok(out)
}

/// SIGINT or SIGTERM: the campaign stops its cluster before exiting. Created once, so that a
/// signal arriving between two runs is not lost.
struct Interrupt {
    int: Option<tokio::signal::unix::Signal>,
    term: Option<tokio::signal::unix::Signal>,
}

impl Interrupt {
    fn new() -> Self {
        use tokio::signal::unix::{signal, SignalKind};
        Self {
            int: signal(SignalKind::interrupt()).ok(),
            term: signal(SignalKind::terminate()).ok(),
        }
    }

    async fn recv(&mut self) {
        match (self.int.as_mut(), self.term.as_mut()) {
            (Some(int), Some(term)) => {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
            }
            _ => std::future::pending().await,
        }
    }
}

fn replay_command(args: &Args, seed: u64) -> String {
    let backend = match args.backend {
        BackendKind::Process => "process",
        BackendKind::Compose => "compose",
    };
    let mut cmd = format!(
        "chaos-tests --backend {backend} --runs 1 --seed {seed} --duration {} --ops {} --min-puts-acked {}",
        args.duration, args.ops, args.min_puts_acked
    );
    if !args.faults.is_empty() {
        cmd.push_str(&format!(" --faults {}", args.faults.join(",")));
    }
    if !args.tolerate.is_empty() {
        cmd.push_str(&format!(" --tolerate {}", args.tolerate.join(",")));
    }
    cmd
}

pub async fn campaign<B: Backend>(mut backend: B, args: &Args) -> Result<bool> {
    let kinds = kinds(args, &backend.supported(), &backend.default_kinds())?;
    if let Some(unknown) = args.tolerate.iter().find(|t| !INVARIANTS.contains(&t.as_str())) {
        bail!(
            "unknown invariant `{unknown}` in --tolerate; known: {}",
            INVARIANTS.join(", ")
        );
    }
    let first = args.seed.unwrap_or_else(default_seed);
    println!(
        "chaos: {} backend, {} run(s) from seed {first}, {} s and at most {} object ops per run, faults: {}",
        backend.name(),
        args.runs,
        args.duration,
        args.ops,
        kinds.iter().map(|k| k.name()).collect::<Vec<_>>().join(",")
    );
    let mut summary = Summary::default();
    let mut kept = false;
    let mut interrupt = Interrupt::new();
    for i in 0..u64::from(args.runs) {
        let seed = first.wrapping_add(i);
        let params = RunParams {
            seed,
            duration: Duration::from_secs(args.duration),
            ops: args.ops,
            kinds: kinds.clone(),
            redundancy_bound: Duration::from_secs(args.redundancy_bound),
            sabotage: args.self_test,
            min_puts_acked: args.min_puts_acked,
            tolerate: args.tolerate.clone(),
        };
        let outcome = tokio::select! {
            r = run_one(&mut backend, &params) => r,
            _ = interrupt.recv() => {
                println!("chaos: interrupted during run seed={seed}; stopping the cluster");
                summary.error(seed, "interrupted".into());
                break;
            }
        };
        let failed = match outcome {
            Ok(outcome) => {
                let c = &outcome.counts;
                println!(
                    "run {}/{} seed={seed}: {} in {:.0} s; {} faults, {} puts acked, {} objects checked, redundancy back in {}, {} damaged shards found by the post-heal scrub",
                    i + 1,
                    args.runs,
                    if outcome.report.violations.is_empty() { "ok" } else { "VIOLATIONS" },
                    outcome.elapsed.as_secs_f64(),
                    outcome.log.iter().filter(|e| e.ok()).count(),
                    c.puts_acked,
                    outcome.report.objects_checked,
                    outcome
                        .report
                        .redundancy_after
                        .map_or("-".to_owned(), |d| format!("{:.1} s", d.as_secs_f64())),
                    outcome.report.scrub_errors
                );
                let failed = if args.self_test {
                    let caught = outcome
                        .report
                        .violations
                        .iter()
                        .any(|v| v.invariant == "acked-put-readable");
                    println!(
                        "   self-test: the destroyed object was {}",
                        if caught {
                            "reported (good)"
                        } else {
                            "NOT reported: the checker is blind"
                        }
                    );
                    !caught
                } else {
                    !outcome.report.violations.is_empty()
                };
                if !outcome.report.violations.is_empty() {
                    print_failure(&outcome, &replay_command(args, seed), &backend.debug_hint());
                } else if args.runs == 1 {
                    print_schedule(&outcome);
                }
                summary.add(&outcome);
                if args.self_test && !failed {
                    summary.self_test_passed += 1;
                }
                failed
            }
            Err(e) => {
                let msg = format!("{e:#}");
                println!("run {}/{} seed={seed}: ERROR {msg}", i + 1, args.runs);
                println!("   replay: {}", replay_command(args, seed));
                println!("   {}", backend.debug_hint());
                summary.error(seed, msg);
                true
            }
        };
        if failed && (args.keep_failed || args.fail_fast) {
            kept = args.keep_failed;
            break;
        }
    }
    if let Err(e) = backend.stop(kept).await {
        eprintln!("chaos: stopping the cluster failed: {e:#}");
    }
    summary.print(backend.name());
    if args.self_test {
        return Ok(summary.self_test_passed == summary.runs);
    }
    Ok(summary.ok())
}
