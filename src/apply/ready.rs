//! Readiness: waiting until a created or started container does its job — ZooKeeper answers
//! `srvr`, a JobManager serves `/overview`, a TaskManager is registered with its slots, a
//! healthcheck reports healthy — and failing early, with the last log lines, when it exits or
//! crash-loops instead.

use super::operations::Probe;
use super::{ApplyError, Shared, jobmanager_urls};
use crate::docker::ops::{self, Inspected};
use crate::model::{Instance, Spec};
use std::time::{Duration, Instant};

/// The longest one readiness probe may take before it counts as "not ready yet".
const PROBE_TIMEOUT: Duration = Duration::from_secs(6);

/// ZooKeeper's `srvr` over bash's /dev/tcp (the official image has no nc). Each read waits at
/// most 3 s, so the probe ends inside the container too when ZooKeeper accepts and stays silent.
pub(super) const ZOOKEEPER_PROBE: &str =
    "exec 3<>/dev/tcp/127.0.0.1/2181 && printf srvr >&3 && while IFS= read -r -t 3 line <&3; do echo \"$line\"; done";

/// How long a probe may keep failing, and what it waits for (for messages).
pub(super) fn limits(probe: Probe) -> (Duration, &'static str) {
    match probe {
        Probe::Zookeeper => (Duration::from_secs(90), "ZooKeeper to answer `srvr`"),
        Probe::FlinkRest => (Duration::from_secs(180), "the JobManager to serve GET /overview"),
        Probe::TaskManagerRegistered { .. } => {
            (Duration::from_secs(180), "the TaskManager to register with the JobManager")
        }
        Probe::Healthy => (Duration::from_secs(300), "its healthcheck to report healthy"),
    }
}

/// Waits until container `id` (instance `d`, as inspected at its start) passes `probe`.
pub(super) async fn wait(
    shared: &Shared,
    d: &Instance,
    probe: Probe,
    id: &str,
    at_start: &Inspected,
    started: Instant,
    verb: &str,
) -> Result<(), ApplyError> {
    let (timeout, what) = limits(probe);
    let Spec::Container(spec) = &d.spec else { return Ok(()) };
    let rest_url = match (at_start.ports.get("8081/tcp"), spec.ports.first()) {
        (Some(port), Some(p)) => Some(crate::names::rest_url(&p.host_ip, *port, d.tls.is_some())),
        _ if probe == Probe::FlinkRest => {
            return Err(ApplyError::Internal(format!("{}: the JobManager publishes no REST port", d.address)));
        }
        _ => None,
    };
    let wait_start = Instant::now();
    let mut last_note = Instant::now();
    let mut last_check = Instant::now();
    loop {
        // One attempt never outlives PROBE_TIMEOUT: a probe that hangs (a ZooKeeper still
        // starting can accept `srvr` and never answer) counts as "not ready yet", so the wait's
        // own timeout and crash checks still apply.
        let attempt = passes(shared, d, probe, id, at_start, rest_url.as_deref());
        if tokio::time::timeout(PROBE_TIMEOUT, attempt).await.unwrap_or(false) {
            return Ok(());
        }
        // Every few seconds: has it died, or is Docker restarting it in a loop? Then fail now.
        let mut crashed = None;
        if last_check.elapsed() > Duration::from_secs(3) {
            last_check = Instant::now();
            crashed = crash(shared, id, at_start).await;
        }
        if crashed.is_some() || wait_start.elapsed() > timeout {
            let logs = ops::last_log_lines(&shared.engine, id, 5).await;
            return Err(ApplyError::NotReady {
                name: d.name.clone(),
                happened: crashed.unwrap_or_else(|| format!("did not become ready within {}s", timeout.as_secs())),
                waiting_for: what,
                logs: if logs.is_empty() { "(none)".to_string() } else { logs },
            });
        }
        if last_note.elapsed() >= Duration::from_secs(10) {
            last_note = Instant::now();
            shared.printer.line(
                &d.address,
                &format!("Still {verb}... [{}s elapsed, waiting for {what}]", started.elapsed().as_secs()),
            );
        }
        // Each check is one local request; a short pause keeps the wait close to the moment
        // Flink is ready (a TaskManager's slots show up within a second of its registration).
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// One probe attempt.
async fn passes(
    shared: &Shared,
    d: &Instance,
    probe: Probe,
    id: &str,
    at_start: &Inspected,
    rest_url: Option<&str>,
) -> bool {
    match probe {
        Probe::Zookeeper => ops::exec_output(&shared.engine, id, &["bash", "-c", ZOOKEEPER_PROBE])
            .await
            .is_ok_and(|o| o.contains("Mode:")),
        Probe::FlinkRest => match rest_url {
            Some(url) => match super::tls::rest(shared, &d.cluster, url.to_string()).await {
                Ok(rest) => rest.overview().await.is_ok(),
                Err(_) => false,
            },
            None => false,
        },
        Probe::TaskManagerRegistered { slots } => {
            // This container's registration: its id, from its own IP (not a stale entry of the
            // container it replaced, which had the same id), with its slots reported (they
            // arrive just after the registration itself).
            for url in jobmanager_urls(shared, &d.cluster) {
                let Ok(rest) = super::tls::rest(shared, &d.cluster, url).await else { continue };
                let tms = rest.taskmanagers().await.unwrap_or_default();
                if tms.iter().any(|t| {
                    t.id == d.name
                        && t.slots == slots
                        && at_start.ips.iter().any(|ip| t.path.contains(&format!("@{ip}:")))
                }) {
                    return true;
                }
            }
            false
        }
        Probe::Healthy => ops::inspect(&shared.engine, id).await.is_ok_and(|i| i.health.as_deref() == Some("healthy")),
    }
}

/// Why the container is not coming up (exited, crash-looping), if it is not.
async fn crash(shared: &Shared, id: &str, at_start: &Inspected) -> Option<String> {
    match ops::inspect(&shared.engine, id).await {
        Ok(i) if !i.running => Some("has exited".to_string()),
        Ok(i) if i.restarts > at_start.restarts => {
            Some(format!("crashed and was restarted {} time(s)", i.restarts - at_start.restarts))
        }
        Ok(_) => None,
        Err(e) => Some(format!("cannot be inspected ({e})")),
    }
}
