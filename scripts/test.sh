#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it: formatting, lints, then every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
. scripts/env.sh
echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy -D warnings"
cargo clippy --workspace --all-targets -- -D warnings
echo "== cargo check: fuzz crates (their own workspaces; scripts/fuzz.sh runs them)"
for crate in node/fuzz seda/fuzz pronom/fuzz; do
  (cd "$crate" && cargo check --locked --bins)
done
echo "== chaos: short campaign (local processes, fixed seeds; the long one is scripts/chaos.sh)"
cargo build -p archipel -p chaos-tests
"$CARGO_TARGET_DIR/debug/chaos-tests" --backend process --runs 3 --seed 7000 --duration 30 --ops 200
# Regression seed: a site away 11.5 s while the workload writes; its shards must move back
# (placement-site-bound, docs/reliability.md#fixed).
"$CARGO_TARGET_DIR/debug/chaos-tests" --backend process --runs 1 --seed 3 --duration 25
echo "== cargo test"
cargo test --workspace
