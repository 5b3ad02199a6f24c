#!/usr/bin/env bash
# Builds local stand-ins for the three images the Compose files use, from Debian's packages, for
# machines that reach Debian's and npm's registries but no image registry (the stack test, a
# school server behind a strict proxy):
#
#   scripts/stand-in-images.sh >> .env      # then `docker compose up -d` as usual
#
# prints NODE_IMAGE=, MOSQUITTO_IMAGE= and MARIADB_IMAGE= lines: the debootstrap base that
# stands for node:20-bookworm-slim (scripts/node-base-image.sh, built once and reused), and the
# stand-ins for eclipse-mosquitto:2 and mariadb:11 built on it (deploy/stand-ins/, whose
# README.md lists what they copy from the official images). Docker's build cache makes a second
# run take seconds. Needs root, debootstrap and a running Docker engine.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
log() { printf '== stand-in images: %s\n' "$*" >&2; }

base=$("$repo/scripts/node-base-image.sh")
build() {
  local tag=$1 folder=$2 output
  log "building $tag from deploy/stand-ins/$folder"
  output=$(docker build --quiet --build-arg "BASE_IMAGE=$base" --tag "$tag" "$repo/deploy/stand-ins/$folder" 2>&1) ||
    { printf '%s\n' "$output" >&2; exit 1; }
}
build parc-stand-in/eclipse-mosquitto:2 mosquitto
build parc-stand-in/mariadb:11 mariadb

printf 'NODE_IMAGE=%s\nMOSQUITTO_IMAGE=%s\nMARIADB_IMAGE=%s\n' "$base" parc-stand-in/eclipse-mosquitto:2 parc-stand-in/mariadb:11
