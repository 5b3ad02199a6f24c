#!/bin/sh
# Builds the school broker's plugin parc-strip-retain.so (strip-retain.c, next to this script).
#
#   build.sh [output file]     default: <repository>/mosquitto/plugins/parc-strip-retain.so
#
# Needs a C compiler and the Mosquitto 2 headers: on Debian, apt-get install gcc mosquitto-dev
# libmosquitto-dev; on Alpine, apk add gcc musl-dev mosquitto-dev. Build it where the school's
# Mosquitto runs (or in the same distribution): a plugin is native code for that C library.
# POSIX sh, so that it also runs in an Alpine container.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../../../mosquitto/plugins/parc-strip-retain.so}
cc=${CC:-gcc}

command -v "$cc" >/dev/null 2>&1 || { echo "error: $cc is not installed (apt-get install gcc)" >&2; exit 1; }
for header in mosquitto_plugin.h mosquitto_broker.h mosquitto.h; do
  echo "#include <$header>" | "$cc" -E -x c - >/dev/null 2>&1 ||
    { echo "error: $header not found (apt-get install mosquitto-dev libmosquitto-dev)" >&2; exit 1; }
done

mkdir -p "$(dirname "$out")"
# Built next to its destination, then moved in: a broker never loads half a file.
"$cc" -std=c99 -O2 -Wall -Wextra -Werror -fPIC -shared -o "$out.tmp.$$" "$here/strip-retain.c"
chmod 644 "$out.tmp.$$"
mv -f "$out.tmp.$$" "$out"
echo "Built $out" >&2
