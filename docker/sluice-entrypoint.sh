#!/bin/sh
# sluice-entrypoint: the container image's entry point and health check.
#
# Turns the environment of a compose file written for the apache/kafka image
# into a Sluice start, then execs sluice (PID 1, so SIGTERM stops it cleanly):
#   KAFKA_<KEY> variables are read by sluice itself (KAFKA_LOG_DIRS sets
#     log.dirs: `_` is `.`, `__` is `_`, `___` is `-`), after the file
#     /mnt/shared/config/server.properties when one is mounted there;
#   KAFKA_LISTENERS, when unset, is KAFKA_ADVERTISED_LISTENERS with every
#     host made 0.0.0.0 (as the apache/kafka image does);
#   with neither set, two listeners: PLAINTEXT on 19092 for clients inside
#     the container network (advertised as this container's host name) and
#     PLAINTEXT_HOST on 9092 for clients on the host (advertised localhost);
#   KRaft variables: Sluice has no KRaft controller. Listeners named in
#     KAFKA_CONTROLLER_LISTENER_NAMES are not opened; KAFKA_PROCESS_ROLES,
#     KAFKA_CONTROLLER_QUORUM_VOTERS, KAFKA_CONTROLLER_LISTENER_NAMES and
#     CLUSTER_ID are accepted and dropped; a controller-only node
#     (KAFKA_PROCESS_ROLES=controller) starts no broker and only waits;
#   SLUICE_DEV=1: dev mode (auto-created one-partition topics, no rebalance
#     delay, acks=all without fsync wait), each overridable by its variable.
#
# Usage: sluice-entrypoint [--override KEY=VALUE ...]   start the broker
#        sluice-entrypoint healthcheck                 one ApiVersions probe
#        sluice-entrypoint COMMAND [ARG...]            run COMMAND instead
set -eu

probe_file="${SLUICE_PROBE_FILE:-/tmp/sluice-probe-addr}"
data_dir=/var/lib/sluice/data
config_file="${SLUICE_CONFIG_FILE:-/mnt/shared/config/server.properties}"

log() {
    echo "sluice-entrypoint: $*" >&2
}

# healthcheck: probe the address the start recorded.
if [ "${1:-}" = healthcheck ]; then
    addr=$(cat "$probe_file" 2>/dev/null || true)
    case "$addr" in
    "") echo "no broker address recorded in $probe_file" >&2; exit 1 ;;
    none) exit 0 ;; # controller-only node: nothing to probe
    esac
    exec sluice --probe "$addr"
fi

# Another command (a shell, `sluice --probe`, ...): run it as it is.
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
    exec "$@"
fi

truthy() {
    case "${1:-}" in
    1 | true | TRUE | True | yes | on) return 0 ;;
    *) return 1 ;;
    esac
}

# Set variable $1 (KAFKA_<KEY>) to $2 unless the user set it, in the
# environment or in the mounted config file.
default() {
    eval "_cur=\${$1-}"
    _key=$(printf '%s' "${1#KAFKA_}" | tr 'A-Z_' 'a-z.' | sed 's/\./\\./g')
    if [ -z "$_cur" ] && [ -z "$(file_value "$_key")" ]; then
        export "$1=$2"
    fi
}

# $1 with listeners named in $2 (comma-separated names) removed.
drop_listeners() {
    _out=""
    _old_ifs=$IFS
    IFS=,
    for _l in $1; do
        _name=${_l%%://*}
        _skip=0
        for _c in $2; do
            [ "$_name" = "$_c" ] && _skip=1
        done
        [ $_skip = 1 ] && continue
        _out="${_out:+$_out,}$_l"
    done
    IFS=$_old_ifs
    printf '%s' "$_out"
}

# The value of key $1 in the mounted config file (empty when not there).
file_value() {
    [ -f "$config_file" ] || return 0
    sed -n "s/^[[:space:]]*$1[[:space:]]*[=:][[:space:]]*//p" "$config_file" |
        tail -n 1
}

# --- KRaft variables -------------------------------------------------------
roles="${KAFKA_PROCESS_ROLES:-broker}"
controllers="${KAFKA_CONTROLLER_LISTENER_NAMES:-}"
case ",$roles," in
*,broker,*) ;;
*)
    log "KAFKA_PROCESS_ROLES=$roles has no broker role; Sluice has no" \
        "KRaft controller, so this node starts no broker and waits"
    echo none >"$probe_file"
    sleeper=
    trap 'if [ -n "$sleeper" ]; then kill "$sleeper" 2>/dev/null; fi; exit 0' TERM INT
    while :; do
        sleep 3600 &
        sleeper=$!
        wait "$sleeper" || true
    done
    ;;
esac
if [ -n "${CLUSTER_ID:-}" ] || [ -n "${KAFKA_CONTROLLER_QUORUM_VOTERS:-}" ]; then
    log "KRaft settings ignored (Sluice keeps its metadata in the data" \
        "directory): CLUSTER_ID, KAFKA_CONTROLLER_QUORUM_VOTERS," \
        "KAFKA_CONTROLLER_LISTENER_NAMES, KAFKA_PROCESS_ROLES"
fi
unset KAFKA_PROCESS_ROLES KAFKA_CONTROLLER_QUORUM_VOTERS \
    KAFKA_CONTROLLER_LISTENER_NAMES CLUSTER_ID

# --- Listeners -------------------------------------------------------------
file_listeners=$(file_value 'listeners')
if [ -z "${KAFKA_LISTENERS:-}" ] && [ -n "$file_listeners" ]; then
    KAFKA_LISTENERS=$file_listeners # for the controller filter and probe
    export KAFKA_LISTENERS
elif [ -z "${KAFKA_LISTENERS:-}" ] && [ -z "${KAFKA_ADVERTISED_LISTENERS:-}" ]; then
    host=$(hostname 2>/dev/null || echo localhost)
    export KAFKA_LISTENERS="PLAINTEXT://0.0.0.0:19092,PLAINTEXT_HOST://0.0.0.0:9092"
    export KAFKA_ADVERTISED_LISTENERS="PLAINTEXT://$host:19092,PLAINTEXT_HOST://localhost:9092"
elif [ -z "${KAFKA_LISTENERS:-}" ]; then
    KAFKA_LISTENERS=$(printf '%s' "$KAFKA_ADVERTISED_LISTENERS" |
        sed -e 's|://\[[^]]*\]:|://0.0.0.0:|g' -e 's|://[^:/,]*:|://0.0.0.0:|g')
    export KAFKA_LISTENERS
fi
if [ -n "$controllers" ]; then
    KAFKA_LISTENERS=$(drop_listeners "$KAFKA_LISTENERS" "$controllers")
    if [ -n "${KAFKA_ADVERTISED_LISTENERS:-}" ]; then
        KAFKA_ADVERTISED_LISTENERS=$(drop_listeners \
            "$KAFKA_ADVERTISED_LISTENERS" "$controllers")
    fi
fi
default KAFKA_LISTENER_SECURITY_PROTOCOL_MAP \
    "PLAINTEXT:PLAINTEXT,PLAINTEXT_HOST:PLAINTEXT,CONTROLLER:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL"
if [ -z "$KAFKA_LISTENERS" ]; then
    log "no listener left to open (KAFKA_LISTENERS has only controller" \
        "listeners)"
    exit 2
fi

# --- Storage and dev mode --------------------------------------------------
if [ -z "$(file_value 'log\.dir')" ]; then
    default KAFKA_LOG_DIRS "$data_dir"
fi
# Prometheus metrics on 9644 (docs/metrics.md), unless set otherwise.
default KAFKA_METRICS_LISTENER "http://0.0.0.0:9644"
if truthy "${SLUICE_DEV:-}"; then
    log "dev mode: auto-created one-partition topics, no initial rebalance" \
        "delay, acks=all without fsync wait"
    default KAFKA_AUTO_CREATE_TOPICS_ENABLE true
    default KAFKA_NUM_PARTITIONS 1
    default KAFKA_DEFAULT_REPLICATION_FACTOR 1
    default KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS 0
    default KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS 1
    default KAFKA_TRANSACTION_STATE_LOG_NUM_PARTITIONS 1
    default KAFKA_SLUICE_ACKS_ALL_FSYNC false
fi

# --- Health check address: the first PLAINTEXT listener (the probe speaks
# no TLS or SASL), else the first one, reached from inside the container ---
map=${KAFKA_LISTENER_SECURITY_PROTOCOL_MAP:-$(file_value \
    'listener\.security\.protocol\.map')}
first=${KAFKA_LISTENERS%%,*}
old_ifs=$IFS
IFS=,
for l in $KAFKA_LISTENERS; do
    case ",$map," in
    *",${l%%://*}:PLAINTEXT,"*)
        first=$l
        break
        ;;
    esac
done
IFS=$old_ifs
hostport=${first#*://}
port=${hostport##*:}
host=${hostport%:*}
case "$host" in
"" | 0.0.0.0) host=127.0.0.1 ;;
"[::]") host="[::1]" ;;
esac
echo "$host:$port" >"$probe_file"

if [ -f "$config_file" ]; then
    set -- --config "$config_file" "$@"
fi
log "listeners=$KAFKA_LISTENERS" \
    "advertised.listeners=${KAFKA_ADVERTISED_LISTENERS:-}" \
    "log.dirs=${KAFKA_LOG_DIRS:-$(file_value 'log\.dirs')}"
exec sluice "$@"
