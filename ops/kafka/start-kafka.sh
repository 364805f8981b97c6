#!/usr/bin/env bash
# Start a single-node Apache Kafka 4.x broker (KRaft, combined broker + controller) on
# 127.0.0.1 for CI and local integration tests, and wait until it answers.
#
#   ops/kafka/start-kafka.sh [PORT]          # default 9092; controller on PORT+1
#   ops/kafka/stop-kafka.sh  [PORT]
#
# The broker jars come from Maven Central through ops/kafka/pom.xml and are cached in
# HOTLINE_KAFKA_HOME (and in ~/.m2), so only the first run downloads anything.
# Re-running while the broker is up is a no-op. Each start begins with empty storage unless
# HOTLINE_KAFKA_KEEP_DATA=1.
#
# Environment (all optional):
#   HOTLINE_KAFKA_VERSION          Kafka version                    (4.4.0)
#   HOTLINE_KAFKA_HOME             jar cache      (~/.cache/hotline-router/kafka-VERSION)
#   HOTLINE_KAFKA_STATE_DIR        config, data, log, pid  (${TMPDIR:-/tmp}/hotline-kafka-PORT)
#   HOTLINE_KAFKA_CONTROLLER_PORT  controller listener port         (PORT+1)
#   HOTLINE_KAFKA_NUM_PARTITIONS   default partitions of new topics (4)
#   HOTLINE_KAFKA_START_TIMEOUT    seconds to wait for the broker   (120)
#   HOTLINE_KAFKA_KEEP_DATA        1 = keep the previous log dirs   (0)
#   KAFKA_HEAP_OPTS                JVM heap           (-Xms256m -Xmx512m)
#   KAFKA_JVM_OPTS                 extra JVM options
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
port="${1:-${HOTLINE_KAFKA_PORT:-9092}}"
controller_port="${HOTLINE_KAFKA_CONTROLLER_PORT:-$((port + 1))}"
version="${HOTLINE_KAFKA_VERSION:-4.4.0}"
kafka_home="${HOTLINE_KAFKA_HOME:-${HOME:-/root}/.cache/hotline-router/kafka-${version}}"
state_dir="${HOTLINE_KAFKA_STATE_DIR:-${TMPDIR:-/tmp}/hotline-kafka-${port}}"
partitions="${HOTLINE_KAFKA_NUM_PARTITIONS:-4}"
timeout="${HOTLINE_KAFKA_START_TIMEOUT:-120}"
heap="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
libs="${kafka_home}/libs"
pid_file="${state_dir}/kafka.pid"
log_file="${state_dir}/kafka.log"
bootstrap="127.0.0.1:${port}"

log() { printf '[start-kafka] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The pid file names our broker only while that pid runs kafka.Kafka on this state dir
# (a pid left from an earlier session may have been reused by an unrelated process).
our_broker() {
    local pid
    pid="$(cat "$pid_file" 2>/dev/null)" || return 1
    [[ -n "$pid" && -r "/proc/${pid}/cmdline" ]] || return 1
    tr '\0' ' ' <"/proc/${pid}/cmdline" | grep -qF "kafka.Kafka ${state_dir}/server.properties"
}

# --- already running? ---------------------------------------------------------------
if our_broker; then
    if python3 "${here}/kafka_ready.py" "$bootstrap" 30; then
        log "already running (pid $(cat "$pid_file")) on ${bootstrap}"
        exit 0
    fi
    die "pid $(cat "$pid_file") is alive but ${bootstrap} does not answer; see ${log_file} or run stop-kafka.sh ${port}"
fi
rm -f "$pid_file"
if port_open "$port"; then
    if python3 "${here}/kafka_ready.py" "$bootstrap" 5 2>/dev/null; then
        log "a Kafka broker not started from ${state_dir} already answers on ${bootstrap}; using it"
        exit 0
    fi
    die "port ${port} is taken by something that is not a Kafka broker"
fi
port_open "$controller_port" && die "controller port ${controller_port} is taken (set HOTLINE_KAFKA_CONTROLLER_PORT)"

# --- Java ----------------------------------------------------------------------------
command -v java >/dev/null || die "java not found: Kafka 4 needs Java 17+ (apt-get install -y openjdk-17-jre-headless)"
java_major="$(java -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2}')"
[[ "${java_major%%.*}" -ge 17 ]] 2>/dev/null || die "Kafka 4 needs Java 17+, found ${java_major:-unknown}"

# --- jars (cached) -------------------------------------------------------------------
if [[ ! -f "${libs}/.complete" ]]; then
    command -v mvn >/dev/null || die "mvn not found: needed once to fetch the Kafka jars (apt-get install -y maven)"
    mkdir -p "$kafka_home"
    (
        flock -w 600 9 || die "timed out waiting for another fetch into ${kafka_home}"
        if [[ ! -f "${libs}/.complete" ]]; then
            log "fetching org.apache.kafka:kafka_2.13:${version} into ${libs}"
            rm -rf "${libs}.tmp"
            t0=$SECONDS
            mvn -q -B -Dstyle.color=never -f "${here}/pom.xml" dependency:copy-dependencies \
                -Dkafka.version="$version" -Dkafka.libs.dir="${libs}.tmp" >&2 \
                || die "maven could not fetch Kafka ${version}"
            ls "${libs}.tmp"/kafka_2.13-"${version}".jar >/dev/null || die "kafka_2.13-${version}.jar missing after fetch"
            rm -rf "$libs" && mv "${libs}.tmp" "$libs" && touch "${libs}/.complete"
            log "fetched $(ls "$libs" | wc -l) jars in $((SECONDS - t0)) s"
        fi
    ) 9>"${kafka_home}/.fetch.lock"
fi

# --- configuration -------------------------------------------------------------------
mkdir -p "$state_dir"
data_dir="${state_dir}/data"
if [[ "${HOTLINE_KAFKA_KEEP_DATA:-0}" != "1" ]]; then
    rm -rf "$data_dir"
fi
cat >"${state_dir}/server.properties" <<PROPS
# Written by ops/kafka/start-kafka.sh: single node, KRaft, test use only.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:${controller_port}
listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controller_port}
advertised.listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controller_port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=${data_dir}
num.partitions=${partitions}
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=true
delete.topic.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
# Small machine: few threads, small segments, no long retention.
num.network.threads=2
num.io.threads=4
background.threads=4
num.recovery.threads.per.data.dir=1
log.retention.hours=24
log.segment.bytes=67108864
PROPS
cat >"${state_dir}/log4j2.properties" <<'LOG4J'
status = warn
appender.file.type = Console
appender.file.name = STDOUT
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.state.name = state.change.logger
logger.state.level = WARN
logger.config.name = org.apache.kafka.common.config.AbstractConfig
logger.config.level = WARN
LOG4J

jvm=(java $heap -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError
     -Djava.awt.headless=true "-Dlog4j2.configurationFile=${state_dir}/log4j2.properties"
     ${KAFKA_JVM_OPTS:-} -cp "${libs}/*")

if [[ ! -f "${data_dir}/meta.properties" ]]; then
    cluster_id="$("${jvm[@]}" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n1)"
    "${jvm[@]}" kafka.tools.StorageTool format --standalone --ignore-formatted \
        -t "$cluster_id" -c "${state_dir}/server.properties" >"${state_dir}/format.log" 2>&1 \
        || { cat "${state_dir}/format.log" >&2; die "storage format failed"; }
fi

# --- start and wait ------------------------------------------------------------------
t0=$SECONDS
setsid nohup "${jvm[@]}" kafka.Kafka "${state_dir}/server.properties" >"$log_file" 2>&1 </dev/null &
echo $! >"$pid_file"
log "started pid $(cat "$pid_file"), log ${log_file}; waiting up to ${timeout} s for ${bootstrap}"

deadline=$((SECONDS + timeout))
until python3 "${here}/kafka_ready.py" "$bootstrap" 2 2>/dev/null; do
    if ! our_broker; then
        log "broker exited during startup; last lines of ${log_file}:"
        tail -n 40 "$log_file" >&2
        rm -f "$pid_file"
        exit 1
    fi
    if ((SECONDS >= deadline)); then
        log "broker did not answer within ${timeout} s; last lines of ${log_file}:"
        tail -n 40 "$log_file" >&2
        exit 1
    fi
    sleep 0.5
done
log "Kafka ${version} ready on ${bootstrap} after $((SECONDS - t0)) s"
