#!/usr/bin/env bash
# Build-time class-data sharing (AppCDS) for this image's JVMs. Every Flink container starts four
# short BashJavaUtils JVMs (the entrypoint's config-parser-utils.sh, config.sh twice, the memory
# sizing) before Flink's own; on a small machine, a cluster's containers spend more CPU there than in
# Flink. Archiving the classes those JVMs load, once, here, makes each of them ~2.5x cheaper, and
# the JobManager and TaskManager JVMs start ~1 s sooner.
#
# What it changes, and only that: BashJavaUtils runs with its archive, C1 only and the serial GC (it
# lives for a quarter of a second); the image's config.yaml gets env.java.default-opts.jobmanager
# and .taskmanager pointing at their archives (the "default-opts" keys are the distribution's, so a
# user's env.java.opts.* still apply; a user who sets default-opts replaces ours). A JVM whose class
# path no longer matches its archive (a jar added to lib/) starts as before, without it.
set -euo pipefail
cd /opt/flink
cds=/opt/flink/cds
mkdir -p "$cds"
quiet="-Xshare:auto -Xlog:cds=off -Xlog:cds+dynamic=off"

# 1. BashJavaUtils: one run's classes cover all its commands (they share the configuration code).
java -XX:ArchiveClassesAtExit="$cds/bash-java-utils.jsa" \
  -classpath "bin/bash-java-utils.jar:$(ls lib/flink-dist*.jar)" \
  org.apache.flink.runtime.util.bash.BashJavaUtils GET_JM_RESOURCE_PARAMS --configDir conf >/dev/null
marker='"${JAVA_RUN}" -classpath "${class_path}" org.apache.flink.runtime.util.bash.BashJavaUtils'
grep -qF "$marker" bin/bash-java-utils.sh
sed -i "s|\"\${JAVA_RUN}\" -classpath \"\${class_path}\" org|\"\${JAVA_RUN}\" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:SharedArchiveFile=$cds/bash-java-utils.jsa $quiet -classpath \"\${class_path}\" org|" \
  bin/bash-java-utils.sh
grep -qF "SharedArchiveFile=$cds/bash-java-utils.jsa" bin/bash-java-utils.sh

# 2. The JobManager and a TaskManager, trained on the real thing: the JobManager until its REST API
#    answers, a TaskManager until it is registered; each dumps what it loaded when stopped.
set_opt() { ./bin/config-parser-utils.sh conf bin lib "-D$1=$2" >/dev/null; }
set_opt env.java.default-opts.jobmanager "-XX:ArchiveClassesAtExit=$cds/jobmanager.jsa"
set_opt env.java.default-opts.taskmanager "-XX:ArchiveClassesAtExit=$cds/taskmanager.jsa"
bin/jobmanager.sh start-foreground >/tmp/cds-jm.log 2>&1 &
jm=$!
bin/taskmanager.sh start-foreground >/tmp/cds-tm.log 2>&1 &
tm=$!
registered() { curl -sf localhost:8081/overview | grep -q '"taskmanagers":1,'; }
for _ in $(seq 1 600); do registered && break; sleep 0.2; done
if ! registered; then tail -50 /tmp/cds-jm.log /tmp/cds-tm.log; exit 1; fi
sleep 2 # the first heartbeats and slot reports load their classes too
kill -TERM "$tm"; wait "$tm" || true
kill -TERM "$jm"; wait "$jm" || true
for role in jobmanager taskmanager; do
  test -s "$cds/$role.jsa" || { echo "no archive for the $role" >&2; exit 1; }
  set_opt "env.java.default-opts.$role" "-XX:SharedArchiveFile=$cds/$role.jsa $quiet"
done
rm -rf log/* /tmp/cds-*.log
