#!/bin/sh
# What the official image's entrypoint does: started as root, it hands /mosquitto to the
# mosquitto user, going on when that fails (a read-only mount prints one error per file);
# started as any other user (docker-compose.yml runs it as 1883), it touches nothing.
set -e
if [ "$(id -u)" = 0 ] && [ -d /mosquitto ]; then
	chown -R mosquitto:mosquitto /mosquitto || true
fi
exec "$@"
