#!/usr/bin/env bash
# The local stack: moto server behind our gateway, both on loopback, both in the background.
#   local/stack.sh up    starts them, provisions, waits for $STACK_DIR/stack.json
#   local/stack.sh down  stops exactly what `up` started (by the pids it recorded)
# Environment: STACK_DIR (.local), GATEWAY_PORT (4510), MOTO_PORT_BACKEND (4511), APPROVAL_PORT (4512),
#              CONFIG (a rules config JSON file; default local/config.json), AWS_REGION (us-east-1).
set -euo pipefail
cd "$(dirname "$0")/.."
STACK_DIR=${STACK_DIR:-.local}
GATEWAY_PORT=${GATEWAY_PORT:-4510}
MOTO_PORT_BACKEND=${MOTO_PORT_BACKEND:-4511}
APPROVAL_PORT=${APPROVAL_PORT:-4512}
CONFIG=${CONFIG:-local/config.json}
REGION=${AWS_REGION:-us-east-1}
VENV=${VENV:-.venv}
GATEWAY_BIN=${GATEWAY_BIN:-target/debug/ar-local}

stop_pid() { # pidfile
  local f=$1
  [ -f "$f" ] || return 0
  local pid; pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

wait_port() { # port what
  for _ in $(seq 150); do
    if (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "local stack: $2 did not open port $1; see $STACK_DIR/*.log" >&2
  return 1
}

up() {
  down quiet
  mkdir -p "$STACK_DIR"
  rm -f "$STACK_DIR/stack.json"
  for p in "$GATEWAY_PORT" "$MOTO_PORT_BACKEND" "$APPROVAL_PORT"; do
    if (exec 3<>/dev/tcp/127.0.0.1/"$p") 2>/dev/null; then
      echo "local stack: port $p is already in use (set GATEWAY_PORT / MOTO_PORT_BACKEND / APPROVAL_PORT)" >&2; exit 1
    fi
  done
  # MOTO_PORT is where moto's Step Functions engine sends Lambda calls: the gateway.
  MOTO_PORT=$GATEWAY_PORT setsid nohup "$VENV/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT_BACKEND" \
    >"$STACK_DIR/moto.log" 2>&1 < /dev/null &
  echo $! > "$STACK_DIR/moto.pid"
  wait_port "$MOTO_PORT_BACKEND" moto
  # The approval links' signing key: configuration, generated per stack, readable by its owner only.
  if [ ! -s "$STACK_DIR/signing.key" ]; then
    (umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$STACK_DIR/signing.key")
  fi
  rm -rf "$STACK_DIR/outbox"
  config_arg=()
  [ -n "$CONFIG" ] && config_arg=(--config "$CONFIG")
  AWS_REGION=$REGION setsid nohup "$GATEWAY_BIN" --port "$GATEWAY_PORT" --moto "http://127.0.0.1:$MOTO_PORT_BACKEND" \
    --stack-dir "$STACK_DIR" --region "$REGION" "${config_arg[@]}" \
    --approval-port "$APPROVAL_PORT" --signing-key-file "$STACK_DIR/signing.key" \
    >"$STACK_DIR/gateway.log" 2>&1 < /dev/null &
  echo $! > "$STACK_DIR/gateway.pid"
  for _ in $(seq 300); do
    [ -f "$STACK_DIR/stack.json" ] && break
    if ! kill -0 "$(cat "$STACK_DIR/gateway.pid")" 2>/dev/null; then
      echo "local stack: the gateway exited:" >&2; tail -5 "$STACK_DIR/gateway.log" >&2; down quiet; exit 1
    fi
    sleep 0.1
  done
  [ -f "$STACK_DIR/stack.json" ] || { echo "local stack: no stack.json after 30 s" >&2; down quiet; exit 1; }
  echo "local stack up: endpoint http://127.0.0.1:$GATEWAY_PORT, approvals http://127.0.0.1:$APPROVAL_PORT, outbox $STACK_DIR/outbox, config ${CONFIG:-(catalog defaults)}, details in $STACK_DIR/stack.json"
}

down() {
  stop_pid "$STACK_DIR/gateway.pid"
  stop_pid "$STACK_DIR/moto.pid"
  rm -f "$STACK_DIR/stack.json"
  [ "${1:-}" = quiet ] || echo "local stack down ($STACK_DIR)"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
