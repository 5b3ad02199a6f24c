#!/usr/bin/env bash
# Builds the school broker's plugin parc-strip-retain.so (strip-retain.c, next to this script).
#
#   build.sh [output file]     default: <repository>/mosquitto/plugins/parc-strip-retain.so
#
# Needs gcc and the Mosquitto 2 headers (Debian: apt-get install gcc mosquitto-dev
# libmosquitto-dev). Build it on the machine, or in the image, that runs the school's Mosquitto:
# a plugin is native code for that system's C library.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${1:-$here/../../../mosquitto/plugins/parc-strip-retain.so}

command -v gcc >/dev/null 2>&1 || { echo "error: gcc is not installed (apt-get install gcc)" >&2; exit 1; }
for header in mosquitto_plugin.h mosquitto_broker.h mosquitto.h; do
  echo "#include <$header>" | gcc -E -x c - >/dev/null 2>&1 ||
    { echo "error: $header not found (apt-get install mosquitto-dev libmosquitto-dev)" >&2; exit 1; }
done

mkdir -p "$(dirname "$out")"
# Built next to its destination, then moved in: a broker never loads half a file.
gcc -std=c99 -O2 -Wall -Wextra -Werror -fPIC -shared -o "$out.tmp.$$" "$here/strip-retain.c"
chmod 644 "$out.tmp.$$"
mv -f "$out.tmp.$$" "$out"
echo "Built $out" >&2
