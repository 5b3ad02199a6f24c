#!/usr/bin/env bash
# Makes what is missing of the PKI with the project's own scripts, and nothing else:
#
#   pki-once.sh <LAN_IP> [more IPs or DNS names]      (or BROKER_LAN_IP in the environment)
#
# - the CA and the broker certificate (mosquitto/server-certs.sh) when there is none, or when
#   the broker certificate does not name <LAN_IP> (a new broker certificate; the CA is kept);
# - the bridge's identity (mosquitto/clients-certs.sh --bridge) when there is none;
# - the revocation list the broker requires (mosquitto/update-crl.sh) when there is none, as on
#   a PKI made before revocation existed.
# PKI_DIR, SERVER_KEY_OWNER and BRIDGE_KEY_OWNER go to those scripts (default PKI_DIR: mosquitto/).
# The `pki` service of docker-compose.yml runs it at every `docker compose up`; `npm run demo`
# runs it on its own folder.
set -euo pipefail

mosquitto_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../mosquitto" && pwd)
pki_dir=${PKI_DIR:-$mosquitto_dir}

if [[ $# -eq 0 && -n ${BROKER_LAN_IP:-} ]]; then
  set -- "$BROKER_LAN_IP"
fi
[[ $# -ge 1 ]] || { echo "usage: $(basename "$0") <LAN_IP> [more IPs or DNS names] (or set BROKER_LAN_IP)" >&2; exit 2; }

server_crt=$pki_dir/server-certs/server.crt
# -checkip prints "... does match" or "... does NOT match" (its exit status is 0 either way).
if [[ -f $server_crt && -f $pki_dir/server-certs/ca.key ]] &&
  openssl x509 -in "$server_crt" -noout -checkip "$1" 2>/dev/null | grep -q 'does match'; then
  echo "pki: keeping the broker certificate $server_crt ($1)" >&2
else
  "$mosquitto_dir/server-certs.sh" "$@"
fi

if [[ -f $pki_dir/client-certs/client.crt && -f $pki_dir/client-certs/client.key ]]; then
  echo "pki: keeping the bridge identity in $pki_dir/client-certs" >&2
else
  "$mosquitto_dir/clients-certs.sh" --bridge
fi

"$mosquitto_dir/update-crl.sh" --if-missing
