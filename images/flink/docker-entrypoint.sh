#!/usr/bin/env bash
# The apache/flink image's entrypoint contract, re-implemented for the offline image:
#   jobmanager | taskmanager | standalone-job | history-server | anything else is exec'd.
# FLINK_PROPERTIES lines ("key: value") and TASK_MANAGER_NUMBER_OF_TASK_SLOTS go into conf/config.yaml.
set -euo pipefail

COMMAND="${1:-help}"
CONF_DIR="$FLINK_HOME/conf"

drop_privs() {
  if [ "$(id -u)" = 0 ]; then
    exec setpriv --reuid=9999 --regid=9999 --init-groups "$@"
  fi
  exec "$@"
}

set_config_options() {
  [ $# -gt 0 ] || return 0
  "$FLINK_HOME/bin/config-parser-utils.sh" "$CONF_DIR" "$FLINK_HOME/bin" "$FLINK_HOME/lib" "$@" >/dev/null
  # config-parser-utils.sh exits 0 on bad YAML and writes the error into the file: fail loudly instead.
  if grep -q '\[ERROR\]' "$CONF_DIR/config.yaml"; then
    echo "invalid Flink configuration:" >&2
    cat "$CONF_DIR/config.yaml" >&2
    exit 1
  fi
}

prepare_configuration() {
  local opts=()
  opts+=("-Djobmanager.rpc.address=${JOB_MANAGER_RPC_ADDRESS:-$(hostname -f)}")
  opts+=("-Dblob.server.port=6124")
  opts+=("-Dquery.server.port=6125")
  if [ -n "${TASK_MANAGER_NUMBER_OF_TASK_SLOTS:-}" ]; then
    opts+=("-Dtaskmanager.numberOfTaskSlots=${TASK_MANAGER_NUMBER_OF_TASK_SLOTS}")
  fi
  if [ -n "${FLINK_PROPERTIES:-}" ]; then
    while IFS= read -r line; do
      [ -n "${line//[[:space:]]/}" ] || continue
      case "$line" in \#*) continue ;; esac
      local key="${line%%:*}" value="${line#*:}"
      key="$(echo "$key" | xargs)"
      value="${value#"${value%%[![:space:]]*}"}"
      opts+=("-D${key}=${value}")
    done <<<"$FLINK_PROPERTIES"
  fi
  set_config_options "${opts[@]}"
  if [ "$(id -u)" = 0 ]; then
    chown -R flink:flink "$CONF_DIR" "$FLINK_HOME/log"
    # Named volumes mounted under /flink-data start owned by root: HA storage and checkpoints need flink.
    [ -d /flink-data ] && chown flink:flink /flink-data
  fi
}

case "$COMMAND" in
  help)
    echo "Usage: $(basename "$0") (jobmanager|taskmanager|standalone-job|history-server|help)"
    exit 0 ;;
  jobmanager)
    shift; prepare_configuration
    drop_privs "$FLINK_HOME/bin/jobmanager.sh" start-foreground "$@" ;;
  standalone-job)
    shift; prepare_configuration
    drop_privs "$FLINK_HOME/bin/standalone-job.sh" start-foreground "$@" ;;
  history-server)
    shift; prepare_configuration
    drop_privs "$FLINK_HOME/bin/historyserver.sh" start-foreground "$@" ;;
  taskmanager)
    shift; prepare_configuration
    drop_privs "$FLINK_HOME/bin/taskmanager.sh" start-foreground "$@" ;;
esac

exec "$@"
