#!/usr/bin/env bash
# Brings a compose topology up and writes a kubeconfig for it: builds the image if it is missing, runs
# `up -d`, writes the kubeconfig (server http://127.0.0.1:$HAKUBE_LB_PORT, the balancer), and waits for
# every worker's node to be Ready through the balancer.
#
#   deploy/compose/up.sh stacked|external-etcd|external-real-etcd [PROJECT]
#   kubectl --kubeconfig "$(deploy/compose/up.sh stacked)" get nodes        # the path is on stdout
#   docker-compose -p PROJECT -f deploy/compose/stacked.yml down -v         # when done (deletes the data)
#
# PROJECT defaults to hakube-TOPOLOGY. Env: HAKUBE_LB_PORT (6443), KUBECONFIG_OUT (default
# ${TMPDIR:-/tmp}/PROJECT.kubeconfig), WAIT_SECONDS (180), NODES (3), COMPOSE (the compose command;
# default `docker compose` when the v2 plugin is there, else `docker-compose`), and the compose files'
# own (HAKUBE_SUBNET, HAKUBE_IMAGE...). Progress goes to stderr.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
topology=${1:-}
case $topology in
  stacked | external-etcd | external-real-etcd) ;;
  *)
    echo "usage: $0 stacked|external-etcd|external-real-etcd [PROJECT]" >&2
    exit 2
    ;;
esac
project=${2:-hakube-$topology}
file=$here/$topology.yml
port=${HAKUBE_LB_PORT:-6443}
out=${KUBECONFIG_OUT:-${TMPDIR:-/tmp}/$project.kubeconfig}
wait_s=${WAIT_SECONDS:-180}
want=${NODES:-3}
if [[ -n ${COMPOSE:-} ]]; then
  read -r -a compose <<<"$COMPOSE"
elif docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
else
  compose=(docker-compose)
fi
say() { echo "up.sh: $*" >&2; }
t0=$(date +%s)

if ! docker image inspect "${HAKUBE_IMAGE:-hakube:local}" >/dev/null 2>&1; then
  say "building ${HAKUBE_IMAGE:-hakube:local}"
  "$here/../docker/build-image.sh" "${HAKUBE_IMAGE:-hakube:local}" >&2
fi
if [[ $topology == external-real-etcd ]] && ! docker image inspect "${HAKUBE_ETCD_IMAGE:-hakube-etcd:local}" >/dev/null 2>&1; then
  say "building ${HAKUBE_ETCD_IMAGE:-hakube-etcd:local}"
  "$here/../docker/build-etcd-image.sh" "${HAKUBE_ETCD_IMAGE:-hakube-etcd:local}" >&2
fi

export HAKUBE_LB_PORT=$port
"${compose[@]}" -p "$project" -f "$file" up -d >&2
t1=$(date +%s)
say "$project: containers up in $((t1 - t0)) s"

mkdir -p "$(dirname "$out")"
cat >"$out" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: $project
  cluster:
    server: http://127.0.0.1:$port
contexts:
- name: $project
  context:
    cluster: $project
    user: $project
current-context: $project
users:
- name: $project
  user: {}
KUBECONFIG

ready=0
while true; do
  ready=$(kubectl --kubeconfig "$out" --request-timeout=5s get nodes --no-headers 2>/dev/null |
    awk '$2 == "Ready" { n++ } END { print n + 0 }')
  [[ $ready -ge $want ]] && break
  if (($(date +%s) - t0 > wait_s)); then
    say "$project: $ready of $want nodes Ready after $wait_s s; containers:"
    "${compose[@]}" -p "$project" -f "$file" ps >&2
    exit 1
  fi
  sleep 1
done
say "$project: $ready nodes Ready in $(($(date +%s) - t0)) s; kubectl --kubeconfig $out get nodes"
echo "$out"
