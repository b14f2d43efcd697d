#!/usr/bin/env bash
# LunaSentri agent installer.
#
#   curl -sSL https://HUB/install.sh | sudo bash -s -- --hub https://HUB --api-key KEY --name NAME
#
# Options:
#   --hub URL          hub base URL (required to install)
#   --api-key KEY      the machine's API key (required to install)
#   --name NAME        machine name (default: this host's name)
#   --interval DUR     sampling interval, e.g. 5s (default), 1s
#   --binary PATH      install this agent binary instead of downloading it from the hub
#   --prefix DIR       install under DIR (DESTDIR-style: files go to DIR/etc/..., DIR/usr/...,
#                      but refer to their final paths); no user is created and systemd is
#                      not touched, which suits packaging and tests
#   --no-start         install but do not enable or start the service
#   --uninstall        stop the service and remove everything this script installed
#   -h, --help         show this help
#
# What it does: detects the OS and CPU architecture, downloads
# HUB/downloads/lunasentri-agent-<os>-<arch>, creates the system user `lunasentri`,
# writes /etc/lunasentri/agent.yaml (mode 0600, owned by that user), installs a
# hardened systemd unit and starts it.
set -euo pipefail

readonly SERVICE=lunasentri-agent
readonly AGENT_USER=lunasentri

say() { printf 'lunasentri: %s\n' "$*"; }
die() { printf 'lunasentri: error: %s\n' "$*" >&2; exit 1; }

usage() {
  sed -n '2,/^set -euo/p' "$0" 2>/dev/null | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//' ||
    echo "usage: install.sh --hub URL --api-key KEY [--name NAME] [--interval 5s] [--prefix DIR] [--no-start] [--uninstall]"
}

# Rejects values that could break out of a double-quoted YAML string or a unit file.
check_value() {
  local what=$1 value=$2
  case $value in
    *'"'* | *\\* | *$'\n'* | *$'\r'*) die "$what must not contain quotes, backslashes or newlines" ;;
  esac
}

detect_platform() {
  local os arch
  os=$(uname -s | tr '[:upper:]' '[:lower:]')
  arch=$(uname -m)
  case $arch in
    x86_64 | amd64) arch=x86_64 ;;
    aarch64 | arm64) arch=aarch64 ;;
    armv7l | armv7 | armhf) arch=arm ;;
    *) die "unsupported CPU architecture: $arch" ;;
  esac
  case $os in
    linux) ;;
    *) die "this installer supports Linux with systemd; on $os run lunasentri-agent by hand (see docs/agent.md)" ;;
  esac
  printf '%s-%s' "$os" "$arch"
}

download() {
  local url=$1 out=$2
  if command -v curl >/dev/null 2>&1; then
    curl -fsSL --retry 3 -o "$out" "$url"
  elif command -v wget >/dev/null 2>&1; then
    wget -q -O "$out" "$url"
  else
    die "neither curl nor wget is installed"
  fi
}

write_config() {
  local path=$1
  (
    umask 077
    cat >"$path" <<EOF
# LunaSentri agent configuration, written by install.sh.
# Reference: docs/agent.md. Check it with: lunasentri-agent --config $CONFIG --check
server:
  url: "$HUB"
  api_key: "$API_KEY"
agent:
  interval: $INTERVAL
  machine_name: "$NAME"
  buffer:
    # Unacked samples survive an agent restart here.
    spool_path: $STATE_DIR/spool.jsonl
logging:
  level: info
EOF
  )
  chmod 0600 "$path"
}

write_unit() {
  local path=$1
  cat >"$path" <<EOF
[Unit]
Description=LunaSentri monitoring agent
Documentation=https://github.com/lunasentri/lunasentri/blob/main/docs/agent.md
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
User=$AGENT_USER
Group=$AGENT_USER
ExecStart=$BIN_PATH --config $CONFIG
Restart=always
RestartSec=5
# Exit code 2 is a configuration error: restarting cannot fix it.
RestartPreventExitStatus=2
TimeoutStopSec=10
StateDirectory=$SERVICE
StateDirectoryMode=0700
UMask=0077

# Hardening: the agent only reads /proc and /sys and talks to the hub.
NoNewPrivileges=yes
CapabilityBoundingSet=
AmbientCapabilities=
ProtectSystem=strict
# read-only rather than yes: a separate /home filesystem must stay visible to be measured.
ProtectHome=read-only
PrivateTmp=yes
# DevicePolicy rather than PrivateDevices: device names must resolve for disk I/O rates.
DevicePolicy=closed
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallErrorNumber=EPERM
MemoryMax=64M

[Install]
WantedBy=multi-user.target
EOF
  chmod 0644 "$path"
}

have_systemd() {
  command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]
}

uninstall() {
  if [ -z "$PREFIX" ] && have_systemd; then
    systemctl disable --now "$SERVICE" >/dev/null 2>&1 || true
  fi
  rm -f "$DEST_UNIT" "$DEST_BIN"
  rm -rf "$DEST_CONFIG_DIR" "$DEST_STATE_DIR"
  if [ -z "$PREFIX" ]; then
    if have_systemd; then systemctl daemon-reload || true; fi
    if id "$AGENT_USER" >/dev/null 2>&1; then
      userdel "$AGENT_USER" >/dev/null 2>&1 || say "could not remove user $AGENT_USER"
    fi
  fi
  say "uninstalled"
}

main() {
  HUB="" API_KEY="" NAME="" INTERVAL=5s PREFIX="" BINARY="" NO_START=0 UNINSTALL=0 TMP_BIN=""
  while [ $# -gt 0 ]; do
    case $1 in
      --hub) HUB=${2:?--hub needs a URL}; shift 2 ;;
      --api-key) API_KEY=${2:?--api-key needs a value}; shift 2 ;;
      --name) NAME=${2:?--name needs a value}; shift 2 ;;
      --interval) INTERVAL=${2:?--interval needs a value}; shift 2 ;;
      --prefix) PREFIX=${2:?--prefix needs a directory}; shift 2 ;;
      --binary) BINARY=${2:?--binary needs a path}; shift 2 ;;
      --no-start) NO_START=1; shift ;;
      --uninstall) UNINSTALL=1; shift ;;
      -h | --help) usage; exit 0 ;;
      *) die "unknown option: $1 (see --help)" ;;
    esac
  done

  PREFIX=${PREFIX%/}
  if [ -n "$PREFIX" ]; then
    mkdir -p "$PREFIX"
    PREFIX=$(cd "$PREFIX" && pwd)
  fi
  BIN_PATH=/usr/local/bin/$SERVICE
  CONFIG_DIR=/etc/lunasentri
  CONFIG=$CONFIG_DIR/agent.yaml
  STATE_DIR=/var/lib/$SERVICE
  UNIT_PATH=/etc/systemd/system/$SERVICE.service
  DEST_BIN=$PREFIX$BIN_PATH
  DEST_CONFIG_DIR=$PREFIX$CONFIG_DIR
  DEST_CONFIG=$PREFIX$CONFIG
  DEST_STATE_DIR=$PREFIX$STATE_DIR
  DEST_UNIT=$PREFIX$UNIT_PATH

  if [ -z "$PREFIX" ] && [ "$(id -u)" -ne 0 ]; then
    die "run as root (sudo bash -s -- ...), or use --prefix DIR"
  fi

  if [ "$UNINSTALL" -eq 1 ]; then
    uninstall
    return
  fi

  [ -n "$HUB" ] || die "--hub URL is required"
  [ -n "$API_KEY" ] || die "--api-key KEY is required (create a machine in the dashboard to get one)"
  case $HUB in
    http://* | https://*) HUB=${HUB%/} ;;
    *) die "--hub must start with https:// (or http:// for a hub on this machine)" ;;
  esac
  [ -n "$NAME" ] || NAME=$(hostname 2>/dev/null || uname -n)
  case $INTERVAL in
    *[!0-9a-z]* | '') die "--interval must look like 5s, 1s or 500ms" ;;
  esac
  check_value "--hub" "$HUB"
  check_value "--api-key" "$API_KEY"
  check_value "--name" "$NAME"
  case $API_KEY in *[[:space:]]*) die "--api-key must not contain spaces" ;; esac

  local platform tmp
  platform=$(detect_platform)
  tmp=$(mktemp)
  TMP_BIN=$tmp
  trap 'rm -f "$TMP_BIN"' EXIT
  if [ -n "$BINARY" ]; then
    [ -f "$BINARY" ] || die "--binary $BINARY: no such file"
    cp "$BINARY" "$tmp"
  else
    say "downloading $HUB/downloads/$SERVICE-$platform"
    download "$HUB/downloads/$SERVICE-$platform" "$tmp" ||
      die "download failed: does the hub ship an agent for $platform?"
  fi
  chmod 0755 "$tmp"
  "$tmp" --version >/dev/null 2>&1 || die "the downloaded agent does not run on this machine ($platform)"

  if [ -z "$PREFIX" ] && have_systemd; then
    systemctl stop "$SERVICE" >/dev/null 2>&1 || true
  fi

  mkdir -p "$(dirname "$DEST_BIN")" "$DEST_CONFIG_DIR" "$(dirname "$DEST_UNIT")" "$DEST_STATE_DIR"
  install -m 0755 "$tmp" "$DEST_BIN"
  write_config "$DEST_CONFIG"
  write_unit "$DEST_UNIT"
  chmod 0750 "$DEST_CONFIG_DIR"
  chmod 0700 "$DEST_STATE_DIR"
  say "installed $DEST_BIN, $DEST_CONFIG and $DEST_UNIT"

  if [ -n "$PREFIX" ]; then
    say "prefix install: no user created, systemd not touched"
    return
  fi

  if ! id "$AGENT_USER" >/dev/null 2>&1; then
    local nologin=/usr/sbin/nologin
    [ -x "$nologin" ] || nologin=/sbin/nologin
    useradd --system --no-create-home --home-dir /nonexistent --shell "$nologin" "$AGENT_USER"
    say "created system user $AGENT_USER"
  fi
  chown "$AGENT_USER:$AGENT_USER" "$DEST_CONFIG" "$DEST_STATE_DIR"
  chown "root:$AGENT_USER" "$DEST_CONFIG_DIR"

  say "checking the hub and the key:"
  if command -v runuser >/dev/null 2>&1; then
    runuser -u "$AGENT_USER" -- "$DEST_BIN" --config "$CONFIG" --check || say "the check failed; the service will keep retrying"
  else
    "$DEST_BIN" --config "$CONFIG" --check || say "the check failed; the service will keep retrying"
  fi

  if [ "$NO_START" -eq 1 ]; then
    say "not starting (--no-start); start with: systemctl enable --now $SERVICE"
    return
  fi
  have_systemd || die "systemd is not running here; start the agent by hand: $BIN_PATH --config $CONFIG"
  systemctl daemon-reload
  systemctl enable --now "$SERVICE" >/dev/null
  if systemctl is-active --quiet "$SERVICE"; then
    say "$SERVICE is running; logs: journalctl -u $SERVICE -f"
  else
    die "$SERVICE did not start; see: journalctl -u $SERVICE"
  fi
}

main "$@"
