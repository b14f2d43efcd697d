# syntax=docker/dockerfile:1
# The hub image: the dashboard (built with Node) embedded in a release hub, plus the
# agent binary the hub serves to install.sh, on Debian slim as an unprivileged user.
#
#   docker build -f deploy/hub.Dockerfile -t lunasentri-hub .
#   docker run -p 8080:8080 -v lunasentri-data:/var/lib/lunasentri lunasentri-hub
#
# SQLite (the default) lives in the volume /var/lib/lunasentri; for PostgreSQL set
# LUNASENTRI_DATABASE_URL. docs/operations.md describes every setting.

ARG RUST_VERSION=1.95
ARG NODE_VERSION=22
ARG DEBIAN_RELEASE=bookworm

FROM node:${NODE_VERSION}-${DEBIAN_RELEASE}-slim AS dashboard
WORKDIR /src/frontend
# The test browsers are not needed to build.
ENV PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
COPY frontend/package.json frontend/package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

FROM rust:${RUST_VERSION}-slim-${DEBIAN_RELEASE} AS builder
# libpq for the PostgreSQL backend; SQLite is compiled in.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# Release builds embed frontend/dist into the hub binary.
COPY --from=dashboard /src/frontend/dist frontend/dist
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --locked --release -p lunasentri-hub \
 && cargo build --locked --profile release-agent -p lunasentri-agent \
 && mkdir -p /out \
 && cp target/release/lunasentri-hub target/release-agent/lunasentri-agent /out/

FROM debian:${DEBIAN_RELEASE}-slim
# curl serves the health check (and the compose file's one-shot enrollment step).
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl libpq5 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 lunasentri \
 && useradd --system --uid 10001 --gid lunasentri --home-dir /var/lib/lunasentri \
      --shell /usr/sbin/nologin lunasentri \
 && install -d -o lunasentri -g lunasentri -m 0750 /var/lib/lunasentri
# The hub serves the agent found next to its own executable at
# /downloads/lunasentri-agent-linux-<arch>, which install.sh fetches.
COPY --from=builder /out/lunasentri-hub /out/lunasentri-agent /usr/local/bin/
USER lunasentri:lunasentri
WORKDIR /var/lib/lunasentri
ENV LUNASENTRI_BIND=0.0.0.0:8080
EXPOSE 8080
VOLUME ["/var/lib/lunasentri"]
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s \
  CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["/usr/local/bin/lunasentri-hub"]
