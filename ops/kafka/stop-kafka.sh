#!/usr/bin/env bash
# Stop the broker started by start-kafka.sh [PORT]: SIGTERM, then SIGKILL after a timeout.
#   HOTLINE_KAFKA_STOP_TIMEOUT  seconds to wait after SIGTERM (30)
#   HOTLINE_KAFKA_PURGE=1       also delete the state dir (config, data, log)
set -euo pipefail

port="${1:-${HOTLINE_KAFKA_PORT:-9092}}"
state_dir="${HOTLINE_KAFKA_STATE_DIR:-${TMPDIR:-/tmp}/hotline-kafka-${port}}"
pid_file="${state_dir}/kafka.pid"
timeout="${HOTLINE_KAFKA_STOP_TIMEOUT:-30}"

log() { printf '[stop-kafka] %s\n' "$*" >&2; }

if [[ ! -f "$pid_file" ]]; then
    log "not running (no ${pid_file})"
    exit 0
fi
pid="$(cat "$pid_file")"
if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < timeout * 5; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "pid ${pid} still alive after ${timeout} s; SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    log "stopped pid ${pid}"
else
    log "pid ${pid} was not running"
fi
rm -f "$pid_file"
if [[ "${HOTLINE_KAFKA_PURGE:-0}" == "1" ]]; then
    rm -rf "$state_dir"
fi
