# syntax=docker/dockerfile:1
# The agent image: the size-optimised agent on distroless (glibc and CA certificates,
# no shell), as an unprivileged user.
#
#   docker build -f deploy/agent.Dockerfile -t lunasentri-agent .
#   docker run --pid host -e LUNASENTRI_AGENT_SERVER_URL=https://hub.example.com \
#     -e LUNASENTRI_AGENT_API_KEY=lsk_… lunasentri-agent
#
# In a container the agent sees the host's CPU, memory, load and (with --pid host)
# processes; filesystems and network interfaces are those of its container unless it
# shares the host's. On a server, install.sh is the usual way (docs/agent.md).

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

FROM rust:${RUST_VERSION}-slim-${DEBIAN_RELEASE} AS builder
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --locked --profile release-agent -p lunasentri-agent \
 && mkdir -p /out/state \
 && cp target/release-agent/lunasentri-agent /out/

# Debian 12, matching the builder's glibc.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=builder /out/lunasentri-agent /usr/local/bin/lunasentri-agent
# Where a spool file can live (LUNASENTRI_AGENT_SPOOL_PATH); a volume mounted here
# starts out owned by the agent's user.
COPY --from=builder --chown=10001:10001 /out/state /var/lib/lunasentri-agent
USER 10001:10001
ENTRYPOINT ["/usr/local/bin/lunasentri-agent"]
