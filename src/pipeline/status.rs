//! `status`: each cluster's health as its Flink reports it — registered TaskManagers, free
//! slots, jobs with their state, restarts and last checkpoint — read from the state (where each
//! JobManager's REST URL is recorded) and Flink's REST API; nothing is changed.

use crate::address::{Address, Key};
use crate::flink::rest::{Checkpoints, FlinkRest};
use crate::model::Kind;
use crate::state::State;
use miette::Report;
use serde::Serialize;
use std::path::Path;

#[derive(Debug, Serialize)]
pub struct ClusterStatus {
    pub cluster: String,
    pub rest_url: String,
    /// Why Flink could not be asked (its REST API did not answer).
    pub unreachable: Option<String>,
    pub flink_version: Option<String>,
    pub taskmanagers: u64,
    pub slots_total: u64,
    pub slots_available: u64,
    pub jobs: Vec<JobStatus>,
}

#[derive(Debug, Serialize)]
pub struct JobStatus {
    /// The job's address when flinkform manages it.
    pub address: Option<String>,
    pub jid: String,
    pub name: String,
    pub state: String,
    pub restarts: Option<u64>,
    pub checkpoints: Checkpoints,
}

/// Every cluster recorded in the state, as its Flink reports it now.
pub async fn status(dir: &Path) -> Result<Vec<ClusterStatus>, Report> {
    let settings = crate::config::settings(dir, &Default::default()).map_err(Report::new)?;
    let state = super::read_state(&super::location(dir, &settings))?;
    let mut out = Vec::new();
    for (cluster, rest_url) in clusters(&state) {
        let rest = super::tls::status_client(settings.docker_host.as_deref(), &state, &cluster, rest_url.clone()).await;
        out.push(cluster_status(&state, cluster, rest_url, rest).await);
    }
    Ok(out)
}

/// (cluster address, REST URL) of each cluster's first JobManager, by address.
fn clusters(state: &State) -> Vec<(String, String)> {
    state
        .resources
        .iter()
        .filter_map(|r| {
            let a = Address::parse(&r.address).ok()?;
            let first = a.role() == Some("jobmanager") && a.part.as_ref()?.key == Some(Key::Index(0));
            Some((a.cluster()?.to_string(), r.rest_url.clone()?)).filter(|_| first)
        })
        .collect()
}

async fn cluster_status(
    state: &State,
    cluster: String,
    rest_url: String,
    rest: Result<FlinkRest, Report>,
) -> ClusterStatus {
    let mut status = ClusterStatus {
        cluster,
        rest_url,
        unreachable: None,
        flink_version: None,
        taskmanagers: 0,
        slots_total: 0,
        slots_available: 0,
        jobs: Vec::new(),
    };
    let rest = match rest {
        Ok(rest) => rest,
        Err(e) => {
            status.unreachable = Some(e.to_string());
            return status;
        }
    };
    let overview = match rest.overview().await {
        Ok(o) => o,
        Err(e) => {
            status.unreachable = Some(e.to_string());
            return status;
        }
    };
    status.flink_version = Some(overview.flink_version);
    (status.taskmanagers, status.slots_total, status.slots_available) =
        (overview.taskmanagers, overview.slots_total, overview.slots_available);
    let mut jobs = rest.jobs().await.unwrap_or_default();
    jobs.sort_by(|a, b| (&a.name, &a.jid).cmp(&(&b.name, &b.jid)));
    for j in jobs {
        let address = state.resources.iter().find(|r| r.kind == Kind::Job && r.id == j.jid).map(|r| r.address.clone());
        let restarts = rest.restarts(&j.jid).await.ok().flatten();
        let checkpoints = rest.checkpoints(&j.jid).await.unwrap_or_default();
        status.jobs.push(JobStatus { address, jid: j.jid, name: j.name, state: j.state, restarts, checkpoints });
    }
    status
}
