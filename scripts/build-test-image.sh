#!/usr/bin/env bash
# Builds the local image forelock-test:latest with nothing pulled: a tiny root filesystem holding this machine's
# own node binary and the shared libraries it loads, plus the built project (dist/, proto/, package.json and the
# production node_modules), imported with `docker import`. Skips the import when the image already carries the
# content hash of exactly these inputs; `--force` rebuilds regardless.
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE="${FORELOCK_TEST_IMAGE:-forelock-test:latest}"
FORCE=0
[ "${1:-}" = "--force" ] && FORCE=1

log() { echo "[build-test-image] $*"; }

if [ ! -f dist/src/index.js ]; then
  log "dist/ missing: building the project"
  npm run build --silent
fi

NODE_BIN="$(readlink -f "$(command -v node)")"

# Production dependencies only, as top-level paths (nested ones travel with their parents).
mapfile -t DEP_DIRS < <(npm ls --omit=dev --all --parseable 2>/dev/null \
  | sed "s|^$PWD/||" | grep '^node_modules/' | sort -u \
  | awk 'BEGIN { last = "" } { if (last != "" && index($0, last "/") == 1) next; print; last = $0 }')

# Hash of every input, so a changed build yields a new image and an unchanged one is reused.
CONTENT_HASH="$(
  {
    "$NODE_BIN" --version
    sha256sum "$0" package.json package-lock.json
    find dist proto -type f -print0 | sort -z | xargs -0 sha256sum
    printf '%s\n' "${DEP_DIRS[@]}"
  } | sha256sum | cut -c1-16
)"

if [ "$FORCE" -eq 0 ] && [ "$(docker image inspect -f '{{ index .Config.Labels "forelock.content" }}' "$IMAGE" 2>/dev/null || true)" = "$CONTENT_HASH" ]; then
  log "$IMAGE is up to date ($CONTENT_HASH)"
  exit 0
fi

STAGE="$(mktemp -d /tmp/forelock-image.XXXXXX)"
trap 'rm -rf "$STAGE"' EXIT

# The node binary and every shared library it (or a native addon) loads, at the same absolute paths.
copy_with_libs() {
  local target="$1"
  { ldd "$target" 2>/dev/null || true; } \
    | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | while read -r lib; do
    mkdir -p "$STAGE$(dirname "$lib")"
    cp -L "$lib" "$STAGE$lib"
  done
}

mkdir -p "$STAGE/usr/bin" "$STAGE/app" "$STAGE/tmp" "$STAGE/data" "$STAGE/etc"
chmod 1777 "$STAGE/tmp"
cp -L "$NODE_BIN" "$STAGE/usr/bin/node"
copy_with_libs "$NODE_BIN"

# Name resolution through glibc (dns.lookup) needs the NSS modules, which are loaded at run time, not linked.
for nss in /lib/x86_64-linux-gnu/libnss_files.so.2 /lib/x86_64-linux-gnu/libnss_dns.so.2 /lib/x86_64-linux-gnu/libresolv.so.2; do
  if [ -e "$nss" ]; then
    mkdir -p "$STAGE$(dirname "$nss")"
    cp -L "$nss" "$STAGE$nss"
  fi
done
printf 'hosts: files dns\n' >"$STAGE/etc/nsswitch.conf"
printf 'root:x:0:0:root:/root:/usr/bin/node\n' >"$STAGE/etc/passwd"
printf 'root:x:0:\n' >"$STAGE/etc/group"

cp -r dist proto package.json package-lock.json "$STAGE/app/"
tar -cf - "${DEP_DIRS[@]}" | tar -xf - -C "$STAGE/app"
find "$STAGE/app/node_modules" -name '*.node' -path '*linux-x64*' ! -name '*musl*' | while read -r addon; do
  copy_with_libs "$addon"
done

log "importing $IMAGE ($(du -sh "$STAGE" | cut -f1), content $CONTENT_HASH)"
tar -C "$STAGE" -cf - . | docker import \
  --change 'ENV PATH=/usr/bin:/bin' \
  --change 'ENV NODE_ENV=production' \
  --change 'WORKDIR /app' \
  --change 'VOLUME /data' \
  --change 'ENTRYPOINT ["/usr/bin/node", "/app/dist/src/cli/main.js"]' \
  --change "LABEL forelock.content=$CONTENT_HASH" \
  - "$IMAGE" >/dev/null

docker run --rm --entrypoint /usr/bin/node "$IMAGE" --version >/dev/null
# The image this one replaced is left untagged: remove such leftovers of earlier builds (only ours, by label).
docker image prune --force --filter label=forelock.content >/dev/null
log "built $IMAGE"
