#!/usr/bin/env bash
# Builds hakube-etcd:local: the hakube image (built first when missing) plus this host's etcd 3.4 and
# etcdctl (Debian's etcd-server and etcd-client: `apt-get install -y etcd-server etcd-client`), offline.
#
#   deploy/docker/build-etcd-image.sh [TAG]      (default hakube-etcd:local)
#
# Env: HAKUBE_IMAGE (the image to add etcd to; default hakube:local), ETCD (default: `command -v etcd`,
# else /usr/bin/etcd), ETCDCTL (likewise), DOCKER (default docker).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
tag=${1:-hakube-etcd:local}
docker=${DOCKER:-docker}
image=${HAKUBE_IMAGE:-hakube:local}
etcd=${ETCD:-$(command -v etcd || echo /usr/bin/etcd)}
etcdctl=${ETCDCTL:-$(command -v etcdctl || echo /usr/bin/etcdctl)}
for bin in "$etcd" "$etcdctl"; do
  [[ -x $bin ]] || { echo "build-etcd-image: $bin not found (apt-get install -y etcd-server etcd-client, or set ETCD/ETCDCTL)" >&2; exit 1; }
done
version=$("$etcd" --version | sed -n 's/^etcd Version: //p')
[[ $version == 3.4.* ]] || echo "build-etcd-image: warning: etcd $version, not 3.4" >&2

"$docker" image inspect "$image" >/dev/null 2>&1 || "$here/build-image.sh" "$image"

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
cp "$(readlink -f "$etcd")" "$ctx/etcd"
cp "$(readlink -f "$etcdctl")" "$ctx/etcdctl"
cp "$here/Dockerfile.etcd" "$ctx/Dockerfile"
if "$docker" buildx version >/dev/null 2>&1; then
  builder=("$docker" build)
elif [[ $(/usr/bin/docker version --format '{{.Client.Version}}' 2>/dev/null) == 20.10.* ]]; then
  builder=(env DOCKER_BUILDKIT=1 /usr/bin/docker build)
else
  builder=("$docker" build)
fi
start=$(date +%s.%N)
"${builder[@]}" -q --build-arg "HAKUBE_IMAGE=$image" -t "$tag" "$ctx" >/dev/null
end=$(date +%s.%N)
size=$("$docker" image inspect --format '{{.Size}}' "$tag")
awk -v t="$tag" -v v="$version" -v s="$size" -v a="$start" -v b="$end" \
  'BEGIN { printf "build-etcd-image: %s (etcd %s) in %.1f s: %d MB\n", t, v, b - a, s / 1e6 }'
"$docker" run --rm --entrypoint /usr/bin/etcd "$tag" --version | sed -n 1p
