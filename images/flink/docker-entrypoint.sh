#!/usr/bin/env bash
# The apache/flink image's entrypoint contract, re-implemented for the offline image:
#   jobmanager | taskmanager | standalone-job | history-server | anything else is exec'd.
# ENABLE_BUILT_IN_PLUGINS as the official image reads it.
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

# ENABLE_BUILT_IN_PLUGINS="a-2.3.0.jar;b-2.3.0.jar": each jar of opt/ linked into plugins/<name>/,
# where Flink loads it with its own class loader (the official image's copy_plugins_if_required).
copy_plugins_if_required() {
  [ -n "${ENABLE_BUILT_IN_PLUGINS:-}" ] || return 0
  echo "Enabling required built-in plugins"
  local target_plugin plugin_name
  for target_plugin in $(echo "$ENABLE_BUILT_IN_PLUGINS" | tr ';' ' '); do
    echo "Linking ${target_plugin} to plugin directory"
    plugin_name=${target_plugin%.jar}
    mkdir -p "${FLINK_HOME}/plugins/${plugin_name}"
    if [ ! -e "${FLINK_HOME}/opt/${target_plugin}" ]; then
      echo "Plugin ${target_plugin} does not exist. Exiting."
      exit 1
    fi
    ln -fs "${FLINK_HOME}/opt/${target_plugin}" "${FLINK_HOME}/plugins/${plugin_name}"
    echo "Successfully enabled ${target_plugin}"
  done
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
    shift; copy_plugins_if_required; prepare_configuration
    drop_privs "$FLINK_HOME/bin/jobmanager.sh" start-foreground "$@" ;;
  standalone-job)
    shift; copy_plugins_if_required; prepare_configuration
    drop_privs "$FLINK_HOME/bin/standalone-job.sh" start-foreground "$@" ;;
  history-server)
    shift; copy_plugins_if_required; prepare_configuration
    drop_privs "$FLINK_HOME/bin/historyserver.sh" start-foreground "$@" ;;
  taskmanager)
    shift; copy_plugins_if_required; prepare_configuration
    drop_privs "$FLINK_HOME/bin/taskmanager.sh" start-foreground "$@" ;;
esac

exec "$@"
