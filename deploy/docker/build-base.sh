#!/usr/bin/env bash
# Builds a stand-in Node base image from this host's own Node binary and the shared libraries it links,
# for machines that reach no container registry (the Dockerfile's default base, an official Node image,
# cannot be pulled there). The image is a `docker import` of a small root filesystem: node at
# /usr/local/bin/node (where the official images have it), the libraries `ldd` lists at their own paths,
# a `node` user (uid 1000, as in the official images), /tmp and a minimal /etc. No shell, no npm: the
# hakube Dockerfile's final stage only copies files onto it.
#
#   deploy/docker/build-base.sh [TAG]      (default hakube/node-base:local)
#
# Env: NODE (the binary to use; default: `command -v node`), DOCKER (default: docker).
set -euo pipefail

tag=${1:-hakube/node-base:local}
docker=${DOCKER:-docker}
node_bin=$(readlink -f "${NODE:-$(command -v node)}")
[[ -x $node_bin ]] || { echo "build-base: no node binary found (set NODE)" >&2; exit 1; }
node_version=$("$node_bin" --version)

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

mkdir -p "$root/usr/local/bin" "$root/usr/bin" "$root/etc" "$root/tmp" "$root/home/node" "$root/root"
chmod 1777 "$root/tmp"
cp "$node_bin" "$root/usr/local/bin/node"
# env, for the `#!/usr/bin/env node` line of the packages' launchers (bin/*.js run as commands).
cp "$(readlink -f /usr/bin/env)" "$root/usr/bin/env"

# Every library the two binaries link, at the path the dynamic loader looks for it (ldd's left-hand path
# for the loader itself, the resolved path for the others), copied as a file, not as a symlink.
while read -r lib; do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done < <(ldd "$node_bin" /usr/bin/env | awk '/^\t/ && $2 == "=>" && $3 ~ /^\// { print $3 } /^\t\// { print $1 }' | sort -u)
# Name lookups need no more: glibc >= 2.34 has its files and dns modules built in, and Docker supplies
# /etc/hosts and /etc/resolv.conf.

cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/usr/sbin/nologin
node:x:1000:1000::/home/node:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF
cat >"$root/etc/group" <<'EOF'
root:x:0:
node:x:1000:
nogroup:x:65534:
EOF
printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
chown 1000:1000 "$root/home/node"

start=$(date +%s.%N)
tar -C "$root" --numeric-owner -c . |
  "$docker" import \
    --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
    --change "ENV NODE_VERSION=${node_version#v}" \
    --change 'CMD ["node"]' \
    --message "stand-in Node base from the host's $node_bin ($node_version)" \
    - "$tag" >/dev/null
end=$(date +%s.%N)

"$docker" run --rm "$tag" /usr/bin/env node -e 'process.stdout.write(`base ok: node ${process.version}\n`)'
size=$("$docker" image inspect --format '{{.Size}}' "$tag")
awk -v t="$tag" -v v="$node_version" -v s="$size" -v a="$start" -v b="$end" \
  'BEGIN { printf "build-base: %s (node %s, %d MB) imported in %.1f s\n", t, v, s / 1e6, b - a }'
