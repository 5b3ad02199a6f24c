#!/usr/bin/env bash
# Makes what is missing of the PKI with the project's own scripts, and nothing else:
#
#   pki-once.sh <LAN_IP> [more IPs or DNS names]      (or BROKER_LAN_IP in the environment,
#                                                      the same words separated by spaces or commas)
#
# - the CA and the broker certificate (mosquitto/server-certs.sh) when there is none, or when
#   the broker certificate cannot be kept: it does not name every address given, it is not
#   valid for ca.crt (expired, another CA), or server.key is missing or not its key (a new
#   broker certificate; the CA is kept);
# - the bridge's identity (mosquitto/clients-certs.sh --bridge) when there is none;
# - the revocation list the broker requires (mosquitto/update-crl.sh) when there is none, as on
#   a PKI made before revocation existed.
# ca.key is needed only when one of these must be signed: a server whose ca.key was moved away
# (as the deployment guide advises) keeps starting as long as everything is there.
# PKI_DIR, SERVER_KEY_OWNER and BRIDGE_KEY_OWNER go to those scripts (default PKI_DIR: mosquitto/).
# The `pki` service of docker-compose.yml runs it at every `docker compose up`; `npm run demo`
# runs it on its own folder.
set -euo pipefail

mosquitto_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../mosquitto" && pwd)
# shellcheck source=mosquitto/pki-lib.sh
source "$mosquitto_dir/pki-lib.sh"
pki_dir=${PKI_DIR:-$mosquitto_dir}
server_dir=$pki_dir/server-certs
client_dir=$pki_dir/client-certs

if [[ $# -eq 0 && -n ${BROKER_LAN_IP:-} ]]; then
  read -r -a addresses <<<"${BROKER_LAN_IP//,/ }"
  set -- "${addresses[@]}"
fi
# Without an address, a complete PKI is kept as it is (a school's .env from the original
# bridge.py has no BROKER_LAN_IP): the address is needed only to make a broker certificate.

# server-certs.sh puts these in the SAN as IP: entries, everything else as DNS: entries.
is_ip_address() {
  [[ $1 =~ ^[0-9]+(\.[0-9]+){3}$ || $1 == *:* ]]
}

# server-certs.sh wants an IP first: "serre.lycee.local 192.168.42.10" works as well.
ips=()
names=()
for address in "$@"; do
  if is_ip_address "$address"; then ips+=("$address"); else names+=("$address"); fi
done
set -- "${ips[@]}" "${names[@]}"

# Prints why the broker certificate must be made again; prints nothing when it can be kept.
broker_cert_problem() {
  local crt=$server_dir/server.crt key=$server_dir/server.key address check
  [[ -f $server_dir/ca.crt ]] || { echo "there is no CA yet"; return; }
  [[ -f $crt ]] || { echo "there is no broker certificate"; return; }
  [[ -f $key ]] || { echo "server.key is missing"; return; }
  # An unreadable key (not root) cannot be compared; the broker will say if it is wrong.
  if [[ -r $key ]] && ! same_key "$crt" "$key"; then echo "server.key is not the key of server.crt"; return; fi
  openssl verify -CAfile "$server_dir/ca.crt" "$crt" >/dev/null 2>&1 ||
    { echo "server.crt is not valid for ca.crt (expired, or issued by another CA)"; return; }
  for address in "$@"; do
    if is_ip_address "$address"; then check=-checkip; else check=-checkhost; fi
    # Prints "... does match" or "... does NOT match"; its exit status is 0 either way.
    openssl x509 -in "$crt" -noout "$check" "$address" 2>/dev/null | grep -q 'does match' ||
      { echo "server.crt does not name $address"; return; }
  done
}

broker_problem=$(broker_cert_problem "$@")
if [[ $# -eq 0 && -n $broker_problem ]]; then
  echo "pki: the broker certificate must be made ($broker_problem), and BROKER_LAN_IP is not set: set it in .env to" \
    "the server's address on the LAN (the address the ESP32s connect to), e.g. BROKER_LAN_IP=192.168.42.10, then run" \
    "docker compose up -d again. Nothing was changed." >&2
  echo "usage: $(basename "$0") <LAN_IP> [more IPs or DNS names] (or set BROKER_LAN_IP)" >&2
  exit 2
fi
bridge_missing=0
[[ -f $client_dir/client.crt && -f $client_dir/client.key ]] || bridge_missing=1
crl_missing=0
[[ -f $server_dir/ca.crl ]] || crl_missing=1

# A CA whose key was moved off this server: fine until something must be signed with it.
if [[ -f $server_dir/ca.crt && ! -f $server_dir/ca.key ]]; then
  unsigned=()
  [[ -z $broker_problem ]] || unsigned+=("a new broker certificate ($broker_problem): run mosquitto/server-certs.sh $* there")
  [[ $bridge_missing -eq 0 ]] || unsigned+=("the bridge's identity (no client-certs/client.crt and client.key): run mosquitto/clients-certs.sh --bridge there")
  [[ $crl_missing -eq 0 ]] || unsigned+=("the revocation list server-certs/ca.crl, without which the broker does not start: run mosquitto/update-crl.sh there, then copy its server-certs/ca.crl to $server_dir/ca.crl (mode 644); revoke-cert.sh writes it too")
  if [[ ${#unsigned[@]} -gt 0 ]]; then
    echo "pki: $server_dir/ca.key is not on this machine, and these must be signed with it:" >&2
    printf '  - %s\n' "${unsigned[@]}" >&2
    echo "pki: on the machine that keeps ca.key (with a copy of this PKI folder as PKI_DIR), run what is" \
      "named above and copy the files it writes here; or put ca.key back in $server_dir for one run" \
      "and move it away again afterwards. Nothing was changed." >&2
    exit 1
  fi
fi

if [[ -z $broker_problem ]]; then
  note "pki: keeping the broker certificate $server_dir/server.crt (${*:-BROKER_LAN_IP not set: not checked against an address})"
else
  note "pki: making the broker certificate: $broker_problem"
  "$mosquitto_dir/server-certs.sh" "$@"
fi

if [[ $bridge_missing -eq 0 ]]; then
  note "pki: keeping the bridge identity in $client_dir"
else
  "$mosquitto_dir/clients-certs.sh" --bridge
fi

"$mosquitto_dir/update-crl.sh" --if-missing
