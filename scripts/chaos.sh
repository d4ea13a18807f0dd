#!/usr/bin/env bash
# A chaos campaign against a real cluster: a seeded workload under injected faults, then the
# invariant checker (chaos-tests/, docs/reliability.md). Through the 4-site docker-compose
# cluster when Docker works, else through local `archipel server` processes.
#
#   scripts/chaos.sh                      # 100 runs, seeds from the clock (printed)
#   RUNS=10 scripts/chaos.sh --seed 42    # extra arguments go to chaos-tests
#   BACKEND=process scripts/chaos.sh      # force a backend (process | compose)
#   REBUILD_IMAGE=1 scripts/chaos.sh      # rebuild archipel:latest first (else built only if missing)
#   FAULTS=default scripts/chaos.sh       # only the default kinds; default here: all, i.e. also the
#                                         # opt-in partitions, clock jumps, ENOSPC and EIO (root)
#
# The campaign log is kept in $LOG_DIR (default ~/.cache/archipel/chaos); the summary is the last
# lines printed. Exit code: 0 when every run passed, 1 on any violation, 2 if it could not run.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/archipel/target}
runs=${RUNS:-100}
faults=${FAULTS:-all}
log_dir=${LOG_DIR:-$HOME/.cache/archipel/chaos}

have_docker() {
    command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1 &&
        { docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null 2>&1; }
}

backend=${BACKEND:-}
if [[ -z $backend ]]; then
    if have_docker; then backend=compose; else backend=process; fi
fi
case $backend in
process)
    # Long partitions hold 22-32 s: longer runs when the opt-in faults are on.
    if [[ $faults == default ]]; then duration=${DURATION:-40}; else duration=${DURATION:-90}; fi
    ;;
compose) duration=${DURATION:-60} ;;
*)
    echo "chaos: BACKEND must be process or compose" >&2
    exit 2
    ;;
esac

# Clock skew needs libfaketime (Debian package faketime); without it that fault is skipped.
if [[ ! -e /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 ]] && command -v apt-get >/dev/null 2>&1; then
    if [[ $(id -u) == 0 ]]; then
        apt-get install -y -qq faketime >/dev/null 2>&1 ||
            echo "chaos: could not install faketime; the clock-skew fault is skipped" >&2
    else
        echo "chaos: libfaketime missing (apt-get install faketime); the clock-skew fault is skipped" >&2
    fi
fi

cd "$repo"
echo "chaos: building (target dir $CARGO_TARGET_DIR)"
if [[ $backend == process ]]; then
    cargo build -q -p archipel -p chaos-tests
else
    cargo build -q -p chaos-tests
    if [[ ${REBUILD_IMAGE:-0} == 1 ]]; then
        deploy/build-image.sh
    fi
fi

mkdir -p "$log_dir"
log="$log_dir/chaos-$backend-$(date -u +%Y%m%dT%H%M%SZ).log"
echo "chaos: $runs run(s) on the $backend backend, $duration s each; log: $log"
fault_args=()
if [[ $faults != default ]]; then
    fault_args=(--faults "$faults")
fi
set +e
"$CARGO_TARGET_DIR/debug/chaos-tests" --backend "$backend" --runs "$runs" --duration "$duration" "${fault_args[@]}" "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
echo "chaos: log kept in $log"
exit "$status"
