#!/usr/bin/env bash
# The official zookeeper image's entrypoint contract, for Debian's ZooKeeper package.
set -euo pipefail

CONFIG="$ZOO_CONF_DIR/zoo.cfg"
if [ ! -f "$CONFIG" ]; then
  {
    echo "dataDir=$ZOO_DATA_DIR"
    echo "dataLogDir=$ZOO_DATA_LOG_DIR"
    echo "tickTime=$ZOO_TICK_TIME"
    echo "initLimit=$ZOO_INIT_LIMIT"
    echo "syncLimit=$ZOO_SYNC_LIMIT"
    echo "autopurge.snapRetainCount=$ZOO_AUTOPURGE_SNAPRETAINCOUNT"
    echo "autopurge.purgeInterval=$ZOO_AUTOPURGE_PURGEINTERVAL"
    echo "maxClientCnxns=$ZOO_MAX_CLIENT_CNXNS"
    echo "standaloneEnabled=$ZOO_STANDALONE_ENABLED"
    echo "admin.enableServer=$ZOO_ADMINSERVER_ENABLED"
    echo "4lw.commands.whitelist=$ZOO_4LW_COMMANDS_WHITELIST"
    if [ -z "${ZOO_SERVERS:-}" ]; then
      echo "clientPort=2181"
    else
      for server in $ZOO_SERVERS; do echo "$server"; done
    fi
  } > "$CONFIG"
fi
if [ ! -f "$ZOO_DATA_DIR/myid" ]; then
  echo "${ZOO_MY_ID:-1}" > "$ZOO_DATA_DIR/myid"
fi
if [ "$(id -u)" = 0 ]; then
  chown -R zookeeper:zookeeper "$ZOO_CONF_DIR" "$ZOO_DATA_DIR" "$ZOO_DATA_LOG_DIR" "$ZOO_LOG_DIR"
fi

if [ "${1:-}" = "zkServer.sh" ]; then
  shift
  export ZOOCFGDIR="$ZOO_CONF_DIR" ZOO_LOG_DIR
  cmd=(/usr/share/zookeeper/bin/zkServer.sh "$@" "$CONFIG")
  if [ "$(id -u)" = 0 ]; then
    exec setpriv --reuid=zookeeper --regid=zookeeper --init-groups "${cmd[@]}"
  fi
  exec "${cmd[@]}"
fi
exec "$@"
