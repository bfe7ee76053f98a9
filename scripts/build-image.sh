#!/usr/bin/env bash
# Builds Forelock's image from the Dockerfile, offline: the context holds the built project (dist/, proto/,
# package.json, package-lock.json) and the production node_modules only, so the Dockerfile fetches nothing.
#   FORELOCK_IMAGE  the tag to build (default forelock:local)
#   BASE_IMAGE      the Dockerfile's base (default forelock-base:local, imported by scripts/import-base-image.sh when
#                   missing; any image with node >= 20 on PATH works, e.g. node:20-bookworm-slim where a registry is
#                   reachable)
# Skips the build when the image already carries the content hash of exactly these inputs; `--force` rebuilds.
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE="${FORELOCK_IMAGE:-forelock:local}"
BASE_IMAGE="${BASE_IMAGE:-forelock-base:local}"
FORCE=0
[ "${1:-}" = "--force" ] && FORCE=1

log() { echo "[build-image] $*"; }

if [ ! -f dist/src/index.js ]; then
  log "dist/ missing: building the project"
  npm run build --silent
fi
if [ "$BASE_IMAGE" = "forelock-base:local" ]; then
  bash scripts/import-base-image.sh
fi

# Production dependencies only, as top-level paths (nested ones travel with their parents).
mapfile -t DEP_DIRS < <(npm ls --omit=dev --all --parseable 2>/dev/null \
  | sed "s|^$PWD/||" | grep '^node_modules/' | sort -u \
  | awk 'BEGIN { last = "" } { if (last != "" && index($0, last "/") == 1) next; print; last = $0 }')

# Hash of every input, so a changed build yields a new image and an unchanged one is reused.
CONTENT_HASH="$(
  {
    docker image inspect -f '{{.Id}}' "$BASE_IMAGE" 2>/dev/null || echo "$BASE_IMAGE"
    sha256sum "$0" Dockerfile package.json package-lock.json
    find dist proto -type f -print0 | sort -z | xargs -0 sha256sum
    printf '%s\n' "${DEP_DIRS[@]}"
  } | sha256sum | cut -c1-16
)"

if [ "$FORCE" -eq 0 ] && [ "$(docker image inspect -f '{{ index .Config.Labels "forelock.content" }}' "$IMAGE" 2>/dev/null || true)" = "$CONTENT_HASH" ]; then
  log "$IMAGE is up to date ($CONTENT_HASH)"
  exit 0
fi

CONTEXT="$(mktemp -d /tmp/forelock-image.XXXXXX)"
trap 'rm -rf "$CONTEXT"' EXIT
cp -r Dockerfile dist proto package.json package-lock.json "$CONTEXT/"
mkdir -p "$CONTEXT/node_modules"
tar -cf - "${DEP_DIRS[@]}" | tar -xf - -C "$CONTEXT"

log "building $IMAGE FROM $BASE_IMAGE ($(du -sh "$CONTEXT" | cut -f1) of context, content $CONTENT_HASH)"
# The legacy builder: the Debian docker.io CI installs has no buildx, and nothing here needs BuildKit.
DOCKER_BUILDKIT=0 docker build --quiet \
  --build-arg "BASE_IMAGE=$BASE_IMAGE" \
  --label "forelock.content=$CONTENT_HASH" \
  -t "$IMAGE" "$CONTEXT" >/dev/null

# The image this one replaced is left untagged: remove such leftovers of earlier builds (only ours, by label).
docker image prune --force --filter label=forelock.content >/dev/null
docker image prune --force --filter label=forelock.stage >/dev/null
log "built $IMAGE"
