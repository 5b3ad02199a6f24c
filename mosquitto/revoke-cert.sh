#!/usr/bin/env bash
# Revokes a device's certificate (a lost or stolen controller) and rewrites the revocation list
# server-certs/ca.crl that the broker checks at every TLS handshake (crlfile in mosquitto.conf).
#
#   revoke-cert.sh <name>              every valid certificate issued to that CN
#   revoke-cert.sh <cert-file>         that certificate, also one made by hand
#   revoke-cert.sh --serial <SERIAL>   the certificate of that serial in the CA's index
#   revoke-cert.sh --list              what the CA's index holds
#
# The broker applies the new list once restarted (docs/deployment.md, "Revoking a device").
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=mosquitto/pki-lib.sh
source "$script_dir/pki-lib.sh"

usage() {
  cat <<USAGE
Usage: $(basename "$0") <name>
       $(basename "$0") <cert-file>
       $(basename "$0") --serial <SERIAL>
       $(basename "$0") --list

<name>       a device's CN (its MAC, or a name such as m5-serre-1): revokes every still valid
             certificate the scripts issued to that CN, and client-certs/<name>/client.crt.
<cert-file>  a certificate signed by this CA, wherever it lies: also one made by hand with the
             original README's openssl commands, which the scripts never recorded.
--serial     a certificate recorded in server-certs/ca-db/certs/ (e.g. the one clients-certs.sh
             --force replaced), by the serial clients-certs.sh printed.
--list       prints the CA's index: status (V valid, R revoked), serial, expiry, subject.

Then rewrites server-certs/ca.crl. Restart the broker to apply it and to cut the device's
current connection (docker compose restart mosquitto); SIGHUP also reloads the list, but a
device connected at that moment stays connected until it disconnects.
The bridge's and the broker's own identities are revoked only by giving their file.

Environment: PKI_DIR (root holding server-certs/ and client-certs/, default $script_dir).
USAGE
}

usage_error() {
  echo "error: $*" >&2
  echo "Usage: $(basename "$0") <name> | <cert-file> | --serial <SERIAL> | --list   (--help for details)" >&2
  exit 2
}

# cert_cn CERT: the certificate's CN, empty when it has none.
cert_cn() {
  openssl x509 -noout -subject -nameopt multiline -in "$1" | sed -n 's/^ *commonName *= //p'
}

list_index() {
  local index
  index="$(ca_db_dir "$root")/index.txt"
  [[ -s $index ]] || {
    note "The CA's index is empty: nothing issued by these scripts yet ($index)"
    return 0
  }
  awk -F'\t' 'BEGIN { print "status\tserial\texpires\tsubject" } { print $1 "\t" $4 "\t" $2 "\t" $6 }' "$index"
}

# certs_of NAME: the files of the still valid certificates issued to CN=NAME (index copies, and
# the identity in client-certs/NAME/ even when an earlier version of the scripts made it).
certs_of() {
  local name=$1 f serial seen=" "
  for f in "$(ca_db_dir "$root")"/certs/*.pem "$root/client-certs/$name/client.crt"; do
    [[ -f $f && $(cert_cn "$f") == "$name" ]] || continue
    serial=$(cert_serial "$f")
    [[ $seen != *" $serial "* && $(index_status "$root" "$serial") != R ]] || continue
    seen+="$serial "
    echo "$f"
  done
}

# known_cn NAME: true when the index keeps a certificate of CN=NAME (then all revoked).
known_cn() {
  local f
  for f in "$(ca_db_dir "$root")"/certs/*.pem; do
    [[ -f $f && $(cert_cn "$f") == "$1" ]] && return 0
  done
  return 1
}

# revoke FILE: revokes one certificate of this CA (already revoked: said, not an error).
revoke() {
  local file=$1 serial subject copy
  openssl x509 -noout -in "$file" >/dev/null 2>&1 || die "$file is not a PEM certificate"
  # -no_check_time: an expired certificate may still be revoked.
  openssl verify -no_check_time -CAfile "$ca_crt" "$file" >/dev/null 2>&1 ||
    die "$file was not signed by the CA $ca_crt: its revocation would mean nothing to this broker"
  [[ $(openssl x509 -noout -fingerprint -in "$file") != $(openssl x509 -noout -fingerprint -in "$ca_crt") ]] ||
    die "$file is the CA itself: revoking it is not possible; make a new PKI instead"
  serial=$(cert_serial "$file")
  subject=$(openssl x509 -noout -subject -nameopt RFC2253 -in "$file" | sed 's/^subject=//')
  if [[ $(index_status "$root" "$serial") == R ]]; then
    note "Already revoked: serial $serial ($subject)"
    return 0
  fi
  ca_openssl "$root" -revoke "$file" >/dev/null || die "openssl could not revoke $file"
  # Kept with the others, also for a certificate made by hand: the index names it by serial.
  copy="$(ca_db_dir "$root")/certs/$serial.pem"
  [[ -f $copy ]] || cp "$file" "$copy"
  note "Revoked serial $serial ($subject)"
}

[[ $# -ge 1 ]] || usage_error "missing <name> or <cert-file>"
mode=target
case $1 in
  -h | --help)
    usage
    exit 0
    ;;
  --list)
    [[ $# -eq 1 ]] || usage_error "--list takes no argument"
    mode=list
    ;;
  --serial)
    [[ $# -eq 2 ]] || usage_error "--serial takes one serial"
    mode=serial
    shift
    ;;
  -*) usage_error "unknown option '$1'" ;;
  *) [[ $# -eq 1 ]] || usage_error "one certificate at a time" ;;
esac
arg=${1:-}

require_openssl
root=${PKI_DIR:-$script_dir}
ca_crt=$root/server-certs/ca.crt
[[ -f $ca_crt && -f $root/server-certs/ca.key ]] ||
  die "no CA in $root/server-certs (ca.crt and ca.key): revocation is signed with the CA's key"

if [[ $mode == list ]]; then
  list_index
  exit 0
fi

files=()
if [[ $mode == serial ]]; then
  [[ $arg =~ ^[0-9A-Fa-f]+$ ]] || usage_error "'$arg' is not a serial (hexadecimal, as --list shows it)"
  file="$(ca_db_dir "$root")/certs/${arg^^}.pem"
  [[ -f $file ]] || die "no certificate of serial ${arg^^} in $(ca_db_dir "$root")/certs (see --list)"
  files=("$file")
elif [[ -f $arg ]]; then
  files=("$arg")
elif [[ $arg == */* ]]; then
  die "no such certificate file: $arg"
else
  name=$arg
  hex='[0-9A-Fa-f]{2}'
  [[ $name =~ ^$hex(:$hex){5}$ ]] && name=${name^^}
  case $name in
    mosquitto | mqtt-bridge | parc-bridge)
      die "'$name' is the broker's or the bridge's identity: to revoke it anyway, give its" \
        "certificate file (e.g. $root/client-certs/client.crt)"
      ;;
  esac
  mapfile -t files < <(certs_of "$name")
  if [[ ${#files[@]} -eq 0 ]]; then
    if known_cn "$name"; then
      note "Every certificate of CN=$name is already revoked"
    else
      die "no certificate of CN=$name is known to the scripts (not in $(ca_db_dir "$root")," \
        "no $root/client-certs/$name/client.crt). A certificate made by hand: give its file," \
        "e.g. $(basename "$0") path/to/client.crt"
    fi
  fi
fi

for file in "${files[@]}"; do
  revoke "$file"
done
write_crl "$root"
note "Wrote the revocation list $(crl_file "$root")"
note "Restart the broker to apply it: docker compose restart mosquitto (or systemctl restart mosquitto)."
