# Forelock's container image. Multi-stage: `app` lays out the built project and checks that it starts; the final
# stage copies only that layout onto a clean base and runs it as an unprivileged user.
#
# The build context is made by scripts/build-image.sh: it builds the project (dist/) and keeps the production
# dependencies only, so nothing is fetched while the image builds. BASE_IMAGE is any image with Node.js >= 20 as
# `node` on PATH: node:20-bookworm-slim by default; CI, with no registry, passes the base imported from this
# machine's own node binary (scripts/import-base-image.sh).
ARG BASE_IMAGE=node:20-bookworm-slim

FROM ${BASE_IMAGE} AS app
# Marks this stage's leftover image, which scripts/build-image.sh prunes after the build.
LABEL forelock.stage=app
WORKDIR /app
COPY package.json package-lock.json ./
COPY proto ./proto
COPY node_modules ./node_modules
COPY dist ./dist
# The image must start: a broken layout fails the build, not the first deployment.
RUN ["node", "/app/dist/src/cli/main.js", "--version"]
# The data directory, created here (the base may have no shell) and handed to the runtime user below.
RUN ["node", "-e", "require('node:fs').mkdirSync('/data', { recursive: true })"]

FROM ${BASE_IMAGE}
# Application files stay owned by root (read-only to the process); only /data is the runtime user's.
COPY --from=app /app /app
COPY --from=app --chown=10001:10001 /data /data
WORKDIR /app
ENV NODE_ENV=production
USER 10001:10001
VOLUME ["/data"]
# One port for clients and peers, one for HTTP (/livez, /readyz, /healthz, /metrics, /v1/*).
EXPOSE 7400 7480
# Liveness only (the process serves): a cluster without a quorum is not cured by restarting its members. Probes
# 127.0.0.1 on FORELOCK_HEALTH_PORT (default 7480), so --http must listen there or on 0.0.0.0.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.FORELOCK_HEALTH_PORT ?? 7480}/livez`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "/app/dist/src/cli/main.js"]
# Every serve setting can also come from FORELOCK_SERVE_* variables (README, Environment variables). Plaintext on
# 0.0.0.0 is refused unless TLS is given (FORELOCK_SERVE_TLS_CERT, _KEY, _CA) or FORELOCK_SERVE_INSECURE=true.
CMD ["serve", "--listen", "0.0.0.0:7400", "--http", "0.0.0.0:7480", "--data", "/data"]
