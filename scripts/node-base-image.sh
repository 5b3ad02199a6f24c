#!/usr/bin/env bash
# Builds a local stand-in for node:20-bookworm-slim, for machines that reach Debian's and npm's
# registries but no image registry (the image test, a school server behind a strict proxy).
#
#   scripts/node-base-image.sh      -> prints the image tag; then
#   docker build --build-arg NODE_IMAGE=<tag> .
#
# Debian bookworm (debootstrap, minbase) with this machine's Node.js in /usr/local, as the
# official image has it: headers in /usr/local/include/node and nodedir=/usr/local in npm's
# global config, so native addons (better-sqlite3) build without downloading headers. The
# machine's CA bundle goes in too, so npm in the build trusts what this machine trusts.
# Cached: the tag names the Node.js version, and an existing image is reused as it is.
# Needs root, debootstrap and a running Docker engine.
set -euo pipefail

log() { printf '== node base image: %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

node_bin=$(command -v node) || die "node is not installed"
node_version=$("$node_bin" --version)
node_version=${node_version#v}
[[ $node_version == 20.* ]] || die "Node.js 20 is needed (the Dockerfile's base), this machine has $node_version"
tag=${NODE_BASE_IMAGE:-parc-node-base:$node_version-bookworm-slim}

if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "$tag"
  exit 0
fi

[[ $EUID -eq 0 ]] || die "debootstrap needs root"
command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap)"
# Where this machine's Node.js package keeps npm and the headers (Debian / NodeSource layout).
prefix=$(cd "$(dirname "$(readlink -f "$node_bin")")/.." && pwd)
[[ -d $prefix/lib/node_modules/npm && -f $prefix/include/node/node.h ]] ||
  die "npm or the Node.js headers are not under $prefix (lib/node_modules/npm, include/node)"
ca_bundle=/etc/ssl/certs/ca-certificates.crt
[[ -f $ca_bundle ]] || die "no CA bundle at $ca_bundle"

work=$(mktemp -d /var/tmp/parc-node-base.XXXXXX)
trap 'rm -rf "$work"' EXIT
rootfs=$work/rootfs

log "debootstrap bookworm (minbase) into $rootfs"
debootstrap --variant=minbase bookworm "$rootfs" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" >"$work/debootstrap.log" 2>&1 ||
  { tail -n 30 "$work/debootstrap.log" >&2; die "debootstrap failed"; }

log "Node.js $node_version from $prefix into /usr/local"
install -d "$rootfs/usr/local/bin" "$rootfs/usr/local/lib/node_modules" "$rootfs/usr/local/include" "$rootfs/usr/local/etc"
cp "$node_bin" "$rootfs/usr/local/bin/node"
cp -a "$prefix/lib/node_modules/npm" "$rootfs/usr/local/lib/node_modules/"
if [[ -d $prefix/lib/node_modules/corepack ]]; then
  cp -a "$prefix/lib/node_modules/corepack" "$rootfs/usr/local/lib/node_modules/"
  ln -s ../lib/node_modules/corepack/dist/corepack.js "$rootfs/usr/local/bin/corepack"
fi
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
cp -a "$prefix/include/node" "$rootfs/usr/local/include/node"
install -d "$rootfs/etc/ssl/certs"
cp "$ca_bundle" "$rootfs/etc/ssl/certs/ca-certificates.crt"
# npm's global config ($PREFIX/etc/npmrc): headers from the image, not from the internet.
cat >"$rootfs/usr/local/etc/npmrc" <<NPMRC
nodedir=/usr/local
cafile=/etc/ssl/certs/ca-certificates.crt
update-notifier=false
fund=false
NPMRC
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*

log "docker import as $tag"
tar -C "$rootfs" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_VERSION=$node_version" \
  --change 'CMD ["node"]' \
  - "$tag" >/dev/null
echo "$tag"
