#!/usr/bin/env bash
# Checks a certificate (and optionally its key and CA) the way the seed's debug commands did,
# in one place: subject, SAN, expiry, key/certificate match (modulus), chain against the CA.
#
#   check-cert.sh <cert> [key|-] [ca]
#
# Without [ca], a ca.crt next to the certificate is used when there is one.
# Exit 0 when every check passes, 1 when one fails, 2 on bad arguments.
set -euo pipefail

usage() {
  cat <<USAGE
Usage: $(basename "$0") <cert> [key|-] [ca]

  cert  PEM certificate to inspect (e.g. server-certs/server.crt, client-certs/<MAC>/client.crt)
  key   its private key: checks that it is RSA 2048 in PKCS#1 and matches the certificate
        ('-' to skip it and still give a CA)
  ca    CA certificate to verify the chain against (default: ca.crt next to <cert>)
USAGE
}

usage_error() {
  echo "error: $*" >&2
  echo "Usage: $(basename "$0") <cert> [key|-] [ca]   (--help for details)" >&2
  exit 2
}

failures=0
ok() { echo "OK    $*"; }
warn() { echo "WARN  $*"; }
fail() {
  echo "FAIL  $*"
  failures=$((failures + 1))
}

case ${1:-} in
  -h | --help)
    usage
    exit 0
    ;;
  "") usage_error "missing <cert>" ;;
esac
[[ $# -le 3 ]] || usage_error "too many arguments"
cert=$1
key=${2:--}
ca=${3:-}
command -v openssl >/dev/null 2>&1 || usage_error "openssl is not installed"
for f in "$cert" ${key:+"$key"} ${ca:+"$ca"}; do
  [[ $f == - || -r $f ]] || usage_error "cannot read '$f'"
done
openssl x509 -noout -in "$cert" 2>/dev/null || usage_error "'$cert' is not a PEM certificate"
if [[ -z $ca && -f $(dirname "$cert")/ca.crt ]]; then
  ca=$(dirname "$cert")/ca.crt
fi

x509() { openssl x509 -noout -in "$cert" "$@" 2>/dev/null; }

echo "Certificate $cert"
echo "  subject: $(x509 -subject -nameopt RFC2253 | sed 's/^subject=//')"
echo "  issuer:  $(x509 -issuer -nameopt RFC2253 | sed 's/^issuer=//')"
san=$(x509 -ext subjectAltName | sed -n '2,$p' | sed 's/^ *//')
echo "  SAN:     ${san:-(none)}"
not_after=$(x509 -enddate | cut -d= -f2)
days_left=""
if end_s=$(date -d "$not_after" +%s 2>/dev/null); then
  days_left=$(((end_s - $(date +%s)) / 86400))
fi
echo "  valid:   $(x509 -startdate | cut -d= -f2) -> $not_after${days_left:+ ($days_left days left)}"

if ! x509 -checkend 0 >/dev/null; then
  fail "certificate has expired"
elif ! x509 -checkend $((30 * 86400)) >/dev/null; then
  warn "certificate expires within 30 days: make a new one"
else
  ok "certificate is within its validity period"
fi
bits=$(x509 -text | sed -n 's/.*Public-Key: (\([0-9]*\) bit).*/\1/p')
if [[ $bits == 2048 ]]; then
  ok "RSA 2048 public key"
else
  warn "public key is ${bits:-not RSA} bits; the ESP32 firmware expects RSA 2048"
fi

if [[ $key != - ]]; then
  echo "Key $key"
  if ! openssl rsa -noout -in "$key" 2>/dev/null; then
    fail "not a readable RSA private key"
  else
    if grep -q -- '-----BEGIN RSA PRIVATE KEY-----' "$key"; then
      ok "PKCS#1 key (BEGIN RSA PRIVATE KEY)"
    else
      warn "not PKCS#1; convert for the ESP32: openssl rsa -traditional -in $key -out key.pem"
    fi
    mode=$(stat -c %a "$key")
    [[ $mode == 600 || $mode == 400 ]] || warn "key file mode is $mode; use chmod 600 $key"
    cert_mod=$(x509 -modulus | openssl sha256 | sed 's/.*= //')
    key_mod=$(openssl rsa -noout -modulus -in "$key" 2>/dev/null | openssl sha256 | sed 's/.*= //')
    if [[ $cert_mod == "$key_mod" ]]; then
      ok "key matches the certificate (modulus sha256 ${cert_mod:0:16}...)"
    else
      fail "key does NOT match the certificate (modulus ${key_mod:0:16}... vs ${cert_mod:0:16}...)"
    fi
  fi
fi

if [[ -n $ca ]]; then
  echo "Chain against $ca"
  if result=$(openssl verify -CAfile "$ca" "$cert" 2>&1); then
    ok "chain verifies against the CA"
  else
    fail "chain does not verify: $(echo "$result" | grep -m1 -i error || echo "$result" | tail -1)"
  fi
else
  warn "no CA given and no ca.crt next to the certificate: chain not checked"
fi

if [[ $failures -gt 0 ]]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "All checks passed"
