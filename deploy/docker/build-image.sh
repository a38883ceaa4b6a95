#!/usr/bin/env bash
# Builds the hakube image offline from this checkout's built packages (run `npm ci` first: its prepare
# script builds every package; or `npm run build`).
#
#   deploy/docker/build-image.sh [TAG]      (default hakube:local)
#
# Env:
#   BASE_IMAGE  the Node base image. Default: node:20-bookworm-slim when it is present or can be pulled,
#               else the stand-in that build-base.sh builds from this host's Node (hakube/node-base:local).
#   DOCKER      default: docker
#   KEEP_CONTEXT=1  leave the staged build context in place and print its path.
#
# The context is staged in a temporary folder, not taken from the checkout: the packages' package.json,
# bin/ and dist/ (no *.map, *.d.ts, *.tsbuildinfo or tests), the store's proto/, and node_modules cut to
# the production dependencies of packages/* as `npm ls --omit=dev` lists them (the @hakube/* entries are
# the workspace symlinks, kept as symlinks). Nothing is installed or downloaded. dist/ is taken as it is:
# build from a clean checkout (as CI does), or files left in dist/ by hand go into the image too.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
tag=${1:-hakube:local}
docker=${DOCKER:-docker}
default_base=node:20-bookworm-slim

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

cd "$repo"
for dir in packages/*/; do
  pkg=${dir%/}
  [[ -f $pkg/dist/index.js || -f $pkg/dist/main.js ]] || {
    echo "build-image: $pkg is not built (run npm ci or npm run build first)" >&2
    exit 1
  }
done

t0=$(now)
ctx=$(mktemp -d)
if [[ ${KEEP_CONTEXT:-} == 1 ]]; then
  echo "build-image: context kept in $ctx" >&2
else
  trap 'rm -rf "$ctx"' EXIT
fi

# 1. The packages: manifests, launchers and compiled code only.
cp package.json "$ctx/package.json"
for dir in packages/*/; do
  pkg=${dir%/}
  parts=(package.json)
  for part in bin dist proto; do [[ -e $pkg/$part ]] && parts+=("$part"); done
  tar -C "$repo" -c \
    --exclude='*.map' --exclude='*.d.ts' --exclude='*.tsbuildinfo' \
    --exclude='*.test.*' --exclude='dist/testing' \
    "${parts[@]/#/$pkg/}" | tar -C "$ctx" -x
done

# 2. Production dependencies: every folder npm lists for packages/* without dev dependencies, each copied
# whole (a nested node_modules inside a listed folder holds only that package's own dependencies), less
# what Node never loads: source maps and TypeScript files (type declarations, sources some packages ship).
workspaces=()
for dir in packages/*/; do workspaces+=(-w "${dir%/}"); done
mapfile -t deps < <(npm ls --omit=dev --all --parseable "${workspaces[@]}" 2>/dev/null |
  sed -n "s|^$repo/||p" | grep '/node_modules/\|^node_modules/' | sort -u |
  awk '{ for (p in kept) if (index($0, p "/") == 1) next; kept[$0] = 1; print }')
[[ ${#deps[@]} -gt 0 ]] || { echo "build-image: npm ls listed no production dependencies" >&2; exit 1; }
tar -C "$repo" -c --exclude='*.map' --exclude='*.ts' --exclude='*.mts' --exclude='*.cts' "${deps[@]}" |
  tar -C "$ctx" -x

# 3. The commands on PATH (/opt/hakube/bin), one symlink per bin entry of the packages.
mkdir -p "$ctx/bin" "$ctx/var/lib/hakube"
node -e '
  const { readdirSync, readFileSync, symlinkSync } = require("node:fs")
  for (const dir of readdirSync("packages")) {
    const { bin = {} } = JSON.parse(readFileSync(`packages/${dir}/package.json`, "utf8"))
    for (const [name, file] of Object.entries(bin)) symlinkSync(`../packages/${dir}/${file}`, `${process.argv[1]}/${name}`)
  }' "$ctx/bin"
t1=$(now)
echo "build-image: context staged in $(secs "$t0" "$t1") s: $(du -sh "$ctx" | cut -f1)" \
  "(node_modules $(du -sh "$ctx/node_modules" | cut -f1), packages $(du -sh "$ctx/packages" | cut -f1))"

# 4. The base image: the official one if it is here or can be pulled, else the stand-in (built again only
# when it is missing or holds another Node version than this host's).
base=${BASE_IMAGE:-}
if [[ -z $base ]]; then
  if "$docker" image inspect "$default_base" >/dev/null 2>&1 || "$docker" pull -q "$default_base" >/dev/null 2>&1; then
    base=$default_base
  else
    base=hakube/node-base:local
    have=$("$docker" image inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$base" 2>/dev/null |
      sed -n 's/^NODE_VERSION=//p' || true)
    if [[ v$have != "$(node --version)" ]]; then
      echo "build-image: $default_base cannot be pulled; building the stand-in base from this host's node" >&2
      "$here/build-base.sh" "$base"
    fi
  fi
fi

# 5. The image, with BuildKit where the client has it: through buildx, or Debian's docker.io client
# (/usr/bin/docker 20.10), which uses the daemon's built-in BuildKit. The legacy builder works too, but
# takes ~35 s instead of ~13 s (~1.5 s cached) for the same image on a loaded 2-core machine.
if "$docker" buildx version >/dev/null 2>&1; then
  builder=("$docker" build)
elif [[ $(/usr/bin/docker version --format '{{.Client.Version}}' 2>/dev/null) == 20.10.* ]]; then
  builder=(env DOCKER_BUILDKIT=1 /usr/bin/docker build)
else
  builder=("$docker" build)
fi
t2=$(now)
"${builder[@]}" -q -f "$here/Dockerfile" --build-arg "BASE_IMAGE=$base" -t "$tag" "$ctx" >/dev/null
t3=$(now)
size=$("$docker" image inspect --format '{{.Size}}' "$tag")
base_size=$("$docker" image inspect --format '{{.Size}}' "$base")
echo "build-image: $tag on $base in $(secs "$t2" "$t3") s: $((size / 1000000)) MB" \
  "($(((size - base_size) / 1000000)) MB over the base)"
"$docker" run --rm "$tag" --version
