#!/usr/bin/env bash
# Issues a client identity (key + certificate signed by the PKI's CA in server-certs/) for one
# device or for the bridge. The certificate's CN becomes the MQTT username
# (use_identity_as_username), which the broker's ACL checks. Recommended CN of a controller: its
# Wi-Fi MAC, upper-case, as it publishes on controleur/<MAC>; the hardened ACL (acl.mac-cn)
# requires it. Every certificate issued is recorded in the CA's index (server-certs/ca-db/), so
# that mosquitto/revoke-cert.sh can revoke it by name.
#
#   clients-certs.sh [--force] <name>               -> client-certs/<name>/ (+ Arduino header)
#   clients-certs.sh [--force] --bridge [name]      -> client-certs/client.{crt,key}
#   clients-certs.sh [--force] --site-bridge <id>   -> client-certs/site-bridge-<id>/ (a school
#                                                      broker's identity at the central broker)
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=mosquitto/pki-lib.sh
source "$script_dir/pki-lib.sh"

readonly BRIDGE_CN=mqtt-bridge
# The bridge's identity in earlier versions of this project; the shipped ACL still lets it read.
readonly OLD_BRIDGE_CN=parc-bridge
# A school broker's bridge to the central broker is CN=site-bridge-<school id>; the central ACL
# (`parc-bridge acl --school <id>`) lets it publish under ecole/<id>/ only.
readonly SITE_BRIDGE_PREFIX=site-bridge-

usage() {
  cat <<USAGE
Usage: $(basename "$0") [--force] <name>
       $(basename "$0") [--force] --bridge [name]
       $(basename "$0") [--force] --site-bridge <school id>

<name> is the certificate's CN, which the broker uses as the MQTT username. For an ESP32 /
M5Stack controller, use its Wi-Fi MAC, e.g. 24:6F:28:AB:CD:EF (upper-case; a lower-case MAC is
upper-cased): the default ACL accepts any CN, but the hardened one (config/acl.mac-cn) only
lets a controller publish on controleur/<its CN>.
Allowed: letters, digits, ':', '-', '_', '.', at most 64, starting with a letter or digit.

A device gets client-certs/<name>/{client.crt,client.key,ca.crt,<name>.h}; the .h file holds
the CA, the certificate and the key as PROGMEM strings, ready to #include in the firmware.
--bridge makes the bridge's own identity (CN $BRIDGE_CN unless a name is given) at
client-certs/client.crt and client.key, which docker-compose.yml mounts at /certs/ with
server-certs/ca.crt.
--site-bridge makes, in the CENTRAL broker's PKI, the identity a school's Mosquitto bridges
with: CN ${SITE_BRIDGE_PREFIX}<school id> at client-certs/${SITE_BRIDGE_PREFIX}<school id>/{client.crt,client.key,ca.crt},
to copy to that school (deploy/site-broker/README.md). <school id>: a-z, 0-9, '-', at most 32.
An existing identity is never replaced unless --force is given.

Environment: PKI_DIR (root holding server-certs/ and client-certs/, default $script_dir),
BRIDGE_KEY_OWNER (uid:gid given the bridge's client.key when run as root; default 1001:1001,
the bridge container's user; empty to skip), SITE_BRIDGE_KEY_OWNER (the same for a school
bridge's client.key; default 1883:1883, the user of the eclipse-mosquitto image).
USAGE
}

usage_error() {
  echo "error: $*" >&2
  echo "Usage: $(basename "$0") [--force] <name> | [--force] --bridge [name] | [--force] --site-bridge <id>   (--help for details)" >&2
  exit 2
}

force=0
bridge=0
site_bridge=0
name=""
while [[ $# -gt 0 ]]; do
  case $1 in
    -h | --help)
      usage
      exit 0
      ;;
    --force) force=1 ;;
    --bridge) bridge=1 ;;
    --site-bridge) site_bridge=1 ;;
    -*) usage_error "unknown option '$1'" ;;
    *)
      [[ -z $name ]] || usage_error "one name at a time ('$name' and '$1' given)"
      name=$1
      ;;
  esac
  shift
done

[[ $bridge -eq 0 || $site_bridge -eq 0 ]] || usage_error "--bridge and --site-bridge are different identities: one at a time"
if [[ $bridge -eq 1 ]]; then
  name=${name:-$BRIDGE_CN}
fi
if [[ $site_bridge -eq 1 ]]; then
  # The school id becomes a topic level (ecole/<id>/) and part of the CN: nothing else fits.
  [[ $name =~ ^[a-z0-9-]{1,32}$ ]] ||
    usage_error "--site-bridge needs a school id: a-z, 0-9, '-', at most 32 (e.g. ecole-1), got '$name'"
  name=$SITE_BRIDGE_PREFIX$name
fi
[[ -n $name ]] || usage_error "missing <name> (a controller's Wi-Fi MAC, e.g. 24:6F:28:AB:CD:EF)"
# The first character may not be '.' or '-': no "..", no hidden folder, nothing like an option.
[[ $name =~ ^[A-Za-z0-9][A-Za-z0-9:_.-]{0,63}$ ]] ||
  usage_error "invalid name '$name': use letters, digits, ':', '-', '_', '.' (at most 64," \
    "starting with a letter or digit)"
hex='[0-9A-Fa-f]{2}'
if [[ $name =~ ^$hex(:$hex){5}$ && $name != "${name^^}" ]]; then
  name=${name^^}
  note "note: using the upper-case MAC $name (the ACL compares it exactly with the topic)"
fi
[[ $name != mosquitto ]] || usage_error "'mosquitto' is the broker's own CN"
# The ACL lets these names read every reading: only the bridge may have them.
[[ $bridge -eq 1 || ($name != "$BRIDGE_CN" && $name != "$OLD_BRIDGE_CN") ]] ||
  usage_error "'$name' is a bridge identity (the ACL lets it read everything): use --bridge"
# The central ACL lets site-bridge-<id> publish for a whole school: only --site-bridge makes it.
[[ $site_bridge -eq 1 || $name != "$SITE_BRIDGE_PREFIX"* ]] ||
  usage_error "'$name' is a school bridge's identity: use --site-bridge ${name#"$SITE_BRIDGE_PREFIX"}"

require_openssl
root=${PKI_DIR:-$script_dir}
ca_crt=$root/server-certs/ca.crt
ca_key=$root/server-certs/ca.key
if [[ ! -e $ca_crt && -f $root/certs/ca.crt ]]; then
  die "the CA is in $root/certs, the folder of earlier versions: mv $root/certs $root/server-certs"
fi
[[ -f $ca_crt && -f $ca_key ]] || die "no CA in $root/server-certs: run server-certs.sh <LAN_IP> first"

out_root=$root/client-certs
if [[ $bridge -eq 1 ]]; then
  dest=$out_root
  exists=$([[ -e $dest/client.crt || -e $dest/client.key ]] && echo yes || echo no)
else
  dest=$out_root/$name
  exists=$([[ -e $dest ]] && echo yes || echo no)
fi
if [[ $exists == yes && $force -eq 0 ]]; then
  die "an identity already exists in $dest; use --force to replace it" \
    "(whatever uses the old one must then get the new files)"
fi

# A replaced certificate stays valid until it expires: say how to revoke it if it must not.
replaced=""
old_crt=$dest/client.crt
if [[ -f $old_crt ]]; then
  replaced=$(cert_serial "$old_crt" 2>/dev/null || true)
fi

mkdir -p "$out_root"
# Built next to its destination, then moved in: a failed run leaves no half identity behind.
tmp=$(mktemp -d "$out_root/.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/client.ext" <<'EXT'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
EXT
gen_key "$tmp/client.key"
openssl req -new -key "$tmp/client.key" -subj "/CN=$name" -out "$tmp/client.csr" 2>/dev/null ||
  die "openssl could not create the request for $name"
sign_csr "$tmp/client.csr" "$tmp/client.ext" "$tmp/client.crt" "$ca_crt" "$ca_key"
# In the CA's index before it is handed out, so that revoke-cert.sh <name> can always find it.
record_issued "$root" "$tmp/client.crt"
cp "$ca_crt" "$tmp/ca.crt"
chmod 644 "$tmp/ca.crt"
rm -f "$tmp/client.csr" "$tmp/client.ext"
expiry=$(openssl x509 -noout -enddate -in "$tmp/client.crt" | cut -d= -f2)

# write_header NAME: the Arduino header of a device (ESP32 / M5Stack, WiFiClientSecure).
write_header() {
  cat <<HEADER
// Parc MQTT identity of "$name" (certificate CN=$name, valid until $expiry).
// Made by mosquitto/clients-certs.sh. SECRET: holds the device's private key; never commit it.
//
//   #include "$1"
//   espClient.setCACert(ca_cert);
//   espClient.setCertificate(client_cert);
//   espClient.setPrivateKey(client_key);
#pragma once
#include <Arduino.h>

static const char device_cn[] = "$name";

static const char ca_cert[] PROGMEM = R"EOF(
$(cat "$tmp/ca.crt")
)EOF";

static const char client_cert[] PROGMEM = R"EOF(
$(cat "$tmp/client.crt")
)EOF";

static const char client_key[] PROGMEM = R"EOF(
$(cat "$tmp/client.key")
)EOF";
HEADER
}

if [[ $bridge -eq 1 ]]; then
  # The bridge's CA is server-certs/ca.crt itself, as in the original layout: no copy here.
  for f in client.key client.crt; do
    mv -f "$tmp/$f" "$dest/$f"
  done
  give_key "$dest/client.key" "${BRIDGE_KEY_OWNER-1001:1001}"
  note "Created the bridge identity CN=$name in $dest (client.crt, client.key; its CA is $ca_crt)"
elif [[ $site_bridge -eq 1 ]]; then
  # Readable folder: the school's Mosquitto (uid 1883) mounts it; the key itself stays 600.
  chmod 755 "$tmp"
  give_key "$tmp/client.key" "${SITE_BRIDGE_KEY_OWNER-1883:1883}"
  rm -rf "$dest"
  mv "$tmp" "$dest"
  note "Created the school bridge identity CN=$name in $dest (client.crt, client.key, ca.crt = the central CA)"
  note "Copy that folder to the school's mosquitto/central-certs/ (deploy/site-broker/README.md)."
else
  header_name=${name//[^A-Za-z0-9_]/_}.h
  (umask 077 && write_header "$header_name" >"$tmp/$header_name")
  chmod 600 "$tmp/$header_name"
  chmod 700 "$tmp"
  rm -rf "$dest"
  mv "$tmp" "$dest"
  note "Created the identity CN=$name in $dest"
  note "Flash $dest/$header_name into the device's firmware."
fi
note "Certificate valid until $expiry"
if [[ -n $replaced ]]; then
  note "The replaced certificate (serial $replaced) stays valid until it expires. If the old"
  note "key may be in the wrong hands: $script_dir/revoke-cert.sh --serial $replaced"
fi
