//! A small client for the Flink REST API (`/overview`, `/taskmanagers`, `/jobmanager/config`).

use serde::Deserialize;
use std::time::Duration;

#[derive(Debug, Clone, Deserialize)]
pub struct Overview {
    pub taskmanagers: u64,
    #[serde(rename = "slots-total")]
    pub slots_total: u64,
    #[serde(rename = "flink-version")]
    pub flink_version: String,
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

#[derive(Debug, thiserror::Error)]
pub enum RestError {
    #[error("Flink REST at {url}: {source}")]
    Http { url: String, source: reqwest::Error },
    #[error("Flink REST at {url} answered {status}")]
    Status { url: String, status: u16 },
}

/// Talks to one JobManager's REST endpoint (`http://host:port`).
#[derive(Debug, Clone)]
pub struct FlinkRest {
    base: String,
    http: reqwest::Client,
}

impl FlinkRest {
    pub fn new(base: impl Into<String>) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .expect("a reqwest client with only a timeout set always builds");
        FlinkRest { base: base.into(), http }
    }

    async fn get<T: for<'de> Deserialize<'de>>(&self, path: &str) -> Result<T, RestError> {
        let url = format!("{}{path}", self.base);
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
