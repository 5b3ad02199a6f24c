# shellcheck shell=bash
# Helpers shared by server-certs.sh and clients-certs.sh (sourced, never run on its own).
#
# Conventions of this PKI, kept in one place because the ESP32 / M5Stack controllers depend on them:
# RSA 2048 keys written in PKCS#1 ("BEGIN RSA PRIVATE KEY", what the seed's firmware expects),
# key files mode 600, certificates valid 825 days at most (the CA/Browser limit, which some TLS
# stacks enforce), the CA 10 years.

# shellcheck disable=SC2034 # constants for the scripts that source this file
readonly KEY_BITS=2048
readonly CERT_DAYS=825
readonly CA_DAYS=3650

die() {
  echo "error: $*" >&2
  exit 1
}

note() {
  echo "$*" >&2
}

require_openssl() {
  command -v openssl >/dev/null 2>&1 || die "openssl is not installed (apt-get install openssl)"
}

# gen_key FILE: a fresh RSA 2048 key in PKCS#1, readable by its owner only.
gen_key() {
  (umask 077 && openssl genrsa -traditional -out "$1" "$KEY_BITS" 2>/dev/null) ||
    die "openssl could not generate a key (OpenSSL 3 is needed for -traditional)"
  chmod 600 "$1"
}

# A random 128-bit serial: no serial file to keep in step, and no clash between two runs.
random_serial() {
  echo "0x$(openssl rand -hex 16)"
}

# sign_csr CSR EXTFILE OUT CA_CRT CA_KEY: sign a request with the CA for CERT_DAYS.
sign_csr() {
  openssl x509 -req -in "$1" -extfile "$2" -out "$3" \
    -CA "$4" -CAkey "$5" -set_serial "$(random_serial)" \
    -days "$CERT_DAYS" -sha256 2>/dev/null || die "openssl could not sign $3"
  chmod 644 "$3"
}

# give_key KEY OWNER: hand a key file to the numeric uid:gid of the process that reads it in its
# container (mode 600 means nobody else can). Only root can do that; others get the command.
give_key() {
  local key=$1 owner=$2
  [[ -n "$owner" ]] || return 0
  if [[ $EUID -eq 0 ]]; then
    chown "$owner" "$key" || die "could not chown $owner $key"
  else
    note "note: run 'sudo chown $owner $key' so the container (uid ${owner%%:*}) can read it"
  fi
}

# same_key CERT KEY: true when the certificate was issued for this private key.
same_key() {
  local c k
  c=$(openssl x509 -noout -modulus -in "$1" 2>/dev/null) || return 1
  k=$(openssl rsa -noout -modulus -in "$2" 2>/dev/null) || return 1
  [[ "$c" == "$k" ]]
}
