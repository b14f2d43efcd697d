#!/usr/bin/env bash
# Checks the deployment files without building or starting anything: docker-compose.yml
# with `docker compose config` (which needs the CLI, not a running engine), the
# enrollment script with shellcheck, and the Dockerfiles with hadolint where it is
# installed. A missing tool skips its check with one line saying so.
set -euo pipefail
cd "$(dirname "$0")/.." || exit 2

# The example settings stand in for the operator's .env, whose secrets are required.
if docker compose version >/dev/null 2>&1; then
  docker compose --env-file deploy/compose.env.example config -q
  echo "compose-check: docker-compose.yml is valid"
else
  echo "compose-check: docker compose is not available here; docker-compose.yml was NOT checked (skipped)"
fi

if command -v shellcheck >/dev/null 2>&1; then
  shellcheck -s sh deploy/enroll.sh
  echo "compose-check: deploy/enroll.sh passes shellcheck"
fi

if command -v hadolint >/dev/null 2>&1; then
  hadolint deploy/hub.Dockerfile deploy/agent.Dockerfile
  echo "compose-check: the Dockerfiles pass hadolint"
fi
