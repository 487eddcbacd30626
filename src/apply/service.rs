//! Swarm services in the executor: create, update in place (replicas, update settings),
//! roll onto a new configuration, and wait until a service does its
//! job — every replica's task running, then the role's own readiness (ZooKeeper answers
//! `srvr`, the JobManager serves `/overview`, the service's TaskManagers are registered with
//! their slots). A JobManager's REST URL is its task's published port on its node, recorded
//! once the task runs. See docs/ARCHITECTURE.md, "Swarm".

use super::operations::Probe;
use super::ready::ZOOKEEPER_PROBE;
use super::{ApplyError, Shared, jobmanager_urls, save};
use crate::docker::nodes::Nodes;
use crate::docker::swarm::{self, LiveTask};
use crate::model::swarm::ServiceSpec;
use crate::model::{Instance, Spec};
use crate::plan::Change;
use std::time::{Duration, Instant};

fn spec(d: &Instance) -> Result<&ServiceSpec, ApplyError> {
    match &d.spec {
        Spec::Service(s) => Ok(s),
        _ => Err(ApplyError::Internal(format!("{} is not a service", d.address))),
    }
}

/// Creates the service; its tasks start as the swarm schedules them.
pub(super) async fn create(shared: &Shared, d: &Instance) -> Result<String, ApplyError> {
    let mut s = spec(d)?.clone();
    // An application's JobManager: this run's job id and the savepoint it starts from.
    s.task = super::application::jobmanager_spec(shared, d, &s.task)?;
    let s = &s;
    super::ensure_image(shared, &s.task.image, d.pull).await?;
    let labels = super::labels(shared, d);
    let files = tls_files(shared, d).await?;
    let request = swarm::ServiceRequest { name: &d.name, spec: s, files: &files, labels: &labels };
    Ok(swarm::create_service(&shared.engine, &request).await?)
}

/// A TLS cluster's keystores for one of its Flink services, as secret files in the directory
/// its configuration names: derived from the cluster's root and its TLS volume's nonce, as the
/// volume's copy is; each named by the nonce's digest (a rotated nonce makes new ones).
async fn tls_files(shared: &Shared, d: &Instance) -> Result<Vec<crate::docker::secrets::SecretFile>, ApplyError> {
    use sha2::Digest;
    let (Some(t), Some(dir)) = (&d.tls, &spec(d)?.tls_dir) else { return Ok(Vec::new()) };
    let nonce = super::tls::learn_nonce(shared, &t.volume).await?;
    let material =
        crate::tls::material(&t.root, &nonce, &t.volume, &t.hosts).map_err(|e| ApplyError::Internal(e.to_string()))?;
    Ok(material
        .files
        .into_iter()
        .map(|(file, data)| {
            // Named by what it is (the nonce and the file), not its bytes: a keystore's
            // encryption is salted anew each time, its certificates are the same.
            let digest = hex::encode(&sha2::Sha256::digest(format!("{nonce}/{file}"))[..6]);
            let what = format!("tls-{}", file.replace('.', "-"));
            crate::docker::secrets::SecretFile {
                name: crate::model::swarm::secret_name(&d.name, &what, &digest),
                target: format!("{dir}/{file}"),
                data,
            }
        })
        .collect())
}

/// Sets the service's replicas and update settings in place: its running tasks are kept.
pub(super) async fn update_in_place(shared: &Shared, c: &Change) -> Result<(), ApplyError> {
    let d = c.desired.as_ref().ok_or_else(|| ApplyError::Internal("an update without a desired instance".into()))?;
    let id = c.live_id.as_deref().ok_or_else(|| ApplyError::Internal(format!("{}: no live service", d.address)))?;
    let s = spec(d)?;
    let before = c.before.as_ref().and_then(|b| b.get("replicas")).cloned().unwrap_or_default();
    if before != s.replicas.to_string() {
        shared.printer.line(&c.address, &format!("Scaling... [replicas {before} → {}]", s.replicas));
    } else {
        shared.printer.line(&c.address, "Modifying... [update settings]");
    }
    swarm::update_in_place(&shared.engine, id, &d.name, s.replicas, s.rolling).await?;
    let ports = c.live_ports.clone();
    save(shared, |st| st.put(super::record(d, id, ports, c.live_host.as_deref())))?;
    Ok(())
}

/// A rolling update: the new configuration sent to the service, whose tasks the swarm
/// replaces a batch at a time; returns once every task runs it (the readiness wait follows).
pub(super) async fn roll(shared: &Shared, c: &Change) -> Result<(), ApplyError> {
    let d = c.desired.as_ref().ok_or_else(|| ApplyError::Internal("an update without a desired instance".into()))?;
    let id = c.live_id.as_deref().ok_or_else(|| ApplyError::Internal(format!("{}: no live service", d.address)))?;
    let s = spec(d)?;
    let rolling = s.rolling.unwrap_or_default();
    shared.printer.line(&c.address, &format!("Rolling update... [{} tasks: {rolling}]", s.replicas));
    super::ensure_image(shared, &s.task.image, d.pull).await?;
    let labels = super::labels(shared, d);
    let files = tls_files(shared, d).await?;
    // Each batch: stop (or start) a task, its successor running, then watched.
    let per_batch = Duration::from_secs(120 + rolling.monitor_s + rolling.delay_s);
    let batches = match rolling.parallelism {
        0 => 1,
        n => s.replicas.div_ceil(n).max(1),
    };
    let started = Instant::now();
    let progress = |message: &str| {
        shared
            .printer
            .line(&c.address, &format!("Still rolling... [{}s elapsed: {message}]", started.elapsed().as_secs()))
    };
    let request = swarm::ServiceRequest { name: &d.name, spec: s, files: &files, labels: &labels };
    let outcome = swarm::roll_service(&shared.engine, id, &request, per_batch * batches as u32, progress).await?;
    if let swarm::Rolled::Failed(message) = outcome {
        let outcome = match rolling.failure_action {
            crate::config::FailureAction::Rollback => "rolled it back: the previous configuration runs",
            crate::config::FailureAction::Pause => "paused it: the tasks already replaced run the new configuration",
        };
        return Err(ApplyError::RollingUpdate { name: d.name.clone(), message, outcome });
    }
    let ports = c.live_ports.clone();
    save(shared, |st| st.put(super::record(d, id, ports, c.live_host.as_deref())))?;
    shared.printer.line(&c.address, &format!("Rolled every task after {}s", started.elapsed().as_secs()));
    Ok(())
}

/// Waits until service `id` (instance `d`) runs every replica and passes `probe`.
pub(super) async fn wait(shared: &Shared, d: &Instance, probe: Probe, id: &str) -> Result<(), ApplyError> {
    let replicas = spec(d)?.replicas as usize;
    let (timeout, what) = super::ready::limits(probe);
    let started = Instant::now();
    let mut last_note = Instant::now();
    let mut recorded_ports = false;
    loop {
        let tasks = swarm::running_tasks(&shared.engine, id).await.unwrap_or_default();
        if tasks.len() >= replicas {
            if !recorded_ports && let Some(t) = tasks.first().filter(|t| !t.ports.is_empty()) {
                // The REST URL the jobs and the next runs use: the port the task's node
                // published, at that node's address (loopback on this engine's node).
                let host = Nodes::list(crate::docker::via::Via::of(&shared.engine)).await?.reach(&t.node);
                let ports = t.ports.clone();
                save(shared, |s| s.put(super::record(d, id, ports, host.as_deref())))?;
                recorded_ports = true;
            }
            let attempt = passes(shared, d, probe, &tasks, replicas);
            if tokio::time::timeout(Duration::from_secs(6), attempt).await.unwrap_or(false) {
                return Ok(());
            }
        }
        if started.elapsed() > timeout {
            return Err(ApplyError::NotReady {
                name: d.name.clone(),
                happened: format!(
                    "did not become ready within {}s ({} of {replicas} tasks running)",
                    timeout.as_secs(),
                    tasks.len()
                ),
                waiting_for: what,
                logs: format!("(see `docker service ps {}`)", d.name),
            });
        }
        if last_note.elapsed() >= Duration::from_secs(10) {
            last_note = Instant::now();
            shared.printer.line(
                &d.address,
                &format!(
                    "Still creating... [{}s elapsed, {} of {replicas} tasks running, waiting for {what}]",
                    started.elapsed().as_secs(),
                    tasks.len()
                ),
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// One probe attempt, once every replica's task runs.
async fn passes(shared: &Shared, d: &Instance, probe: Probe, tasks: &[LiveTask], replicas: usize) -> bool {
    match probe {
        Probe::Zookeeper => {
            // Asked inside the task's container, where this engine runs it; a task on another
            // node counts as ready once it runs.
            let Some(task) = tasks.first() else { return false };
            match task_container(shared, &task.id).await {
                Some(container) => {
                    crate::docker::ops::exec_output(&shared.engine, &container, &["bash", "-c", ZOOKEEPER_PROBE])
                        .await
                        .is_ok_and(|o| o.contains("Mode:"))
                }
                None => true,
            }
        }
        Probe::FlinkRest => {
            let recorded =
                shared.state.lock().ok().and_then(|s| s.0.resource(&d.address).and_then(|r| r.rest_url.clone()));
            let Some(url) = recorded else { return false };
            match super::tls::rest(shared, &d.cluster, url).await {
                Ok(rest) => rest.overview().await.is_ok(),
                Err(_) => false,
            }
        }
        Probe::TaskManagerRegistered { slots } => {
            // The service's TaskManagers name themselves `<service>-<slot>`.
            let prefix = format!("{}-", d.name);
            for url in jobmanager_urls(shared, &d.cluster) {
                let Ok(rest) = super::tls::rest(shared, &d.cluster, url).await else { continue };
                let tms = rest.taskmanagers().await.unwrap_or_default();
                let registered = tms
                    .iter()
                    .filter(|t| t.slots == slots)
                    .filter(|t| t.id.strip_prefix(&prefix).is_some_and(|slot| slot.parse::<u64>().is_ok()))
                    .count();
                if registered >= replicas {
                    return true;
                }
            }
            false
        }
        Probe::Healthy => true,
    }
}

/// The container of task `task` on this engine, if it runs here.
async fn task_container(shared: &Shared, task: &str) -> Option<String> {
    let filters = std::collections::HashMap::from([("label", vec![format!("com.docker.swarm.task.id={task}")])]);
    let opts = bollard::query_parameters::ListContainersOptionsBuilder::new().filters(&filters).build();
    let found = shared.engine.docker.list_containers(Some(opts)).await.ok()?;
    found.into_iter().next().and_then(|c| c.id)
}
