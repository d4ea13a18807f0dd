#!/usr/bin/env bash
# Cuts a site of the demo cluster (deploy/docker-compose.yml) off the inter-site network, or
# connects it again. The site's nodes keep running and still see each other on their site network.
#
#   deploy/wan.sh cut region
#   deploy/wan.sh heal region
#
# Sites: region, departement, metropole, ville (2 nodes each: archipel-<site>-1 and -2).
set -euo pipefail

usage() {
    echo "usage: $0 cut|heal region|departement|metropole|ville" >&2
    exit 2
}
[[ $# -eq 2 ]] || usage
action=$1
site=$2
case $site in region | departement | metropole | ville) ;; *) usage ;; esac

for n in 1 2; do
    svc="$site-$n"
    container="archipel-$svc"
    case $action in
    cut)
        docker network disconnect archipel-wan "$container"
        echo "$container disconnected from archipel-wan"
        ;;
    heal)
        # The alias is the service name, which the other nodes dial (advertise = "<service>:7400").
        docker network connect --alias "$svc" archipel-wan "$container"
        echo "$container connected to archipel-wan"
        ;;
    *) usage ;;
    esac
done
