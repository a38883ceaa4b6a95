#!/usr/bin/env bash
# Takes a compose topology down: its containers (SIGTERM first: each host's supervisor stops its
# components in order), its network and, with --purge, its volumes (the store data).
#
#   deploy/compose/down.sh stacked|external-etcd|external-real-etcd [PROJECT] [--purge]
#
# PROJECT defaults to hakube-TOPOLOGY, as in up.sh; COMPOSE as in up.sh.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
topology=${1:-}
case $topology in
  stacked | external-etcd | external-real-etcd) ;;
  *)
    echo "usage: $0 stacked|external-etcd|external-real-etcd [PROJECT] [--purge]" >&2
    exit 2
    ;;
esac
shift
project=hakube-$topology
purge=()
for a in "$@"; do
  case $a in
    --purge) purge=(-v) ;;
    -*)
      echo "down.sh: unknown flag $a" >&2
      exit 2
      ;;
    *) project=$a ;;
  esac
done
if [[ -n ${COMPOSE:-} ]]; then
  read -r -a compose <<<"$COMPOSE"
elif docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
else
  compose=(docker-compose)
fi
"${compose[@]}" -p "$project" -f "$here/$topology.yml" down --remove-orphans -t 25 "${purge[@]}"
