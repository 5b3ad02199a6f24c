#!/usr/bin/env bash
# Starts the Docker engine when it does not answer (Debian's docker.io, overlay2, as root; no
# init system on CI machines of this kind). Exit 0 once `docker info` answers, 1 if it cannot.
# Used by scripts/test-prerequisites.sh and by the image test when run alone.
set -euo pipefail

docker_up() { timeout 10 docker info >/dev/null 2>&1; }
docker_up && exit 0

dockerd=$(command -v dockerd || true)
[[ -n $dockerd ]] || { echo "no dockerd (apt-get install docker.io)" >&2; exit 1; }
[[ $EUID -eq 0 ]] || { echo "dockerd needs root" >&2; exit 1; }

log_file=${DOCKERD_LOG:-/var/log/dockerd.log}
pid_file=/run/parc-dockerd.pid
echo "== starting dockerd (log: $log_file)" >&2
start-stop-daemon --start --oknodo --background --make-pidfile --pidfile "$pid_file" \
  --output "$log_file" --exec "$dockerd" -- --storage-driver=overlay2 --log-level=warn
for _ in $(seq 1 30); do
  docker_up && exit 0
  # Where no engine can run (e.g. an unprivileged container) dockerd exits at once: say so now.
  kill -0 "$(cat "$pid_file")" 2>/dev/null || break
  sleep 1
done
echo "dockerd did not start: $(tail -n 1 "$log_file" 2>/dev/null)" >&2
exit 1
