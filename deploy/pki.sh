#!/usr/bin/env bash
# Creates the demo cluster's PKI in deploy/pki, once, before `docker-compose up`: a cluster CA, one
# certificate per node (SANs: its service name, for the other nodes, and 127.0.0.1, for the
# published ports), an operator client certificate and the master key of encryption at rest.
# See docs/security.md and docs/encryption.md.
#
#   deploy/pki.sh            # keeps an existing deploy/pki (re-running changes nothing)
#   FORCE=1 deploy/pki.sh    # re-issues the node and operator certificates with the same CA
#
# The files are made by the archipel image itself, as the image's user, so the nodes can read
# their 0600 keys through the read-only bind mounts. From the host, read them as root (or run
# admin commands inside a node: docker-compose exec region-1 archipel status).
set -euo pipefail

die() {
    echo "pki: $*" >&2
    exit 1
}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
pki="$here/pki"
image=${IMAGE:-archipel:latest}
# service:site, in node id order (as in docker-compose.yml and config/).
nodes=(region-1:region region-2:region departement-1:departement departement-2:departement
    metropole-1:metropole metropole-2:metropole ville-1:ville ville-2:ville)

docker image inspect "$image" >/dev/null 2>&1 || die "no image $image; build it first: deploy/build-image.sh"

cert() {
    docker run --rm --network none -v "$pki:/pki" "$image" cert "$@" --dir /pki >/dev/null
}

mkdir -p "$pki"
# The image's user writes here during generation; afterwards others may only traverse.
chmod 1777 "$pki"
trap 'chmod 0711 "$pki"' EXIT

if [[ ! -e $pki/ca.key ]]; then
    cert init --name "Archipel demo CA"
    echo "pki: created the cluster CA in $pki"
fi
id=0
for entry in "${nodes[@]}"; do
    id=$((id + 1))
    svc=${entry%%:*}
    site=${entry#*:}
    if [[ ! -e $pki/nodes/$id/node.key || -n ${FORCE:-} ]]; then
        cert issue --node "$id" --site "$site" --addr "$svc:7400" --addr 127.0.0.1
        echo "pki: issued node $id ($svc, site $site)"
    fi
done
# Encryption at rest: the master key beside the CA (made by `cert init`, or now for a PKI made
# before it existed), copied into every node bundle. Re-running changes nothing. Back it up.
cert master-key
echo "pki: master key in $pki/master.key and every node bundle (docs/encryption.md)"
if [[ ! -e $pki/clients/operator/client.key || -n ${FORCE:-} ]]; then
    cert issue --client operator --role operator
    echo "pki: issued the operator certificate ($pki/clients/operator)"
fi
