# syntax=docker/dockerfile:1
#
# One image for every container of the project: the service and its wiring come from the
# environment (ZC_SERVICE, ZMQ_*), as in compose.yaml and deploy/k8s/.
#
#   docker build -t zmq-container:0.1.0 .
#   docker build --build-arg NODE_VERSION=20 -t zmq-container:0.1.0-node20 .
#
# Debian slim, not Alpine: zeromq's prebuilt addon is built against glibc, and its musl build has
# open failures upstream. Node 24 is the maintained LTS that CI also tests (Node 20 left
# maintenance in April 2026); NODE_VERSION=20 still builds and runs.
ARG NODE_VERSION=24

# --- build: dev dependencies, TypeScript -> dist/, then production dependencies only ---
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts/write-entry.js scripts/train-code-caches.js ./scripts/
COPY src ./src
COPY workers ./workers
COPY examples ./examples
# zeromq ships prebuilt addons for every platform (about 33 MB): keep only this platform's glibc
# builds, then load zeromq so that a prune gone wrong fails the build, not the container.
RUN npm run build \
    && npm prune --omit=dev --no-audit --no-fund \
    && arch="$(node -p process.arch)" \
    && cd node_modules/zeromq/build \
    && find . -name '*.node' ! -path "./linux/${arch}/node/glibc-*" -delete \
    && find . -type d -empty -delete \
    && cd /app \
    && node -e "require('zeromq')"

# --- runtime: node, tini, the built app; no compiler, no dev dependencies ---
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
# tini is PID 1: it forwards SIGTERM to node and reaps zombies (Kubernetes has no --init).
# -s lets it nest under Compose's `init: true` or `docker run --init` without a warning.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/*
# NODE_COMPILE_CACHE: Node 22.1+ keeps the V8 code of the modules it compiled there, and reads it
# back at the next start (Node 20 ignores it). Filled below, at build time, so every container
# starts with it, a read-only one too (it then only reads).
ENV NODE_ENV=production \
    HTTP_PORT=9464 \
    NODE_COMPILE_CACHE=/app/.compile-cache
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY scripts/healthcheck.js scripts/warm-compile-cache.js ./scripts/
RUN mkdir .compile-cache && chown 1000:1000 .compile-cache
# The node image's `node` user, by number so that Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
# One start on loopback fills the cache; Node names its directory after the user id, so it runs
# as the image's user (another uid at run time finds no cache, and starts as without it).
RUN node scripts/warm-compile-cache.js
# Health and metrics (HTTP_PORT). ZeroMQ ports depend on the service's env and are published by
# the orchestrator (compose.yaml, deploy/k8s/).
EXPOSE 9464
# No curl in the image: a one-file Node check against 127.0.0.1:$HTTP_PORT/livez.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["node", "/app/scripts/healthcheck.js", "livez"]
ENTRYPOINT ["/usr/bin/tini", "-s", "--"]
CMD ["node", "dist/main.js"]
