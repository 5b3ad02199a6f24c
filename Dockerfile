# parc-bridge image. Both stages use the same Node 20 / Debian bookworm base, so the native
# better-sqlite3 addon compiled in the build stage runs unchanged in the runtime stage.
# No `# syntax=` line: BuildKit's own Dockerfile parser is enough, and fetching another from
# Docker Hub would fail where NODE_IMAGE is a mirror or a local stand-in (.env.example, Images).
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Compilers for better-sqlite3's node-gyp build, used when no prebuilt binary can be fetched.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
# Dependencies first, so this slow layer (native build) is redone only when the lockfile changes.
# --ignore-scripts skips the package's own "prepare" (tsc needs src/, copied below) and the dev
# tools' scripts; better-sqlite3, the one dependency that must build, is built explicitly.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts && npm rebuild better-sqlite3
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# Compile to dist/ (what "prepare" runs), then drop the dev dependencies from node_modules,
# and better-sqlite3's sources and build leftovers (about 25 MB): only its .node file is loaded.
RUN npm run build && npm prune --omit=dev \
 && addon=node_modules/better-sqlite3 \
 && mv "$addon/build/Release/better_sqlite3.node" /tmp/ \
 && rm -rf "$addon/build" "$addon/deps" "$addon/src" \
 && mkdir -p "$addon/build/Release" \
 && mv /tmp/better_sqlite3.node "$addon/build/Release/"

FROM ${NODE_IMAGE} AS runtime
# HTTP_HOST 0.0.0.0: Docker reaches a container on its own network address (a published port,
# Prometheus in another container). Who reaches the page is the host's choice: docker-compose.yml
# publishes it on HTTP_PUBLISHED_ADDRESS (127.0.0.1 by default), and beyond the loopback the bridge
# refuses to start without HTTP_TOKEN.
ENV NODE_ENV=production \
    DATA_DIR=/data \
    HTTP_PORT=8080 \
    HTTP_HOST=0.0.0.0
# A heap sized for the bridge, whose memory is bounded by design: V8's defaults let it grow to
# 150-240 MiB RSS at full speed, these keep it near 130 MiB at no measurable cost in rate
# (README, Performance). The integration tests run the bridge with this same line.
ENV NODE_OPTIONS="--max-old-space-size=64 --max-semi-space-size=8"
WORKDIR /app
# openssl: the one-shot `pki` service of docker-compose.yml runs mosquitto/*.sh in this image.
# uid/gid 1001 own the bridge's client.key on the host (clients-certs.sh --bridge chowns it),
# and the journal volume below.
RUN apt-get update \
 && apt-get install -y --no-install-recommends openssl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 1001 parc \
 && useradd --uid 1001 --gid 1001 --home-dir /app --no-create-home --shell /usr/sbin/nologin parc \
 && mkdir -p /data \
 && chown 1001:1001 /data
# Root-owned application files: the running bridge cannot modify its own code.
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER 1001
# The durable local journal (DATA_DIR): a volume, so it outlives the container.
VOLUME /data
# HTTP_PORT: the status page, /healthz, /readyz, /metrics.
EXPOSE 8080
# Ready = /readyz answers 200 (MQTT and the journal up); exit 1 otherwise.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
  CMD ["node", "dist/cli.js", "healthcheck"]
# node itself is PID 1 (exec form): SIGTERM reaches the bridge, which flushes and exits 0.
CMD ["node", "dist/cli.js", "start"]
