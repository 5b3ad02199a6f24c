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

# --- The CA's database: what the scripts issued, what was revoked, and the CRL ------------------
# server-certs/ca-db/ holds openssl ca's index.txt (one line per certificate: V valid or R
# revoked, expiry, revocation date, serial, subject), a copy of each certificate by serial
# (certs/<SERIAL>.pem, so that a certificate can be revoked by its CN alone) and crlnumber.
# server-certs/ca.crl is the revocation list the broker loads (crlfile in mosquitto.conf).

# How long a CRL stays valid. Past its nextUpdate OpenSSL rejects the CRL and with it every
# client, so it is long: server-certs.sh renews the broker certificate (825 days at most) and
# rewrites the CRL with it, and every revocation rewrites it too.
readonly CRL_DAYS=3650

ca_db_dir() { echo "$1/server-certs/ca-db"; }
crl_file() { echo "$1/server-certs/ca.crl"; }

# ca_config ROOT: prints the minimal `openssl ca` configuration of the CA in ROOT/server-certs.
# Only the database, revocation and CRL settings: certificates are signed by sign_csr.
ca_config() {
  local db
  db=$(ca_db_dir "$1")
  cat <<CNF
[ca]
default_ca = parc_ca
[parc_ca]
database = $db/index.txt
new_certs_dir = $db/certs
certificate = $1/server-certs/ca.crt
private_key = $1/server-certs/ca.key
crlnumber = $db/crlnumber
default_md = sha256
default_crl_days = $CRL_DAYS
# A device re-issued with --force keeps its CN: several certificates per CN are normal here.
unique_subject = no
CNF
}

# ca_openssl ROOT ARGS...: openssl ca on the CA of ROOT, creating its database when missing
# (an installation made by hand, or by an earlier version of the scripts, has none).
ca_openssl() {
  local root=$1 db cnf status
  shift
  db=$(ca_db_dir "$root")
  mkdir -p "$db/certs"
  cnf=$(mktemp)
  ca_config "$root" >"$cnf"
  status=0
  # One at a time: openssl ca replaces index.txt by a rename, so a second run at the same moment
  # (devices made in parallel) would find no index at all.
  (
    flock 9
    [[ -f $db/index.txt ]] || : >"$db/index.txt"
    [[ -f $db/crlnumber ]] || echo 1000 >"$db/crlnumber"
    openssl ca -batch -config "$cnf" "$@" 2>"$cnf.err"
  ) 9>"$db/.lock" || status=$?
  if [[ $status -ne 0 ]]; then
    cat "$cnf.err" >&2
  fi
  rm -f "$cnf" "$cnf.err"
  return "$status"
}

# cert_serial CERT: its serial as openssl ca's index writes it (upper-case hex).
cert_serial() {
  openssl x509 -noout -serial -in "$1" | cut -d= -f2
}

# index_status ROOT SERIAL: V, R or E from the index, nothing when the serial is not in it.
index_status() {
  local index
  index="$(ca_db_dir "$1")/index.txt"
  [[ -f $index ]] || return 0
  awk -F'\t' -v serial="$2" '$4 == serial { print $1; exit }' "$index"
}

# record_issued ROOT CERT: adds a certificate this CA just signed to the index (status V) and
# keeps a copy of it, so that revoke-cert.sh can later revoke it by CN.
record_issued() {
  local serial
  serial=$(cert_serial "$2")
  ca_openssl "$1" -valid "$2" >/dev/null || die "openssl could not record $2 in the CA's index"
  cp "$2" "$(ca_db_dir "$1")/certs/$serial.pem"
}

# write_crl ROOT: (re)writes ROOT/server-certs/ca.crl from the index, signed by the CA, valid
# CRL_DAYS. Written next to it, then moved in: the broker never reads half a file.
write_crl() {
  local crl tmp
  crl=$(crl_file "$1")
  tmp="$crl.tmp.$$"
  ca_openssl "$1" -gencrl -out "$tmp" >/dev/null || {
    rm -f "$tmp"
    die "openssl could not write the revocation list $crl"
  }
  chmod 644 "$tmp"
  mv -f "$tmp" "$crl"
}
