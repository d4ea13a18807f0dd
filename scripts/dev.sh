#!/usr/bin/env bash
# Starts a local 3-site x 2-node Archipel cluster (one process per node) in the foreground.
# Extra arguments go to `archipel dev`, e.g. --sites 4 --nodes-per-site 2. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
. scripts/env.sh
cargo build -p archipel
exec "$CARGO_TARGET_DIR/debug/archipel" dev --data "${ARCHIPEL_DEV_DATA:-$PWD/.dev-data}" "$@"
