#!/usr/bin/env bash
# Writes the certificate revocation list server-certs/ca.crl from the CA's index, signed by the
# CA. The shipped mosquitto.conf names it (crlfile) and Mosquitto does not start without it.
#
#   update-crl.sh [--if-missing]
#
# server-certs.sh and revoke-cert.sh already write it; run this on a PKI that has none yet (one
# made by hand with the original README's commands, or by an earlier version of these scripts):
# scripts/pki-once.sh, the `pki` service of docker-compose.yml, does so at every `up`.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=mosquitto/pki-lib.sh
source "$script_dir/pki-lib.sh"

usage() {
  cat <<USAGE
Usage: $(basename "$0") [--if-missing]

Writes ${PKI_DIR:-$script_dir}/server-certs/ca.crl (valid $CRL_DAYS days) from the CA's index in
server-certs/ca-db/, creating that index (empty) when there is none. --if-missing leaves an
existing ca.crl as it is. Restart the broker afterwards to load a new list.

Environment: PKI_DIR (root holding server-certs/, default $script_dir).
USAGE
}

if_missing=0
case ${1:-} in
  -h | --help)
    usage
    exit 0
    ;;
  --if-missing) if_missing=1 ;;
  "") ;;
  *)
    echo "error: unknown argument '$1'" >&2
    echo "Usage: $(basename "$0") [--if-missing]   (--help for details)" >&2
    exit 2
    ;;
esac

require_openssl
root=${PKI_DIR:-$script_dir}
crl=$(crl_file "$root")
if [[ $if_missing -eq 1 && -f $crl ]]; then
  note "Keeping the revocation list $crl"
  exit 0
fi
[[ -f $root/server-certs/ca.crt && -f $root/server-certs/ca.key ]] ||
  die "no CA in $root/server-certs (ca.crt and ca.key): run server-certs.sh <LAN_IP> first"
write_crl "$root"
note "Wrote the revocation list $crl (valid $CRL_DAYS days)"
