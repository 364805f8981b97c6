#!/usr/bin/env bash
# Install (when missing) and start the services the integration tests need, on 127.0.0.1:
#   PostgreSQL (Debian's, 15 on Debian 12)  :5432  role/database/password "hotline"
#   redis-server                            :6379  daemonized, no persistence
#   Apache Kafka 4.x (ops/kafka)            :9092  KRaft single node
# then print the environment to use, as export lines on stdout (all logging goes to stderr):
#
#   eval "$(ops/ci/start-services.sh)"
#
# Idempotent: services that already answer are left alone. Needs root (or sudo) for apt and
# for PostgreSQL. Settings: HOTLINE_SKIP_KAFKA=1 skips Kafka; HOTLINE_PG_PORT,
# HOTLINE_REDIS_PORT, HOTLINE_KAFKA_PORT move the ports.
# The PostgreSQL cluster is tuned for throw-away test data (fsync off): never point it at
# data you want to keep.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
pg_port="${HOTLINE_PG_PORT:-5432}"
redis_port="${HOTLINE_REDIS_PORT:-6379}"
kafka_port="${HOTLINE_KAFKA_PORT:-9092}"
state="${TMPDIR:-/tmp}"

log() { printf '[start-services] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

if [[ "$(id -u)" -eq 0 ]]; then
    as_root() { "$@"; }
elif command -v sudo >/dev/null; then
    as_root() { sudo "$@"; }
else
    die "needs root or sudo (apt-get, PostgreSQL)"
fi
as_postgres() { as_root runuser -u postgres -- "$@"; }

# --- packages --------------------------------------------------------------------------
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
missing=()
installed postgresql || missing+=(postgresql)
installed redis-server || missing+=(redis-server)
if [[ "${HOTLINE_SKIP_KAFKA:-0}" != "1" ]]; then
    command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
    command -v mvn >/dev/null || missing+=(maven)
fi
python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
# promtool and a real Prometheus for the rules' and dashboards' tests
command -v promtool >/dev/null && command -v prometheus >/dev/null || missing+=(prometheus)
# headless Chromium opens the monthly report in its test
command -v chromium >/dev/null || missing+=(chromium)
if ((${#missing[@]})); then
    log "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt_opts=(-o DPkg::Lock::Timeout=600 -q)
    as_root apt-get "${apt_opts[@]}" update >&2
    as_root apt-get "${apt_opts[@]}" install -y --no-install-recommends "${missing[@]}" >&2
fi

# --- PostgreSQL ----------------------------------------------------------------------------
t0=$SECONDS
pg_version="$(ls /usr/lib/postgresql | sort -n | tail -n1)"
[[ -n "$pg_version" ]] || die "no PostgreSQL server under /usr/lib/postgresql"
if ! pg_lsclusters -h 2>/dev/null | awk -v v="$pg_version" '$1 == v && $2 == "main"' | grep -q .; then
    log "creating PostgreSQL ${pg_version} cluster 'main'"
    as_root pg_createcluster "$pg_version" main >&2
fi
pg_conf="/etc/postgresql/${pg_version}/main/conf.d/hotline-ci.conf"
want_conf="# Written by ops/ci/start-services.sh: throw-away test database, loopback only.
listen_addresses = '127.0.0.1'
port = ${pg_port}
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
"
conf_changed=0
if [[ "$(as_root cat "$pg_conf" 2>/dev/null || true)" != "${want_conf%$'\n'}" ]]; then
    printf '%s' "$want_conf" | as_root tee "$pg_conf" >/dev/null
    as_root chown postgres:postgres "$pg_conf"
    conf_changed=1
fi
if as_root pg_ctlcluster "$pg_version" main status >/dev/null 2>&1; then
    if ((conf_changed)); then
        log "restarting PostgreSQL ${pg_version} (configuration changed)"
        as_root pg_ctlcluster "$pg_version" main restart >&2
    fi
else
    log "starting PostgreSQL ${pg_version}"
    as_root pg_ctlcluster "$pg_version" main start >&2
fi
for _ in $(seq 1 60); do
    pg_isready -q -h 127.0.0.1 -p "$pg_port" && break
    sleep 0.5
done
pg_isready -q -h 127.0.0.1 -p "$pg_port" || die "PostgreSQL does not answer on 127.0.0.1:${pg_port}"
as_postgres psql -q -v ON_ERROR_STOP=1 -p "$pg_port" -d postgres >&2 <<'SQL'
SELECT 'CREATE ROLE hotline LOGIN CREATEDB'
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'hotline') \gexec
ALTER ROLE hotline WITH LOGIN CREATEDB PASSWORD 'hotline';
SELECT 'CREATE DATABASE hotline OWNER hotline ENCODING ''UTF8'' TEMPLATE template0'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'hotline') \gexec
SQL
PGPASSWORD=hotline psql -q -h 127.0.0.1 -p "$pg_port" -U hotline -d hotline -tAc 'SELECT 1' >/dev/null \
    || die "cannot log in to PostgreSQL as hotline/hotline on 127.0.0.1:${pg_port}"
log "PostgreSQL ${pg_version} ready on 127.0.0.1:${pg_port} ($((SECONDS - t0)) s)"

# --- Redis -------------------------------------------------------------------------------
t0=$SECONDS
redis_ping() { [[ "$(redis-cli -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null)" == PONG ]]; }
if ! redis_ping; then
    log "starting redis-server on 127.0.0.1:${redis_port}"
    redis-server --bind 127.0.0.1 --port "$redis_port" --daemonize yes \
        --save '' --appendonly no --dir "$state" \
        --pidfile "${state}/hotline-redis-${redis_port}.pid" \
        --logfile "${state}/hotline-redis-${redis_port}.log" >&2
    for _ in $(seq 1 50); do redis_ping && break; sleep 0.2; done
    redis_ping || { tail -n 20 "${state}/hotline-redis-${redis_port}.log" >&2 || true; die "redis-server does not answer"; }
fi
log "Redis ready on 127.0.0.1:${redis_port} ($((SECONDS - t0)) s)"

# --- Kafka -------------------------------------------------------------------------------
if [[ "${HOTLINE_SKIP_KAFKA:-0}" != "1" ]]; then
    "${repo}/ops/kafka/start-kafka.sh" "$kafka_port" >&2
fi

# --- environment -----------------------------------------------------------------------
if [[ "${HOTLINE_SKIP_KAFKA:-0}" != "1" ]]; then
    echo "export HOTLINE_KAFKA_BOOTSTRAP=127.0.0.1:${kafka_port}"
    echo "export HOTLINE_KAFKA_BROKER_PROFILE=apache"
fi
echo "export HOTLINE_REDIS_URL=redis://127.0.0.1:${redis_port}/0"
echo "export HOTLINE_DATABASE_URL=postgresql+psycopg://hotline:hotline@127.0.0.1:${pg_port}/hotline"
