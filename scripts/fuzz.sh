#!/usr/bin/env bash
# Runs every cargo-fuzz target for a bounded time each, one after another (one core each).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     default: 60 s per target, every target
#
# Targets: pronom (matcher, containers, signatures), seda (manifest_parse, sip_open,
# version_detect), node (config_parse, rpc_decode, raft_command). The fuzz crates are their own workspaces,
# outside the root one, built with RUSTC_BOOTSTRAP=1 (cargo-fuzz wants nightly flags) in their
# own target dir. Seeds come at run time from shared/corpus/seda and deploy/config; nothing is
# copied into the repository. Exits 1 if any target crashed, hung or ran out of memory, and
# prints where the failing input is. See docs/security.md#fuzzing.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

DURATION=${1:-60}
shift || true
[[ $DURATION =~ ^[0-9]+$ ]] || { echo "usage: scripts/fuzz.sh [SECONDS] [TARGET...]" >&2; exit 2; }

export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${ARCHIPEL_FUZZ_TARGET_DIR:-$HOME/.cache/archipel/fuzz-target}"
WORK="${ARCHIPEL_FUZZ_DIR:-$HOME/.cache/archipel/fuzz}"
SHARED="${ARCHIPEL_SHARED_DIR:-$ROOT/../shared}"
mkdir -p "$CARGO_TARGET_DIR" "$WORK"

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz" >&2
  cargo install cargo-fuzz --locked
fi

# crate:target
ALL=(pronom:matcher pronom:containers pronom:signatures
  seda:manifest_parse seda:sip_open seda:version_detect
  node:config_parse node:rpc_decode node:raft_command)
if (($#)); then
  SELECTED=()
  for want in "$@"; do
    found=""
    for t in "${ALL[@]}"; do [[ ${t#*:} == "$want" ]] && { SELECTED+=("$t"); found=1; }; done
    [[ -n $found ]] || { echo "fuzz: unknown target $want (known: ${ALL[*]#*:})" >&2; exit 2; }
  done
else
  SELECTED=("${ALL[@]}")
fi

# Seeds for a target, written under $1 (a scratch dir rebuilt at each run).
seeds() {
  local target=$1 dir=$2
  rm -rf "$dir" && mkdir -p "$dir"
  local seda="$SHARED/corpus/seda"
  case $target in
    manifest_parse | version_detect)
      [[ -d $seda ]] || return 0
      find "$seda" -maxdepth 1 -name '*.xml' -size -64k -exec cp {} "$dir/" \;
      # The manifests inside the sample SIPs.
      for z in "$seda"/*.zip; do
        [[ -f $z ]] || continue
        python3 - "$z" "$dir/$(basename "$z" .zip).manifest.xml" <<'PY' || true
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
for n in z.namelist():
    if n.lower().endswith("manifest.xml"):
        data = z.read(n)
        if len(data) <= 65536:
            open(sys.argv[2], "wb").write(data)
        break
PY
      done
      ;;
    sip_open)
      if [[ -d $seda ]]; then find "$seda" -maxdepth 1 -name '*.zip' -size -64k -exec cp {} "$dir/" \;; fi
      ;;
    config_parse)
      cp deploy/config/*.toml "$dir/" 2>/dev/null || true
      ;;
  esac
  return 0
}

max_len() {
  case $1 in
    manifest_parse | sip_open) echo 65536 ;;
    config_parse) echo 8192 ;;
    *) echo 0 ;; # libFuzzer's own choice
  esac
}

failed=()
for t in "${SELECTED[@]}"; do
  crate=${t%%:*}
  target=${t#*:}
  dir="$WORK/$crate/$target"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  seeds "$target" "$dir/seeds"
  log="$dir/last-run.log"
  echo "== fuzz $crate/$target for ${DURATION}s (corpus $dir/corpus)"
  # -timeout: an input that takes over 10 s counts as a hang; -rss_limit_mb bounds memory.
  status=0
  (cd "$crate" && cargo fuzz run -O "$target" "$dir/corpus" "$dir/seeds" -- \
    -max_total_time="$DURATION" -timeout=10 -rss_limit_mb=2048 -max_len="$(max_len "$target")" \
    -artifact_prefix="$dir/artifacts/" -print_final_stats=1) >"$log" 2>&1 || status=$?
  runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1 || true)
  if ((status != 0)); then
    echo "!! $crate/$target FAILED (exit $status) after ${runs:-?} executions; log: $log"
    grep -E 'Test unit written to|^==[0-9]+==ERROR|panicked at|^SUMMARY' "$log" | head -5 | sed 's/^/   /' || tail -20 "$log"
    failed+=("$crate/$target")
  else
    echo "   ok: ${runs:-?} executions, no crash"
  fi
done

if ((${#failed[@]})); then
  echo "fuzz: ${#failed[@]} target(s) failed: ${failed[*]}. Reproduce with" \
    "'cd CRATE && RUSTC_BOOTSTRAP=1 cargo fuzz run -O TARGET ARTIFACT'." >&2
  exit 1
fi
echo "fuzz: every target ran ${DURATION}s without a crash"
