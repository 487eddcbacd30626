//! A small client for the Flink REST API (`/overview`, `/taskmanagers`, `/jobmanager/config`).

use super::client_tls::{client_config, install_crypto};
use crate::tls::ClientIdentity;
use serde::Deserialize;
use std::time::Duration;

/// How long a jar upload or a job submission may take (Flink runs the job's `main` first).
const LONG: Duration = Duration::from_secs(120);

#[derive(Debug, Clone, Deserialize)]
pub struct Overview {
    pub taskmanagers: u64,
    #[serde(rename = "slots-total")]
    pub slots_total: u64,
    #[serde(rename = "slots-available", default)]
    pub slots_available: u64,
    #[serde(rename = "flink-version")]
    pub flink_version: String,
}

/// A job's checkpoint counts and its latest completed checkpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Checkpoints {
    pub completed: u64,
    pub failed: u64,
    pub latest_id: Option<u64>,
    /// When the latest completed (milliseconds since the epoch).
    pub latest_completed_ms: Option<u64>,
    /// Where the latest completed checkpoint is (what `last-state` restores from).
    pub latest_path: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TaskManagerInfo {
    pub id: String,
    /// RPC address, e.g. `pekko.tcp://flink@172.18.0.4:37007/user/rpc/taskmanager_0`.
    #[serde(default)]
    pub path: String,
    #[serde(rename = "slotsNumber", default)]
    pub slots: u64,
}

#[derive(Debug, Deserialize)]
struct TaskManagers {
    taskmanagers: Vec<TaskManagerInfo>,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum RestError {
    #[error("Flink REST at {url}: {detail}")]
    Tls { url: String, detail: String },
    #[error("Flink REST at {url}: {source}")]
    Http { url: String, source: reqwest::Error },
    #[error("Flink REST at {url} answered {status}")]
    Status { url: String, status: u16 },
    #[error("Flink REST at {url} answered {status}: {detail}")]
    Failed { url: String, status: u16, detail: String },
    /// A savepoint Flink aborted because the job was failing over (a TaskManager lost, tasks
    /// restarting): it succeeds once the job runs again.
    #[error("Flink REST at {url} answered 200: the savepoint was aborted by a failover: {detail}")]
    SavepointAborted { url: String, detail: String },
}

/// Flink's checkpoint failure reasons (`CheckpointFailureReason`) that a failover causes.
const FAILOVER_REASONS: &[&str] = &[
    "Checkpoint Coordinator is suspending",
    "Trigger checkpoint failure",
    "Not all required tasks are currently running",
    "Checkpoint was declined (tasks not ready)",
    "Task has failed",
    "The job has failed",
];

/// Talks to one JobManager's REST endpoint (`http://host:port`).
#[derive(Debug, Clone)]
pub struct FlinkRest {
    base: String,
    http: reqwest::Client,
}

impl FlinkRest {
    pub fn new(base: impl Into<String>) -> Self {
        install_crypto();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .expect("a reqwest client with only a timeout set always builds");
        FlinkRest { base: base.into(), http }
    }

    /// A client for a cluster with mutual TLS: it trusts only the cluster's REST authority and
    /// presents flinkform's client certificate (`https://` URLs).
    pub fn with_tls(base: impl Into<String>, identity: &ClientIdentity) -> Result<Self, RestError> {
        let base = base.into();
        let bad = |what: &str, e: String| RestError::Tls { url: base.clone(), detail: format!("{what}: {e}") };
        let config = client_config(identity).map_err(|e| bad("the cluster's TLS material", e))?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .tls_backend_preconfigured(config)
            .build()
            .map_err(|e| bad("building the client", e.to_string()))?;
        Ok(FlinkRest { base, http })
    }

    async fn get<T: for<'de> Deserialize<'de>>(&self, path: &str) -> Result<T, RestError> {
        let url = format!("{}{path}", self.base);
        tracing::trace!(url, "flink: GET");
        let resp = self.http.get(&url).send().await.map_err(|source| RestError::Http { url: url.clone(), source })?;
        if !resp.status().is_success() {
            return Err(RestError::Status { url, status: resp.status().as_u16() });
        }
        resp.json().await.map_err(|source| RestError::Http { url, source })
    }

    pub async fn overview(&self) -> Result<Overview, RestError> {
        self.get("/overview").await
    }

    /// The registered TaskManagers (flinkform sets each id to the container name).
    pub async fn taskmanagers(&self) -> Result<Vec<TaskManagerInfo>, RestError> {
        let t: TaskManagers = self.get("/taskmanagers").await?;
        Ok(t.taskmanagers)
    }
}

/// A job as `/jobs/overview` lists it.
#[derive(Debug, Clone, Deserialize)]
pub struct JobOverview {
    pub jid: String,
    pub name: String,
    pub state: String,
    /// Milliseconds since it started (or that it ran, once ended).
    #[serde(default)]
    pub duration: Option<i64>,
    #[serde(default)]
    pub tasks: TaskCounts,
}

/// How many of a job's subtasks are in which state.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct TaskCounts {
    #[serde(default)]
    pub running: u64,
    #[serde(default)]
    pub finished: u64,
    #[serde(default)]
    pub total: u64,
}

#[derive(Debug, Deserialize)]
struct JobsOverview {
    jobs: Vec<JobOverview>,
}

/// What `/jars/<id>/run` needs.
#[derive(Debug, Clone, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry_class: Option<String>,
    pub program_args_list: Vec<String>,
    pub parallelism: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub savepoint_path: Option<String>,
    pub allow_non_restored_state: bool,
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub flink_configuration: std::collections::BTreeMap<String, String>,
}

impl FlinkRest {
    pub async fn jobs(&self) -> Result<Vec<JobOverview>, RestError> {
        let o: JobsOverview = self.get("/jobs/overview").await?;
        Ok(o.jobs)
    }

    /// A job's state (RUNNING, FAILED, …), None when Flink does not know the job. Read from
    /// the jobs' overview, which the dispatcher answers afresh: `/jobs/<id>` is served from a
    /// cache that Flink refreshes every `web.refresh-interval` (3 s), so a job that finished
    /// would still look RUNNING there for up to 3 s of downtime.
    pub async fn job_state(&self, jid: &str) -> Result<Option<String>, RestError> {
        Ok(self.jobs().await?.into_iter().find(|j| j.jid == jid).map(|j| j.state))
    }

    /// Whether the job runs every subtask (a job is RUNNING before its tasks are deployed, and
    /// a savepoint needs them). A subtask that finished counts: a source with nothing to read
    /// at this parallelism ends at once. From the overview, for the reason [`Self::job_state`] says.
    pub async fn all_tasks_running(&self, jid: &str) -> Result<bool, RestError> {
        let jobs = self.jobs().await?;
        let Some(j) = jobs.iter().find(|j| j.jid == jid) else { return Ok(false) };
        let t = j.tasks;
        Ok(j.state == "RUNNING" && t.running > 0 && t.running + t.finished == t.total)
    }

    async fn send_json(&self, req: reqwest::RequestBuilder, url: String) -> Result<serde_json::Value, RestError> {
        // Bodies are not logged: a job's arguments and configuration may hold secrets.
        tracing::debug!(url, "flink: request");
        let resp = req.send().await.map_err(|source| RestError::Http { url: url.clone(), source })?;
        let status = resp.status();
        let body: serde_json::Value = resp.json().await.unwrap_or_default();
        if !status.is_success() {
            return Err(RestError::Failed { url, status: status.as_u16(), detail: error_text(&body) });
        }
        Ok(body)
    }

    /// Uploads a jar; returns Flink's jar id.
    pub async fn upload_jar(&self, file_name: &str, bytes: Vec<u8>) -> Result<String, RestError> {
        let url = format!("{}/jars/upload", self.base);
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name(file_name.to_string())
            .mime_str("application/x-java-archive")
            .expect("a constant mime type parses");
        let form = reqwest::multipart::Form::new().part("jarfile", part);
        let body = self.send_json(self.http.post(&url).timeout(LONG).multipart(form), url.clone()).await?;
        let path = body["filename"].as_str().unwrap_or_default();
        Ok(path.rsplit('/').next().unwrap_or(path).to_string())
    }

    /// Runs an uploaded jar; returns the job id.
    pub async fn run_jar(&self, jar_id: &str, req: &RunRequest) -> Result<String, RestError> {
        let url = format!("{}/jars/{jar_id}/run", self.base);
        let body = self.send_json(self.http.post(&url).timeout(LONG).json(req), url.clone()).await?;
        body["jobid"].as_str().map(str::to_string).ok_or(RestError::Failed {
            url,
            status: 200,
            detail: format!("no job id in {body}"),
        })
    }

    pub async fn delete_jar(&self, jar_id: &str) {
        let _ = self.http.delete(format!("{}/jars/{jar_id}", self.base)).send().await;
    }

    /// Stops a job with a savepoint into `target`; returns the savepoint's path.
    pub async fn stop_with_savepoint(&self, jid: &str, target: &str, timeout: Duration) -> Result<String, RestError> {
        let url = format!("{}/jobs/{jid}/stop", self.base);
        let body = serde_json::json!({ "targetDirectory": target, "drain": false });
        let resp = self.send_json(self.http.post(&url).json(&body), url.clone()).await?;
        let trigger = resp["request-id"].as_str().unwrap_or_default().to_string();
        self.await_savepoint(jid, &trigger, timeout).await
    }

    async fn await_savepoint(&self, jid: &str, trigger: &str, timeout: Duration) -> Result<String, RestError> {
        let url = format!("{}/jobs/{jid}/savepoints/{trigger}", self.base);
        let start = std::time::Instant::now();
        loop {
            let v: serde_json::Value = self.get(&format!("/jobs/{jid}/savepoints/{trigger}")).await?;
            if v["status"]["id"] == "COMPLETED" {
                if let Some(loc) = v["operation"]["location"].as_str() {
                    return Ok(loc.to_string());
                }
                let cause = v["operation"]["failure-cause"]["stack-trace"].as_str().unwrap_or("unknown cause");
                let first = cause.lines().next().unwrap_or(cause).to_string();
                if FAILOVER_REASONS.iter().any(|r| first.contains(r)) {
                    return Err(RestError::SavepointAborted { url, detail: first });
                }
                return Err(RestError::Failed { url, status: 200, detail: format!("the savepoint failed: {first}") });
            }
            if start.elapsed() > timeout {
                return Err(RestError::Failed {
                    url,
                    status: 200,
                    detail: "the savepoint did not complete in time".into(),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The path of the job's latest completed savepoint, if Flink still knows the job.
    pub async fn latest_savepoint(&self, jid: &str) -> Result<Option<String>, RestError> {
        let v: serde_json::Value = self.get(&format!("/jobs/{jid}/checkpoints")).await?;
        Ok(v["latest"]["savepoint"]["external_path"].as_str().map(str::to_string))
    }

    /// The job's checkpoints: how many completed and failed, and the latest completed one.
    pub async fn checkpoints(&self, jid: &str) -> Result<Checkpoints, RestError> {
        let v: serde_json::Value = self.get(&format!("/jobs/{jid}/checkpoints")).await?;
        let latest = &v["latest"]["completed"];
        Ok(Checkpoints {
            completed: v["counts"]["completed"].as_u64().unwrap_or(0),
            failed: v["counts"]["failed"].as_u64().unwrap_or(0),
            latest_id: latest["id"].as_u64(),
            latest_completed_ms: latest["latest_ack_timestamp"].as_u64(),
            latest_path: latest["external_path"]
                .as_str()
                .filter(|p| !p.is_empty() && *p != "<checkpoint-not-externally-addressable>")
                .map(str::to_string),
        })
    }

    /// How often the job restarted (its `numRestarts` metric), when Flink reports it.
    pub async fn restarts(&self, jid: &str) -> Result<Option<u64>, RestError> {
        let v: serde_json::Value = self.get(&format!("/jobs/{jid}/metrics?get=numRestarts")).await?;
        Ok(v[0]["value"].as_str().and_then(|n| n.parse().ok()))
    }

    /// Cancels a job (stateless upgrades and removals).
    pub async fn cancel(&self, jid: &str) -> Result<(), RestError> {
        let url = format!("{}/jobs/{jid}?mode=cancel", self.base);
        self.send_json(self.http.patch(&url), url.clone()).await.map(|_| ())
    }
}

fn error_text(body: &serde_json::Value) -> String {
    match body["errors"].as_array() {
        Some(errs) => errs
            .iter()
            .filter_map(|e| e.as_str())
            .map(|e| e.lines().next().unwrap_or(e).to_string())
            .collect::<Vec<_>>()
            .join("; "),
        None => body.to_string(),
    }
}
