#!/usr/bin/env bash
# Makes a Docker daemon available for the chaos tests: installs Debian's docker.io when dockerd is absent and
# starts dockerd in the background when it is not answering. Idempotent: a second run changes nothing.
set -euo pipefail

log() { echo "[ci-docker] $*"; }

sudo_if_needed() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

if ! command -v dockerd >/dev/null 2>&1; then
  log "dockerd not found: installing Debian's docker.io"
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    docker.io iptables util-linux >/dev/null
fi

if docker info >/dev/null 2>&1; then
  log "dockerd already running"
  exit 0
fi

log "starting dockerd in the background (log: /var/log/dockerd-ci.log)"
# setsid detaches the daemon from this script's process group so that it outlives the CI step.
sudo_if_needed setsid dockerd >/var/log/dockerd-ci.log 2>&1 < /dev/null &

for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    log "dockerd is up: $(docker version --format '{{.Server.Version}}')"
    exit 0
  fi
  sleep 1
done

log "dockerd did not answer within 60 s; last lines of its log:"
tail -n 30 /var/log/dockerd-ci.log >&2 || true
exit 1
