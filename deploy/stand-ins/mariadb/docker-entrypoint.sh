#!/bin/bash
# Entrypoint of the mariadb:11 stand-in (../README.md): what the official image's entrypoint does
# for the settings docker-compose.local-db.yml uses, on Debian's MariaDB 10.11.
#
# `mariadbd` (or options alone): on an empty /var/lib/mysql, make the data directory first:
# root's password (MARIADB_ROOT_PASSWORD, or MARIADB_ALLOW_EMPTY_ROOT_PASSWORD /
# MARIADB_RANDOM_ROOT_PASSWORD) for root@localhost and root@MARIADB_ROOT_HOST ('%'),
# MARIADB_DATABASE, MARIADB_USER / MARIADB_PASSWORD, the account healthcheck.sh uses, then the
# files of /docker-entrypoint-initdb.d (*.sql in MARIADB_DATABASE, *.sh), on a temporary server
# that listens on no TCP port. Then the server runs as mysql (uid 999). Any other command runs
# as it is. MYSQL_* names are accepted for each MARIADB_* one, as the official image does.
set -eo pipefail

log() { printf '%s [Note] [Entrypoint]: %s\n' "$(date '+%F %T')" "$*"; }
die() {
  printf '%s [ERROR] [Entrypoint]: %s\n' "$(date '+%F %T')" "$*" >&2
  exit 1
}

if [[ ${1:0:1} == - ]]; then set -- mariadbd "$@"; fi
[[ $1 == mariadbd || $1 == mysqld ]] || exec "$@"

readonly DATADIR=/var/lib/mysql
readonly INIT_SOCKET=/run/mysqld/init.sock
readonly HEALTHCHECK_CNF=$DATADIR/.my-healthcheck.cnf

# MARIADB_<name>, else MYSQL_<name>, else the default given.
setting() {
  local mariadb=MARIADB_$1 mysql=MYSQL_$1
  printf '%s' "${!mariadb:-${!mysql:-${2:-}}}"
}

# A value as an SQL string literal, an identifier between backquotes.
sql_string() {
  local s=${1//\\/\\\\}
  printf "'%s'" "${s//\'/\\\'}"
}
sql_identifier() { printf '`%s`' "${1//\`/\`\`}"; }

random_password() { head -c 24 /dev/urandom | base64 | tr -d '/+='; }

init_sql() { mariadb --protocol=socket --socket="$INIT_SOCKET" -uroot "$@"; }

start_init_server() {
  "$@" --user=mysql --datadir="$DATADIR" --skip-networking --socket="$INIT_SOCKET" &
  init_pid=$!
  for _ in $(seq 1 60); do
    init_sql -e 'SELECT 1' >/dev/null 2>&1 && return 0
    kill -0 "$init_pid" 2>/dev/null || die "the temporary server exited during initialisation"
    sleep 1
  done
  die "the temporary server did not answer within 60 s"
}

make_accounts() {
  local root_password=$1 root_host database user password healthcheck_password
  root_host=$(setting ROOT_HOST %)
  database=$(setting DATABASE)
  user=$(setting USER)
  password=$(setting PASSWORD)
  healthcheck_password=$(random_password)
  {
    # Anonymous accounts, and the install's proxy entry named after this container's host name,
    # which skip-name-resolve ignores with a warning at every start.
    echo "DELETE FROM mysql.global_priv WHERE User = '';"
    echo "DELETE FROM mysql.proxies_priv WHERE Host = $(sql_string "$HOSTNAME"); FLUSH PRIVILEGES;"
    echo "ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD($(sql_string "$root_password"));"
    if [[ $root_host != localhost ]]; then
      echo "CREATE USER 'root'@$(sql_string "$root_host") IDENTIFIED BY $(sql_string "$root_password");"
      echo "GRANT ALL ON *.* TO 'root'@$(sql_string "$root_host") WITH GRANT OPTION;"
      echo "GRANT PROXY ON ''@'%' TO 'root'@$(sql_string "$root_host") WITH GRANT OPTION;"
    fi
    for host in 127.0.0.1 ::1 localhost; do
      echo "CREATE USER 'healthcheck'@'$host' IDENTIFIED BY $(sql_string "$healthcheck_password");"
    done
    [[ -z $database ]] || echo "CREATE DATABASE IF NOT EXISTS $(sql_identifier "$database");"
    if [[ -n $user ]]; then
      echo "CREATE USER $(sql_string "$user")@'%' IDENTIFIED BY $(sql_string "$password");"
      [[ -z $database ]] || echo "GRANT ALL ON $(sql_identifier "$database").* TO $(sql_string "$user")@'%';"
    fi
  } | init_sql
  (umask 077 && printf '[client]\nhost=127.0.0.1\nport=3306\nprotocol=tcp\nuser=healthcheck\npassword=%s\n' \
    "$healthcheck_password" >"$HEALTHCHECK_CNF")
  chown mysql:mysql "$HEALTHCHECK_CNF"
}

run_init_files() {
  local database file in_database=()
  database=$(setting DATABASE)
  [[ -z $database ]] || in_database=(--database="$database")
  for file in /docker-entrypoint-initdb.d/*; do
    case $file in
      *.sql)
        log "$0: running $file"
        init_sql "${in_database[@]}" <"$file"
        ;;
      *.sh)
        log "$0: running $file"
        if [[ -x $file ]]; then "$file"; else
          # shellcheck disable=SC1090 # the image's user provides it
          . "$file"
        fi
        ;;
      */\*) ;; # the folder is empty
      *) log "$0: ignoring $file" ;;
    esac
  done
}

init_database() {
  local root_password
  root_password=$(setting ROOT_PASSWORD)
  if [[ -z $root_password ]]; then
    if [[ -n $(setting RANDOM_ROOT_PASSWORD) ]]; then
      root_password=$(random_password)
      log "GENERATED ROOT PASSWORD: $root_password"
    elif [[ -z $(setting ALLOW_EMPTY_ROOT_PASSWORD) ]]; then
      die "Database is uninitialized and password option is not specified: set one of" \
        "MARIADB_ROOT_PASSWORD, MARIADB_ALLOW_EMPTY_ROOT_PASSWORD or MARIADB_RANDOM_ROOT_PASSWORD"
    fi
  fi
  log "Initializing database files"
  mariadb-install-db --user=mysql --datadir="$DATADIR" --skip-test-db >/dev/null
  log "Starting temporary server"
  start_init_server "$@"
  make_accounts "$root_password"
  run_init_files
  log "Stopping temporary server"
  mariadb-admin --socket="$INIT_SOCKET" -uroot shutdown
  wait "$init_pid"
  log "MariaDB init process done. Ready for start up."
}

if [[ $(id -u) == 0 ]]; then
  install -d -o mysql -g mysql /run/mysqld "$DATADIR"
  [[ -d $DATADIR/mysql ]] || init_database "$@"
  exec setpriv --reuid=mysql --regid=mysql --init-groups "$@"
fi
[[ -d $DATADIR/mysql ]] || die "the data directory must be made as root (the image's default user)"
exec "$@"
