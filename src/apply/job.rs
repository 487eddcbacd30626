//! Job operations through the Flink REST API: stop (stop-with-savepoint in savepoint mode, else
//! cancel) and submit (upload the jar, run it from the last savepoint in savepoint mode, wait
//! until RUNNING). A failed savepoint leaves the job running and fails the operation, so
//! nothing that depends on it (a JobManager replacement) proceeds: nothing is lost.

use super::{Shared, jobmanager_urls, save};
use crate::config::{JobState, UpgradeMode};
use crate::flink::rest::{FlinkRest, RunRequest};
use crate::plan::Change;
use crate::state::{Resource, State};
use std::time::{Duration, Instant};

const SAVEPOINT_TIMEOUT: Duration = Duration::from_secs(300);
const RUNNING_TIMEOUT: Duration = Duration::from_secs(180);

fn cluster_of(c: &Change) -> String {
    c.desired
        .as_ref()
        .map(|d| d.cluster.clone())
        .or_else(|| c.before.as_ref().and_then(|b| b.get("cluster").cloned()))
        .unwrap_or_default()
}

/// The first JobManager of the cluster that answers.
async fn rest_for(shared: &Shared, cluster: &str) -> Result<FlinkRest, String> {
    for url in jobmanager_urls(shared, cluster) {
        let rest = FlinkRest::new(url);
        if rest.overview().await.is_ok() {
            return Ok(rest);
        }
    }
    Err(format!("the REST API of cluster \"{cluster}\" does not answer"))
}

/// Records a job as suspended without touching Flink (it is not running).
pub fn record_suspended(state: &mut State, c: &Change) {
    if let Some(r) = state.resource(&c.address).cloned() {
        let mut r = r;
        if let Some(after) = &c.after {
            r.attributes = after.clone();
        }
        r.attributes.insert("state".into(), "suspended".into());
        state.put(r);
    }
}

pub async fn stop(shared: &Shared, c: &Change) -> Result<(), String> {
    let p = &shared.printer;
    let started = Instant::now();
    let recorded: Option<Resource> =
        shared.state.lock().map_err(|_| "state lock poisoned")?.0.resource(&c.address).cloned();
    let Some(mut r) = recorded else { return Ok(()) };
    let mode_stateless = r.attributes.get("upgrade_mode").map(String::as_str) == Some("stateless");
    let suspend = c.desired.as_ref().and_then(|d| d.job.as_ref()).is_some_and(|j| j.state == JobState::Suspended);
    let with_savepoint = !mode_stateless || suspend;
    let cluster = cluster_of(c);
    let rest = rest_for(shared, &cluster).await?;
    let status = rest.job_state(&r.id).await.map_err(|e| e.to_string())?;
    let running = status.as_deref().is_some_and(|s| !crate::plan::jobs_is_terminal(s));
    let mut savepoint = r.savepoint.clone();
    if running {
        if with_savepoint {
            let dir =
                r.attributes.get("savepoint_dir").cloned().unwrap_or_else(|| "file:///flink-data/savepoints".into());
            p.line(&c.address, &format!("Stopping with a savepoint into {dir}... [id={}]", r.id));
            // A job whose tasks are still being deployed cannot take a savepoint yet: wait for them.
            let _ = wait_tasks_running(&rest, &r.id, Duration::from_secs(60)).await;
            let path = rest.stop_with_savepoint(&r.id, &dir, SAVEPOINT_TIMEOUT).await.map_err(|e| {
                format!("stop-with-savepoint of job {} failed, so the job keeps running and nothing that depends on it was changed: {e}", r.id)
            })?;
            // The savepoint completes just before the job finishes: wait until it has let go of its slots.
            wait_for(&rest, &r.id, |s| s.is_none_or(crate::plan::jobs_is_terminal), RUNNING_TIMEOUT).await?;
            p.line(&c.address, &format!("Savepoint complete after {}s: {path}", started.elapsed().as_secs()));
            savepoint = Some(path);
        } else {
            p.line(&c.address, &format!("Cancelling (stateless: its state is dropped)... [id={}]", r.id));
            rest.cancel(&r.id).await.map_err(|e| e.to_string())?;
            wait_for(&rest, &r.id, |s| s.is_none_or(crate::plan::jobs_is_terminal), RUNNING_TIMEOUT).await?;
            p.line(&c.address, &format!("Cancelled after {}s", started.elapsed().as_secs()));
        }
    }
    if c.desired.is_none() {
        save(shared, |s| s.remove(&c.address))?;
        match &savepoint {
            Some(path) if with_savepoint => {
                p.line(&c.address, &format!("Destruction complete; final savepoint: {path}"))
            }
            _ => p.line(&c.address, "Destruction complete"),
        }
        return Ok(());
    }
    r.savepoint = if mode_stateless && !suspend { None } else { savepoint };
    r.attributes.insert("state".into(), "suspended".into());
    save(shared, |s| s.put(r))
}

pub async fn submit(shared: &Shared, c: &Change) -> Result<(), String> {
    let p = &shared.printer;
    let started = Instant::now();
    let d = c.desired.as_ref().ok_or("internal: submit without a desired job")?;
    let settings = d.job.as_ref().ok_or("internal: job without settings")?;
    let crate::model::Spec::Job(spec) = &d.spec else { return Err("internal: job without a job spec".into()) };
    let recorded = shared.state.lock().map_err(|_| "state lock poisoned")?.0.resource(&c.address).cloned();
    let restore = match settings.upgrade_mode {
        UpgradeMode::Savepoint => recorded.as_ref().and_then(|r| r.savepoint.clone()),
        UpgradeMode::Stateless => None,
    };
    if settings.state == JobState::Suspended {
        let mut r = super::record(d, recorded.as_ref().map(|r| r.id.as_str()).unwrap_or(""), Default::default());
        r.savepoint = restore;
        r.attributes.insert("state".into(), "suspended".into());
        return save(shared, |s| s.put(r));
    }
    let rest = rest_for(shared, &d.cluster).await?;
    match &restore {
        Some(path) => p.line(&c.address, &format!("Submitting, restoring from {path}...")),
        None => p.line(&c.address, "Submitting..."),
    }
    let bytes = std::fs::read(&settings.jar).map_err(|e| format!("cannot read {}: {e}", settings.jar.display()))?;
    let file_name =
        settings.jar.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_else(|| "job.jar".into());
    let jar_id = rest.upload_jar(&file_name, bytes).await.map_err(|e| e.to_string())?;
    let req = RunRequest {
        entry_class: spec.entry_class.clone(),
        program_args_list: spec.args.clone(),
        parallelism: spec.parallelism,
        savepoint_path: restore.clone(),
        allow_non_restored_state: settings.allow_non_restored_state,
        flink_configuration: spec.flink_config.clone(),
    };
    let result = rest.run_jar(&jar_id, &req).await;
    rest.delete_jar(&jar_id).await;
    let jid = result.map_err(|e| e.to_string())?;
    let mut r = super::record(d, &jid, Default::default());
    r.savepoint = restore;
    save(shared, |s| s.put(r))?;
    wait_for(&rest, &jid, |s| s == Some("RUNNING") || s.is_some_and(crate::plan::jobs_is_terminal), RUNNING_TIMEOUT)
        .await?;
    match rest.job_state(&jid).await.map_err(|e| e.to_string())?.as_deref() {
        Some("RUNNING") => {
            wait_tasks_running(&rest, &jid, RUNNING_TIMEOUT).await?;
            p.line(&c.address, &format!("Submission complete after {}s [id={jid}]", started.elapsed().as_secs()));
            Ok(())
        }
        other => Err(format!("job {jid} did not reach RUNNING: it is {}", other.unwrap_or("unknown to Flink"))),
    }
}

async fn wait_tasks_running(rest: &FlinkRest, jid: &str, timeout: Duration) -> Result<(), String> {
    let start = Instant::now();
    while !rest.all_tasks_running(jid).await.unwrap_or(false) {
        if start.elapsed() > timeout {
            return Err(format!("the tasks of job {jid} are not all RUNNING after {}s", timeout.as_secs()));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Ok(())
}

async fn wait_for(
    rest: &FlinkRest,
    jid: &str,
    done: impl Fn(Option<&str>) -> bool,
    timeout: Duration,
) -> Result<(), String> {
    let start = Instant::now();
    loop {
        let s = rest.job_state(jid).await.map_err(|e| e.to_string())?;
        if done(s.as_deref()) {
            return Ok(());
        }
        if start.elapsed() > timeout {
            return Err(format!("job {jid} is still {} after {}s", s.unwrap_or_default(), timeout.as_secs()));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
