# Sourced by the scripts: one cargo target dir outside the clone, so RocksDB is built once
# per machine rather than once per checkout.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/archipel/target}"
mkdir -p "$CARGO_TARGET_DIR"
