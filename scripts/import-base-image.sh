#!/usr/bin/env bash
# Imports forelock-base:local, the base image the Dockerfile is built FROM where no registry can be reached (CI): a
# tiny root filesystem holding this machine's own node binary, the shared libraries it and the native addons load,
# glibc's name-resolution modules (peers may be DNS names), and an unprivileged user 10001 (forelock). Skips the
# import when the image already carries the content hash of exactly these inputs; `--force` re-imports regardless.
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE="${FORELOCK_BASE_IMAGE:-forelock-base:local}"
FORCE=0
[ "${1:-}" = "--force" ] && FORCE=1

log() { echo "[import-base-image] $*"; }

NODE_BIN="$(readlink -f "$(command -v node)")"
NSS_LIBS=(/lib/x86_64-linux-gnu/libnss_files.so.2 /lib/x86_64-linux-gnu/libnss_dns.so.2 /lib/x86_64-linux-gnu/libresolv.so.2)
# The native addons of the production dependencies need their libraries in the base too (the Dockerfile adds the
# addons themselves with node_modules).
mapfile -t ADDONS < <(find node_modules -name '*.node' -path '*linux-x64*' ! -name '*musl*' 2>/dev/null | sort)

CONTENT_HASH="$(
  {
    "$NODE_BIN" --version
    sha256sum "$0" "$NODE_BIN"
    for lib in "${NSS_LIBS[@]}"; do [ -e "$lib" ] && sha256sum "$lib"; done
    printf '%s\n' "${ADDONS[@]}"
  } | sha256sum | cut -c1-16
)"

if [ "$FORCE" -eq 0 ] && [ "$(docker image inspect -f '{{ index .Config.Labels "forelock.base" }}' "$IMAGE" 2>/dev/null || true)" = "$CONTENT_HASH" ]; then
  log "$IMAGE is up to date ($CONTENT_HASH)"
  exit 0
fi

STAGE="$(mktemp -d /tmp/forelock-base.XXXXXX)"
trap 'rm -rf "$STAGE"' EXIT

# Every shared library `target` loads, at the same absolute paths.
copy_libs_of() {
  { ldd "$1" 2>/dev/null || true; } \
    | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | while read -r lib; do
    mkdir -p "$STAGE$(dirname "$lib")"
    cp -L "$lib" "$STAGE$lib"
  done
}

mkdir -p "$STAGE/usr/bin" "$STAGE/tmp" "$STAGE/etc"
chmod 1777 "$STAGE/tmp"
cp -L "$NODE_BIN" "$STAGE/usr/bin/node"
copy_libs_of "$NODE_BIN"
for addon in "${ADDONS[@]}"; do copy_libs_of "$addon"; done
# Name resolution through glibc (dns.lookup) needs the NSS modules, which are loaded at run time, not linked.
for nss in "${NSS_LIBS[@]}"; do
  if [ -e "$nss" ]; then
    mkdir -p "$STAGE$(dirname "$nss")"
    cp -L "$nss" "$STAGE$nss"
  fi
done
printf 'hosts: files dns\n' >"$STAGE/etc/nsswitch.conf"
printf 'root:x:0:0:root:/root:/usr/bin/node\nforelock:x:10001:10001:forelock:/data:/usr/bin/node\n' >"$STAGE/etc/passwd"
printf 'root:x:0:\nforelock:x:10001:\n' >"$STAGE/etc/group"

log "importing $IMAGE ($(du -sh "$STAGE" | cut -f1), content $CONTENT_HASH)"
tar -C "$STAGE" -cf - . | docker import \
  --change 'ENV PATH=/usr/bin:/bin' \
  --change "LABEL forelock.base=$CONTENT_HASH" \
  - "$IMAGE" >/dev/null
docker run --rm "$IMAGE" node --version >/dev/null
docker image prune --force --filter label=forelock.base >/dev/null
log "imported $IMAGE"
