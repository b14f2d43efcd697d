#!/bin/sh
# Gives the agent of docker-compose.yml its API key on the first start: logs in to a
# hub as the admin, creates the machine and writes its key to a file (mode 0600, owned
# by the agent's user) on a volume the agent reads with --api-key-file. When the file
# already exists it does nothing, so restarts keep the machine and its history.
#
# Environment: LUNASENTRI_HUB (hub base URL), LUNASENTRI_ADMIN_EMAIL,
# LUNASENTRI_ADMIN_PASSWORD, LUNASENTRI_MACHINE_NAME (default compose-agent),
# LUNASENTRI_KEY_FILE (default /keys/agent.key), LUNASENTRI_KEY_OWNER (default 10001:10001).
set -eu

hub=${LUNASENTRI_HUB:?set LUNASENTRI_HUB to the hub base URL}
email=${LUNASENTRI_ADMIN_EMAIL:?set LUNASENTRI_ADMIN_EMAIL}
password=${LUNASENTRI_ADMIN_PASSWORD:?set LUNASENTRI_ADMIN_PASSWORD}
name=${LUNASENTRI_MACHINE_NAME:-compose-agent}
key_file=${LUNASENTRI_KEY_FILE:-/keys/agent.key}
owner=${LUNASENTRI_KEY_OWNER:-10001:10001}

say() { printf 'enroll: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }
# A JSON string body for a shell value (backslashes and quotes escaped).
json() { printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g'; }

if [ -s "$key_file" ]; then
  say "$key_file exists; the agent is already enrolled"
  exit 0
fi

tries=0
until curl -fsS -o /dev/null "$hub/readyz" 2>/dev/null; do
  tries=$((tries + 1))
  [ "$tries" -lt 120 ] || die "$hub/readyz did not answer 200 within 120 s; see the hub's logs"
  sleep 1
done

headers=$(mktemp)
trap 'rm -f "$headers"' EXIT
status=$(curl -sS -o /dev/null -D "$headers" -w '%{http_code}' \
  -H 'Content-Type: application/json' \
  --data "{\"email\":\"$(json "$email")\",\"password\":\"$(json "$password")\"}" \
  "$hub/api/auth/login")
case $status in
  2??) ;;
  *) die "logging in as $email failed (HTTP $status). LUNASENTRI_ADMIN_EMAIL and \
LUNASENTRI_ADMIN_PASSWORD create the admin only when the database is empty; with an \
existing database, use that admin's current credentials" ;;
esac
# The cookie is passed by hand: a hub with an https public URL marks it Secure, and
# this request stays inside the compose network, over plain HTTP.
cookie=$(sed -n 's/^[Ss]et-[Cc]ookie: *\(lunasentri_session=[^;]*\).*/\1/p' "$headers" | head -n 1)
[ -n "$cookie" ] || die "the hub answered the login without a session cookie"

body=$(curl -fsS -H "Cookie: $cookie" -H 'Content-Type: application/json' \
  --data "{\"name\":\"$(json "$name")\"}" "$hub/api/machines") \
  || die "creating the machine \"$name\" failed"
key=$(printf '%s' "$body" | sed -n 's/.*"api_key":"\([^"]*\)".*/\1/p')
[ -n "$key" ] || die "the hub's answer carried no api_key"
curl -fsS -o /dev/null -X POST -H "Cookie: $cookie" "$hub/api/auth/logout" || true

umask 077
printf '%s\n' "$key" >"$key_file.tmp"
chown "$owner" "$key_file.tmp"
mv "$key_file.tmp" "$key_file"
say "created the machine \"$name\"; its API key is in $key_file"
