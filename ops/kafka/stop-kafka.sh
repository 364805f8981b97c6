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

purge() {
    if [[ "${HOTLINE_KAFKA_PURGE:-0}" == "1" ]]; then
        rm -rf "$state_dir"
    fi
}

if [[ ! -f "$pid_file" ]]; then
    log "not running (no ${pid_file})"
    purge
    exit 0
fi
pid="$(cat "$pid_file")"
# Only a pid that still runs kafka.Kafka on this state dir is ours (pids get reused).
if [[ -r "/proc/${pid}/cmdline" ]] \
    && tr '\0' ' ' <"/proc/${pid}/cmdline" | grep -qF "kafka.Kafka ${state_dir}/server.properties"; then
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
    log "pid ${pid} is not a broker of ${state_dir}: stale pid file"
fi
rm -f "$pid_file"
purge
