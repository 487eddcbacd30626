//! Job operations through the Flink REST API: stop (stop-with-savepoint in savepoint mode, else
//! cancel) and submit (upload the jar, run it from the last savepoint in savepoint mode, wait
//! until RUNNING). A failed savepoint leaves the job running and fails the operation, so
//! nothing that depends on it (a JobManager replacement) proceeds: nothing is lost.

use super::operations::Stop;
use super::{ApplyError, Shared, jobmanager_urls, save};
use crate::config::{JobState, UpgradeMode};
use crate::flink::rest::{FlinkRest, RunRequest};
use crate::plan::Change;
use crate::state::{PendingOp, Resource, State};
use std::time::{Duration, Instant};

const SAVEPOINT_TIMEOUT: Duration = Duration::from_secs(300);
const RUNNING_TIMEOUT: Duration = Duration::from_secs(180);
/// How long Flink serves a job's checkpoint statistics from its cache (`web.refresh-interval`,
/// 3 s by default), and a little more.
const CHECKPOINT_STATS_CACHED: Duration = Duration::from_millis(3200);
/// How often a job's state is asked while waiting on it: while a job is stopped, every poll
/// interval is downtime, and a `GET /jobs/<id>` costs the JobManager little.
const JOB_POLL: Duration = Duration::from_millis(100);

fn cluster_of(c: &Change) -> String {
    c.desired
        .as_ref()
        .map(|d| d.cluster.clone())
        .or_else(|| c.recorded_job.as_ref().map(|j| j.cluster.clone()))
        .unwrap_or_default()
}

/// The first JobManager of the cluster that answers.
async fn rest_for(shared: &Shared, cluster: &str) -> Result<FlinkRest, ApplyError> {
    for url in jobmanager_urls(shared, cluster) {
        let rest = super::tls::rest(shared, cluster, url).await?;
        if rest.overview().await.is_ok() {
            return Ok(rest);
        }
    }
    Err(ApplyError::Job(format!("the REST API of cluster \"{cluster}\" does not answer")))
}

fn recorded(shared: &Shared, address: &str) -> Result<Option<Resource>, ApplyError> {
    let guard = shared.state.lock().map_err(|_| ApplyError::Internal("state lock poisoned".into()))?;
    Ok(guard.0.resource(address).cloned())
}

/// Marks a recorded job suspended (and says so in its attributes, for readers).
pub(super) fn suspend(r: &mut Resource) {
    r.attributes.insert("state".into(), "suspended".into());
    if let Some(j) = r.job.as_mut() {
        j.suspended = true;
    }
}

/// Records a job as suspended without touching Flink (it is not running).
pub fn record_suspended(state: &mut State, c: &Change) {
    if let Some(r) = state.resource(&c.address).cloned() {
        let mut r = r;
        if let Some(after) = &c.after {
            r.attributes = after.clone();
        }
        suspend(&mut r);
        state.put(r);
    }
}

/// Stops the job as `how` says. Its savepoint (or, in last-state mode, its latest retained
/// checkpoint) becomes the one it restarts from.
pub async fn stop(shared: &Shared, c: &Change, how: Stop) -> Result<(), ApplyError> {
    let p = &shared.printer;
    let started = Instant::now();
    let recorded: Option<Resource> = recorded(shared, &c.address)?;
    let Some(mut r) = recorded else { return Ok(()) };
    let cluster = cluster_of(c);
    let application = is_application(c);
    let rest = rest_for(shared, &cluster).await?;
    let status = rest.job_state(&r.id).await?;
    let running = status.as_deref().is_some_and(|s| !crate::plan::jobs_is_terminal(s));
    let mut savepoint = r.savepoint.clone();
    if running {
        let read_at = Instant::now();
        let checkpoint = match how {
            Stop::LastState => rest.checkpoints(&r.id).await.ok().and_then(|c| c.latest_path),
            _ => None,
        };
        if how == Stop::LastState && checkpoint.is_none() {
            p.line(&c.address, "No retained checkpoint to restart from yet: stopping with a savepoint instead");
        }
        match (how, checkpoint) {
            (Stop::LastState, Some(path)) => {
                p.line(&c.address, &format!("Cancelling; it restarts from its latest checkpoint {path} [id={}]", r.id));
                rest.cancel(&r.id).await?;
                wait_stopped(&rest, &r.id, application).await?;
                // A checkpoint that completed while the cancel was under way is the one kept
                // (it subsumes the one read before): asked again where the cluster still
                // answers (a session's; an application's JobManager is gone, and keeps more).
                // Flink serves checkpoint statistics from a cache it refreshes every
                // `web.refresh-interval`: asked again only once the first answer has expired.
                let after = match application {
                    true => None,
                    false => {
                        tokio::time::sleep(CHECKPOINT_STATS_CACHED.saturating_sub(read_at.elapsed())).await;
                        rest.checkpoints(&r.id).await.ok().and_then(|c| c.latest_path)
                    }
                };
                savepoint = Some(after.unwrap_or(path));
            }
            (Stop::Cancel, _) => {
                p.line(&c.address, &format!("Cancelling (stateless: its state is dropped)... [id={}]", r.id));
                rest.cancel(&r.id).await?;
                wait_stopped(&rest, &r.id, application).await?;
                p.line(&c.address, &format!("Cancelled after {}s", started.elapsed().as_secs()));
            }
            _ => {
                let dir = r
                    .attributes
                    .get("savepoint_dir")
                    .cloned()
                    .unwrap_or_else(|| "file:///flink-data/savepoints".into());
                p.line(&c.address, &format!("Stopping with a savepoint into {dir}... [id={}]", r.id));
                let path = stop_with_savepoint(shared, c, &rest, &r.id, &dir).await?;
                // The savepoint completes just before the job finishes: wait until it has let go of its slots.
                wait_stopped(&rest, &r.id, application).await?;
                p.line(&c.address, &format!("Savepoint complete after {}s: {path}", started.elapsed().as_secs()));
                savepoint = Some(path);
            }
        }
    }
    if c.desired.is_none() {
        save(shared, |s| {
            s.remove(&c.address);
            s.settle(PendingOp::StopJob, &c.address);
        })?;
        match &savepoint {
            Some(path) if how != Stop::Cancel => {
                p.line(&c.address, &format!("Destruction complete; final savepoint: {path}"))
            }
            _ => p.line(&c.address, "Destruction complete"),
        }
        return Ok(());
    }
    r.savepoint = if how == Stop::Cancel { None } else { savepoint };
    suspend(&mut r);
    save(shared, |s| {
        s.put(r);
        s.settle(PendingOp::StopJob, &c.address);
    })
}

/// An application cluster's application (`<cluster>.application`), by its address.
fn is_application(c: &Change) -> bool {
    crate::address::Address::parse(&c.address).is_ok_and(|a| a.role() == Some("application"))
}

/// Waits until a stopped job has let go of its slots. An application's JobManager shuts down
/// once its job has ended, so its REST API going away means the same.
async fn wait_stopped(rest: &FlinkRest, jid: &str, application: bool) -> Result<(), ApplyError> {
    let stopped = wait_for(rest, jid, |s| s.is_none_or(crate::plan::jobs_is_terminal), RUNNING_TIMEOUT).await;
    match stopped {
        Err(ApplyError::Flink(_)) if application => Ok(()),
        other => other,
    }
}

/// Stop-with-savepoint, written ahead. A job whose tasks are being (re)deployed cannot take a
/// savepoint (Flink aborts it): when the job is still running after a failed attempt, its tasks
/// are waited for and the stop is tried again, a few times, as the Flink Kubernetes Operator does.
async fn stop_with_savepoint(
    shared: &Shared,
    c: &Change,
    rest: &FlinkRest,
    jid: &str,
    dir: &str,
) -> Result<String, ApplyError> {
    // How long a savepoint a failover aborted is tried again: a TaskManager that died without a
    // word is noticed by Flink only after its heartbeat timeout (50 s by default), and until
    // then every savepoint is aborted. Any other failure is tried three times in all.
    const RETRY_FOR: Duration = Duration::from_secs(150);
    const ATTEMPTS: u32 = 3;
    let started = Instant::now();
    let mut attempt = 1;
    let mut last_note: Option<Instant> = None;
    loop {
        let _ = wait_tasks_running(rest, jid, Duration::from_secs(60)).await;
        super::intend(shared, c, PendingOp::StopJob, Some(&jid.to_string()))?;
        let stopped = rest.stop_with_savepoint(jid, dir, SAVEPOINT_TIMEOUT).await;
        let aborted = matches!(stopped, Err(crate::flink::rest::RestError::SavepointAborted { .. }));
        let stopped = stopped.map_err(|e| {
            ApplyError::Job(format!("stop-with-savepoint of job {jid} failed, so the job keeps running and nothing that depends on it was changed: {e}"))
        });
        let failed = match super::settle_on_error(shared, c, PendingOp::StopJob, stopped) {
            Ok(path) => return Ok(path),
            Err(e) => e,
        };
        let recovering = rest
            .job_state(jid)
            .await
            .ok()
            .flatten()
            .is_some_and(|s| matches!(s.as_str(), "RUNNING" | "RESTARTING" | "INITIALIZING" | "CREATED"));
        let again = match aborted {
            true => started.elapsed() < RETRY_FOR,
            false => attempt < ATTEMPTS,
        };
        if !again || !recovering {
            return Err(failed);
        }
        if last_note.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) {
            last_note = Some(Instant::now());
            let elapsed = started.elapsed().as_secs();
            let msg =
                format!("The savepoint was aborted ({failed}); trying again once the tasks run [{elapsed}s elapsed]");
            shared.printer.line(&c.address, &msg);
        }
        attempt += 1;
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

pub async fn submit(shared: &Shared, c: &Change) -> Result<(), ApplyError> {
    let p = &shared.printer;
    let started = Instant::now();
    let d = super::desired(c, "submit")?;
    let settings = d.job.as_ref().ok_or_else(|| ApplyError::Internal("job without settings".into()))?;
    let crate::model::Spec::Job(spec) = &d.spec else {
        return Err(ApplyError::Internal("job without a job spec".into()));
    };
    let recorded = recorded(shared, &c.address)?;
    let restore = match settings.upgrade_mode {
        UpgradeMode::Savepoint | UpgradeMode::LastState => recorded.as_ref().and_then(|r| r.savepoint.clone()),
        UpgradeMode::Stateless => None,
    };
    if settings.state == JobState::Suspended {
        let mut r = super::record(d, recorded.as_ref().map(|r| r.id.as_str()).unwrap_or(""), Default::default(), None);
        r.savepoint = restore;
        suspend(&mut r);
        return save(shared, |s| s.put(r));
    }
    let rest = rest_for(shared, &d.cluster).await?;
    if settings.application {
        return application_running(shared, c, d, &rest, started).await;
    }
    match &restore {
        Some(path) => p.line(&c.address, &format!("Submitting, restoring from {path}...")),
        None => p.line(&c.address, "Submitting..."),
    }
    let bytes = std::fs::read(&settings.jar)
        .map_err(|e| ApplyError::Job(format!("cannot read {}: {e}", settings.jar.display())))?;
    // The jar the plan hashed is the one submitted, or none is.
    let hash = {
        use sha2::{Digest, Sha256};
        hex::encode(Sha256::digest(&bytes))
    };
    if hash != spec.jar_sha256 {
        return Err(ApplyError::Job(format!(
            "{} changed since it was planned (sha256 {} then, {} now); nothing was submitted. Plan again",
            settings.jar.display(),
            &spec.jar_sha256[..12.min(spec.jar_sha256.len())],
            &hash[..12]
        )));
    }
    let file_name =
        settings.jar.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_else(|| "job.jar".into());
    let jar_id = rest.upload_jar(&file_name, bytes).await?;
    let req = RunRequest {
        entry_class: spec.entry_class.clone(),
        program_args_list: spec.args.clone(),
        parallelism: spec.parallelism,
        savepoint_path: restore.clone(),
        allow_non_restored_state: settings.allow_non_restored_state,
        flink_configuration: submitted_config(spec, settings.upgrade_mode),
    };
    let result = rest.run_jar(&jar_id, &req).await;
    rest.delete_jar(&jar_id).await;
    let jid = result?;
    let mut r = super::record(d, &jid, Default::default(), None);
    r.savepoint = restore;
    save(shared, |s| s.put(r))?;
    wait_for(&rest, &jid, |s| s == Some("RUNNING") || s.is_some_and(crate::plan::jobs_is_terminal), RUNNING_TIMEOUT)
        .await?;
    match rest.job_state(&jid).await?.as_deref() {
        Some("RUNNING") => {
            wait_tasks_running(&rest, &jid, RUNNING_TIMEOUT).await?;
            p.line(&c.address, &format!("Submission complete after {}s [id={jid}]", started.elapsed().as_secs()));
            Ok(())
        }
        other => Err(ApplyError::Job(format!(
            "job {jid} did not reach RUNNING: it is {}",
            other.unwrap_or("unknown to Flink")
        ))),
    }
}

/// The job's own settings as submitted: in last-state mode its checkpoints are kept when it
/// is cancelled (what it restarts from), unless the job says otherwise.
fn submitted_config(spec: &crate::model::JobSpec, mode: UpgradeMode) -> std::collections::BTreeMap<String, String> {
    let mut config = spec.flink_config.clone();
    if mode == UpgradeMode::LastState {
        config
            .entry(crate::model::flink_conf::RETAIN_CHECKPOINTS.into())
            .or_insert_with(|| "RETAIN_ON_CANCELLATION".into());
    }
    config
}

/// An application's "submission": its JobManager runs it; wait until it does, and record it.
async fn application_running(
    shared: &Shared,
    c: &Change,
    d: &crate::model::Instance,
    rest: &FlinkRest,
    started: Instant,
) -> Result<(), ApplyError> {
    let launch = super::application::launch(shared, &d.cluster)?
        .ok_or_else(|| ApplyError::Internal("an application without a launch".into()))?;
    let jid = launch.job_id;
    match &launch.restore {
        Some(path) => shared.printer.line(&c.address, &format!("Waiting for the application, restored from {path}...")),
        None => shared.printer.line(&c.address, "Waiting for the application to run..."),
    }
    wait_for(rest, &jid, |s| s == Some("RUNNING") || s.is_some_and(crate::plan::jobs_is_terminal), RUNNING_TIMEOUT)
        .await?;
    match rest.job_state(&jid).await?.as_deref() {
        Some("RUNNING") => {
            wait_tasks_running(rest, &jid, RUNNING_TIMEOUT).await?;
            let mut r = super::record(d, &jid, Default::default(), None);
            r.savepoint = launch.restore;
            save(shared, |s| s.put(r))?;
            shared
                .printer
                .line(&c.address, &format!("Application running after {}s [id={jid}]", started.elapsed().as_secs()));
            Ok(())
        }
        other => Err(ApplyError::Job(format!(
            "the application (job {jid}) did not reach RUNNING: it is {}; see the JobManager's log (`docker logs`)",
            other.unwrap_or("unknown to Flink")
        ))),
    }
}

async fn wait_tasks_running(rest: &FlinkRest, jid: &str, timeout: Duration) -> Result<(), ApplyError> {
    let start = Instant::now();
    while !rest.all_tasks_running(jid).await.unwrap_or(false) {
        if start.elapsed() > timeout {
            return Err(ApplyError::Job(format!(
                "the tasks of job {jid} are not all RUNNING after {}s",
                timeout.as_secs()
            )));
        }
        tokio::time::sleep(JOB_POLL).await;
    }
    Ok(())
}

pub(super) async fn wait_for(
    rest: &FlinkRest,
    jid: &str,
    done: impl Fn(Option<&str>) -> bool,
    timeout: Duration,
) -> Result<(), ApplyError> {
    let start = Instant::now();
    loop {
        let s = rest.job_state(jid).await?;
        if done(s.as_deref()) {
            return Ok(());
        }
        if start.elapsed() > timeout {
            return Err(ApplyError::Job(format!(
                "job {jid} is still {} after {}s",
                s.unwrap_or_default(),
                timeout.as_secs()
            )));
        }
        tokio::time::sleep(JOB_POLL).await;
    }
}
