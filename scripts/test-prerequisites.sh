#!/usr/bin/env bash
# What `npm test` needs besides node_modules, made present before it runs ("pretest"):
# the Debian packages whose binaries the integration tests start, the machine's MariaDB
# answering on 127.0.0.1:3306, and a Docker engine for the image and stack tests.
#
# As root (CI, a fresh machine of this kind) it installs and starts what is missing; as another
# user it only says what is missing. Fast when everything is already there: no apt-get call.
#
# SKIP_TEST_PREREQUISITES=1 skips it all (e.g. a developer who manages the services by hand).
set -euo pipefail

[[ ${SKIP_TEST_PREREQUISITES:-} == 1 ]] && exit 0

log() { printf '== test prerequisites: %s\n' "$*" >&2; }
is_root() { [[ $EUID -eq 0 ]]; }

# --- Debian packages: one binary each that proves the package is there --------------------------
declare -A package_of=(
  [mosquitto]=mosquitto
  [mosquitto_pub]=mosquitto-clients
  [openssl]=openssl
  [mariadbd]=mariadb-server
  [mariadb-install-db]=mariadb-server
  [mariadb]=mariadb-client
  [chromium]=chromium
  [promtool]=prometheus
  [faketime]=faketime
  [dockerd]=docker.io
  [docker-compose]=docker-compose
  [debootstrap]=debootstrap
  [haproxy]=haproxy
  [mariabackup]=mariadb-backup
  [socat]=socat
  [ss]=iproute2
  [gcc]=gcc
)
# Files without a binary of their own: galera-4's library (the Galera test's nodes load it), and
# the headers the school broker's Mosquitto plugin is built with (deploy/site-broker/plugin).
declare -A package_of_file=(
  [/usr/lib/galera/libgalera_smm.so]=galera-4
  [/usr/include/mosquitto_plugin.h]=mosquitto-dev
  [/usr/include/mosquitto.h]=libmosquitto-dev
)
has() { command -v "$1" >/dev/null 2>&1 || [[ -x /usr/sbin/$1 || -x /sbin/$1 ]]; }

missing=()
installed_mariadb=0
for binary in "${!package_of[@]}"; do
  has "$binary" || missing+=("${package_of[$binary]}")
done
for file in "${!package_of_file[@]}"; do
  [[ -e $file ]] || missing+=("${package_of_file[$file]}")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  if is_root; then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # docker.io's own docker client would not replace a newer one in /usr/local/bin (PATH order).
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    [[ " ${missing[*]} " == *" mariadb-server "* ]] && installed_mariadb=1
  else
    log "missing Debian packages: ${missing[*]} (run this as root, or: sudo apt-get install ${missing[*]})"
    exit 1
  fi
fi

# --- The machine's MariaDB: throwaway databases of the integration tests ------------------------
mariadb_up() { mariadb --protocol=tcp -h127.0.0.1 -uroot -e 'SELECT 1' >/dev/null 2>&1; }
mariadb_socket_up() { mariadb -uroot -e 'SELECT 1' >/dev/null 2>&1; }
if ! mariadb_up && ! mariadb_socket_up; then
  is_root || { log "MariaDB does not answer on 127.0.0.1:3306 as root without password"; exit 1; }
  log "starting MariaDB"
  # A fresh package install may not have initialised its data directory (no init system here).
  [[ -d /var/lib/mysql/mysql ]] || mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/dev/null
  install -d -o mysql -g mysql /run/mysqld
  start-stop-daemon --start --oknodo --background --chuid mysql --exec /usr/sbin/mariadbd
  for _ in $(seq 1 60); do
    mariadb_up || mariadb_socket_up && break
    sleep 1
  done
  mariadb_up || mariadb_socket_up || { log "MariaDB did not start"; exit 1; }
fi
# A fresh Debian install lets root in through the Unix socket only; the tests log in over TCP as
# root without password, as on the CI machine. Only done for a server installed by this run:
# never change the accounts of a MariaDB someone set up.
if [[ $installed_mariadb == 1 ]] && ! mariadb_up && mariadb_socket_up; then
  log "letting root in over TCP without password, as the tests expect (fresh MariaDB)"
  mariadb -uroot -e "ALTER USER root@localhost IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('')"
fi
mariadb_up || { log "MariaDB does not let root in on 127.0.0.1:3306 without password; the tests log in that way"; exit 1; }

# --- Docker engine: the image and stack tests build and run the project's images ----------------
# Best effort: without an engine those tests say why and are skipped, the others still run.
if is_root; then
  "$(dirname "${BASH_SOURCE[0]}")/start-dockerd.sh" || log "no Docker engine; the image and stack tests will be skipped"
fi
exit 0
