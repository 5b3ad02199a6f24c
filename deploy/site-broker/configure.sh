#!/usr/bin/env bash
# Writes the school broker's mosquitto.conf (the one next to this script) for one school.
#
#   configure.sh <school id> <central host>[:<port>] [<output file>]
#
# <school id>     the school's id in the region: a-z, 0-9, '-', at most 32 (e.g. ecole-1); the
#                 same as in the central bridge's SCHOOLS and in `clients-certs.sh --site-bridge`.
# <central host>  the central broker's address as its certificate names it; port 8884 (the
#                 central listener for schools) unless given.
# Without an output file the configuration goes to standard output.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
usage() {
  echo "Usage: $(basename "$0") <school id> <central host>[:<port>] [<output file>]" >&2
  exit 2
}
[[ $# -ge 2 && $# -le 3 ]] || usage
school=$1
central=$2
out=${3:-}

# The id becomes a topic level and part of a certificate's CN: nothing else may get in.
[[ $school =~ ^[a-z0-9-]{1,32}$ ]] ||
  { echo "error: invalid school id '$school': a-z, 0-9, '-', at most 32 (e.g. ecole-1)" >&2; exit 2; }
[[ $central =~ ^[A-Za-z0-9.-]+(:[0-9]{1,5})?$ ]] ||
  { echo "error: invalid central host '$central': a host name or IPv4 address, optionally :port" >&2; exit 2; }
[[ $central == *:* ]] || central=$central:8884

conf=$(sed -e "s/SCHOOL_ID/$school/g" -e "s/CENTRAL_HOST/$central/g" "$here/mosquitto.conf")
if [[ -z $out ]]; then
  printf '%s\n' "$conf"
else
  printf '%s\n' "$conf" >"$out.tmp.$$"
  mv -f "$out.tmp.$$" "$out"
  echo "Wrote $out for school $school, bridged to $central" >&2
fi
