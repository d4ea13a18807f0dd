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
# placement-site-bound is a known violation (a site down past node_down_timeout leaves its shards
# rebuilt on the other sites, beyond m-1, with nothing to move them back: issue 17, point 6); it is
# reported as a warning here until the mover lands. docs/reliability.md#violations-found.
"$CARGO_TARGET_DIR/debug/chaos-tests" --backend process --runs 3 --seed 7000 --duration 30 --ops 200 \
  --tolerate placement-site-bound
echo "== cargo test"
cargo test --workspace
