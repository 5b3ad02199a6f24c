#!/bin/bash
# healthcheck.sh of the mariadb:11 stand-in (../README.md): the two tests
# docker-compose.local-db.yml asks for, with the official script's meaning, as the account the
# entrypoint made for it (/var/lib/mysql/.my-healthcheck.cnf). Over TCP, which the temporary
# server of the initialisation does not listen on: healthy means initialised and serving.
#   --connect             the server takes a connection
#   --innodb_initialized  InnoDB is up
# Exit 0 when every test given passes.
set -u

query() {
  mariadb --defaults-extra-file=/var/lib/mysql/.my-healthcheck.cnf --batch --skip-column-names -e "$1" 2>/dev/null
}

[[ $# -gt 0 ]] || { echo "usage: healthcheck.sh --connect | --innodb_initialized ..." >&2; exit 1; }
for test in "$@"; do
  case $test in
    --connect)
      query 'SELECT 1' >/dev/null || { echo "healthcheck: no connection" >&2; exit 1; }
      ;;
    --innodb_initialized)
      [[ $(query "SELECT 1 FROM information_schema.ENGINES WHERE ENGINE = 'InnoDB' AND SUPPORT IN ('YES', 'DEFAULT', 'ENABLED')") == 1 ]] ||
        { echo "healthcheck: InnoDB is not initialised" >&2; exit 1; }
      ;;
    *)
      echo "healthcheck: $test is not one of this stand-in's tests (--connect, --innodb_initialized)" >&2
      exit 1
      ;;
  esac
done
