#!/usr/bin/env bash
# Creates the PKI's certificate authority (once) and the Mosquitto broker's certificate.
#
#   server-certs.sh <LAN_IP> [more IPs or DNS names]
#
# Writes ${PKI_DIR:-<this script's folder>}/server-certs/{ca.crt,ca.key,server.crt,server.key},
# the layout of the original SIGACS installation (docker-compose.yml mounts that folder).
# An existing CA is always kept: replacing it would invalidate every device certificate.
# Re-running only makes a new broker key and certificate (e.g. when the LAN IP changes).
# Every run also (re)writes server-certs/ca.crl, the revocation list the broker requires
# (crlfile in mosquitto.conf), from the CA's index in server-certs/ca-db/ (made if missing, so
# a PKI made by hand with the original README's commands gets one too).
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=mosquitto/pki-lib.sh
source "$script_dir/pki-lib.sh"

usage() {
  cat <<USAGE
Usage: $(basename "$0") <LAN_IP> [more IPs or DNS names...]

Creates the CA (only if ${PKI_DIR:-$script_dir}/server-certs/ca.crt does not exist yet) and the broker
certificate CN=mosquitto with subjectAltName DNS:mosquitto, IP:<LAN_IP> and any further names.
<LAN_IP> is the address the ESP32 controllers use to reach the broker: they check it against
the certificate, so give every IP or name a client may connect with.

Example: $(basename "$0") 192.168.42.10 serre.lycee.local

Environment: PKI_DIR (output root, default $script_dir),
SERVER_KEY_OWNER (uid:gid given server.key when run as root; default 1883:1883, the user of the
eclipse-mosquitto image, which reads its key after dropping root; empty to skip).
USAGE
}

usage_error() {
  echo "error: $*" >&2
  echo "Usage: $(basename "$0") <LAN_IP> [more IPs or DNS names...]   (--help for details)" >&2
  exit 2
}

is_ipv4() {
  local octet
  [[ $1 =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] || return 1
  for octet in ${1//./ }; do
    ((10#$octet <= 255)) || return 1
  done
}

# Coarse on purpose: openssl rejects a malformed IPv6 address when it signs.
is_ipv6() {
  [[ $1 == *:* && $1 =~ ^[0-9A-Fa-f:.]+$ ]]
}

is_dns_name() {
  local label='[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?'
  [[ ${#1} -le 253 && $1 =~ ^$label(\.$label)*$ ]]
}

[[ $# -ge 1 ]] || usage_error "missing <LAN_IP>"
case $1 in
  -h | --help)
    usage
    exit 0
    ;;
esac

is_ipv4 "$1" || is_ipv6 "$1" ||
  usage_error "the first argument must be the broker's LAN IP address (e.g. 192.168.42.10), got '$1'"

san="DNS:mosquitto"
for name in "$@"; do
  if is_ipv4 "$name" || is_ipv6 "$name"; then
    entry="IP:$name"
  elif is_dns_name "$name"; then
    entry="DNS:$name"
  else
    usage_error "'$name' is neither an IP address nor a DNS name"
  fi
  [[ ",$san," == *",$entry,"* ]] || san+=",$entry"
done

require_openssl
template="$script_dir/v3.ext"
[[ $(grep -c '^subjectAltName *=' "$template") -eq 1 ]] ||
  die "$template must contain exactly one 'subjectAltName =' line"

root="${PKI_DIR:-$script_dir}"
out="$root/server-certs"
# Earlier versions of this project wrote to certs/: a new CA here would orphan every device.
if [[ -e $root/certs/ca.crt && ! -e $out/ca.crt ]]; then
  die "the CA is in $root/certs, the folder of earlier versions: move it first" \
    "(mv $root/certs $out), then run this again"
fi
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [[ -e $out/ca.crt || -e $out/ca.key ]]; then
  [[ -f $out/ca.crt && -f $out/ca.key ]] ||
    die "only one of ca.crt / ca.key exists in $out: restore the other one (a new CA would" \
      "invalidate every device certificate), or move both away on purpose"
  same_key "$out/ca.crt" "$out/ca.key" || die "$out/ca.crt and $out/ca.key do not match"
  note "Keeping the existing CA $out/ca.crt"
else
  cat >"$tmp/ca.cnf" <<'CNF'
[req]
distinguished_name = dn
[dn]
[v3_ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
CNF
  gen_key "$tmp/ca.key"
  openssl req -x509 -new -config "$tmp/ca.cnf" -extensions v3_ca -key "$tmp/ca.key" \
    -subj "/O=SIGACS Parc/CN=Parc MQTT CA" -days "$CA_DAYS" -sha256 \
    -set_serial "$(random_serial)" -out "$tmp/ca.crt" 2>/dev/null || die "openssl could not create the CA"
  chmod 644 "$tmp/ca.crt"
  mv "$tmp/ca.key" "$out/ca.key"
  mv "$tmp/ca.crt" "$out/ca.crt"
  note "Created the CA $out/ca.crt (valid $CA_DAYS days); keep ca.key secret and backed up"
fi

sed "s|^subjectAltName *=.*|subjectAltName = $san|" "$template" >"$tmp/server.ext"
gen_key "$tmp/server.key"
openssl req -new -key "$tmp/server.key" -subj "/CN=mosquitto" -out "$tmp/server.csr" 2>/dev/null ||
  die "openssl could not create the broker's request"
sign_csr "$tmp/server.csr" "$tmp/server.ext" "$tmp/server.crt" "$out/ca.crt" "$out/ca.key"
record_issued "$root" "$tmp/server.crt"
mv "$tmp/server.key" "$out/server.key"
mv "$tmp/server.crt" "$out/server.crt"
give_key "$out/server.key" "${SERVER_KEY_OWNER-1883:1883}"

note "Created the broker certificate $out/server.crt (CN=mosquitto, valid $CERT_DAYS days)"
note "subjectAltName: $san"

# Rewritten at each run: a renewed broker certificate renews the CRL's validity with it.
write_crl "$root"
note "Wrote the revocation list $(crl_file "$root") (valid $CRL_DAYS days)"
