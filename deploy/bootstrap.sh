#!/usr/bin/env bash
# Bootstraps the demo cluster of deploy/docker-compose.yml once its nodes run: `cluster init` on
# region-1, then `node add` for the seven others, then `archipel status`.
#
#   deploy/pki.sh
#   docker-compose -f deploy/docker-compose.yml up -d
#   deploy/bootstrap.sh
#
# Safe to re-run: an initialised cluster is left as it is and adding a node already in the
# cluster changes nothing. Commands run with the binary inside region-1 (`exec`), so no archipel
# binary is needed on the host. Exit code: that of `archipel status` (0 ok, 3 degraded,
# 4 unavailable), or 1 if a step failed.
set -euo pipefail

die() {
    echo "bootstrap: $*" >&2
    exit 1
}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
file="$here/docker-compose.yml"
# service:site, in node id order; the first one is initialised.
nodes=(region-1:region region-2:region departement-1:departement departement-2:departement
    metropole-1:metropole metropole-2:metropole ville-1:ville ville-2:ville)
first=${nodes[0]%%:*}
wait_secs=${WAIT_SECS:-120}

if docker compose version >/dev/null 2>&1; then
    compose=(docker compose -f "$file")
elif command -v docker-compose >/dev/null 2>&1; then
    compose=(docker-compose -f "$file")
else
    die "neither \`docker compose\` nor \`docker-compose\` is installed"
fi

# The archipel binary inside the first node (the image has no shell, so call it directly).
archipel() {
    "${compose[@]}" exec -T "$first" /usr/bin/archipel "$@"
}

[[ -e $here/pki/clients/operator/client.pem ]] ||
    die "no certificates in $here/pki; run deploy/pki.sh before starting the nodes"

[[ -n $("${compose[@]}" ps -q "$first" 2>/dev/null) ]] ||
    die "$first is not running; start the nodes first: ${compose[*]} up -d"

echo "bootstrap: waiting for the 8 nodes to answer (up to ${wait_secs}s)"
deadline=$((SECONDS + wait_secs))
for entry in "${nodes[@]}"; do
    svc=${entry%%:*}
    until archipel node info "$svc:7400" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || die "$svc:7400 does not answer; see: ${compose[*]} logs $svc"
        sleep 2
    done
done

if out=$(archipel cluster init --node "$first:7400" 2>&1); then
    echo "$out"
elif grep -q "already belongs to cluster" <<<"$out"; then
    echo "bootstrap: $first is already initialised, keeping its cluster"
else
    echo "$out" >&2
    die "cluster init on $first failed"
fi

for entry in "${nodes[@]:1}"; do
    svc=${entry%%:*}
    site=${entry#*:}
    archipel node add "$svc:7400" --site "$site" || die "adding $svc failed"
done

echo
archipel status
