#!/usr/bin/env bash
# Installs what the test suites drive and a fresh Debian machine lacks: Chromium for
# the browser tests, shellcheck for the agent installer and nats-server for the
# cluster tests. Makes sure the PostgreSQL the storage tests use and the NATS server the
# cluster tests use are running where this machine provides them.
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
command -v nats-server >/dev/null 2>&1 || missing+=(nats-server)
if [ ${#missing[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    echo "test-deps: installing ${missing[*]} with apt-get"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "test-deps: please install: ${missing[*]}" >&2
    exit 1
  fi
fi

pg_up() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }
if ! pg_up && command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "test-deps: starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(find /etc/postgresql -mindepth 1 -maxdepth 1 -printf "%f\n" | head -n1)" main start || true
fi
if pg_up; then
  echo "test-deps: PostgreSQL on 127.0.0.1:5432 is up"
else
  echo "!!! test-deps: PostgreSQL on 127.0.0.1:5432 is NOT reachable: PostgreSQL tests will be skipped (CI fails them) !!!"
fi

nats_up() { (exec 3<>/dev/tcp/127.0.0.1/4222) 2>/dev/null; }
if ! nats_up && command -v nats-server >/dev/null 2>&1; then
  echo "test-deps: starting NATS"
  nohup nats-server -a 127.0.0.1 -p 4222 >/dev/null 2>&1 &
  for _ in $(seq 50); do nats_up && break; sleep 0.1; done
fi
if nats_up; then
  echo "test-deps: NATS on 127.0.0.1:4222 is up"
else
  echo "!!! test-deps: NATS on 127.0.0.1:4222 is NOT reachable: cluster tests will be skipped (CI fails them) !!!"
fi
