#!/usr/bin/env bash
# The image the chaos tests and the compose files run, forelock-test:latest: the real image (Dockerfile), built
# offline from a base imported from this machine's node (scripts/build-image.sh). `--force` rebuilds regardless.
set -euo pipefail
cd "$(dirname "$0")/.."
FORELOCK_IMAGE="${FORELOCK_TEST_IMAGE:-forelock-test:latest}" exec bash scripts/build-image.sh "$@"
