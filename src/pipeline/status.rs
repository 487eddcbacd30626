//! `status`: each cluster's health from Docker and its Flink — its containers and their state,
//! registered TaskManagers against those configured, free slots, jobs with their state, uptime,
//! restarts and last checkpoint — read from the state (where each JobManager's REST URL is
//! recorded), one filtered container list and Flink's REST API; nothing is changed.

use crate::address::{Address, Key};
use crate::flink::rest::{Checkpoints, FlinkRest};
use crate::model::Kind;
use crate::observe::Snapshot;
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
    /// TaskManagers the state records for the cluster (what was applied).
    pub taskmanagers_expected: u64,
    pub slots_total: u64,
    pub slots_available: u64,
    pub containers: Vec<ContainerStatus>,
    pub jobs: Vec<JobStatus>,
}

/// A container of the cluster as Docker lists it.
#[derive(Debug, Serialize)]
pub struct ContainerStatus {
    pub address: String,
    pub name: String,
    /// Docker's state (`running`, `restarting`, `exited`, …), `missing` when it is gone, or
    /// `unknown` when the engine did not answer. A swarm service's: `2/2 running`.
    pub state: String,
    /// A swarm service's: the node each running task is on, by slot.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct JobStatus {
    /// The job's address when flinkform manages it.
    pub address: Option<String>,
    pub jid: String,
    pub name: String,
    pub state: String,
    /// How long it has run (Flink's `duration`), in milliseconds.
    pub duration_ms: Option<u64>,
    pub restarts: Option<u64>,
    pub checkpoints: Checkpoints,
}

/// Every cluster recorded in the state, as Docker and its Flink report it now.
pub async fn status(dir: &Path) -> Result<Vec<ClusterStatus>, Report> {
    let settings = crate::config::settings(dir, &Default::default()).map_err(Report::new)?;
    let state = super::read_state(&super::location(dir, &settings))?;
    let live = containers(settings.docker_host.as_deref(), &settings.project, settings.engine).await;
    let mut out = Vec::new();
    for (cluster, urls) in clusters(&state) {
        let mut status = None;
        // The first JobManager that answers (with HA, a standby answers for the leader).
        for url in &urls {
            let rest = super::tls::status_client(settings.docker_host.as_deref(), &state, &cluster, url.clone()).await;
            let s = cluster_status(&state, cluster.clone(), url.clone(), rest).await;
            let answered = s.unreachable.is_none();
            status = Some(s);
            if answered {
                break;
            }
        }
        let Some(mut status) = status else { continue };
        status.containers = containers_of(&state, &cluster, live.as_ref());
        status.taskmanagers_expected = state
            .resources
            .iter()
            .filter(|r| {
                Address::parse(&r.address).is_ok_and(|a| {
                    a.cluster().is_some_and(|c| c.to_string() == cluster) && a.role() == Some("taskmanager")
                })
            })
            // A swarm's TaskManagers are one service of `replicas` tasks.
            .map(|r| match r.kind {
                Kind::Service => r.attributes.get("replicas").and_then(|n| n.parse().ok()).unwrap_or(0),
                _ => 1,
            })
            .sum();
        out.push(status);
    }
    Ok(out)
}

/// The project's containers as one filtered list shows them (on a swarm, its services, with the
/// names of the nodes their tasks run on); None when the engine does not answer.
async fn containers(docker_host: Option<&str>, project: &str, engine: crate::config::EngineKind) -> Option<Snapshot> {
    let docker = crate::docker::connect(docker_host).await.ok()?;
    let from = crate::observe::docker::Source::of(&docker);
    let mut live =
        crate::observe::docker::list(from, crate::observe::docker::Selection::Labelled { project }, true).await.ok()?;
    if engine == crate::config::EngineKind::Swarm {
        for s in crate::observe::swarm::list(crate::docker::via::Via::of(&docker), project).await.ok()? {
            live.objects.insert((s.kind, s.name.clone()), s);
        }
    }
    Some(live)
}

fn containers_of(state: &State, cluster: &str, live: Option<&Snapshot>) -> Vec<ContainerStatus> {
    state
        .resources
        .iter()
        .filter(|r| matches!(r.kind, Kind::Container | Kind::Service))
        .filter(|r| Address::parse(&r.address).is_ok_and(|a| a.cluster().is_some_and(|c| c.to_string() == cluster)))
        .map(|r| {
            let seen = live.map(|l| l.get(r.kind, &r.name));
            ContainerStatus {
                address: r.address.clone(),
                name: r.name.clone(),
                state: match seen {
                    None => "unknown".into(),
                    Some(o) => o.map(|o| o.state.clone()).unwrap_or_else(|| "missing".into()),
                },
                nodes: seen.flatten().map(|o| o.nodes.clone()).unwrap_or_default(),
            }
        })
        .collect()
}

/// Each cluster's JobManagers' REST URLs, the first JobManager's first, by cluster address.
fn clusters(state: &State) -> Vec<(String, Vec<String>)> {
    let mut out: std::collections::BTreeMap<String, Vec<(u64, String)>> = Default::default();
    for r in &state.resources {
        let Ok(a) = Address::parse(&r.address) else { continue };
        let (Some(cluster), Some(url)) = (a.cluster(), r.rest_url.clone()) else { continue };
        if a.role() != Some("jobmanager") {
            continue;
        }
        let index = match a.part.as_ref().and_then(|p| p.key.clone()) {
            Some(Key::Index(i)) => i,
            _ => 0,
        };
        out.entry(cluster.to_string()).or_default().push((index, url));
    }
    out.into_iter()
        .map(|(cluster, mut urls)| {
            urls.sort();
            (cluster, urls.into_iter().map(|(_, u)| u).collect())
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
        taskmanagers_expected: 0,
        slots_total: 0,
        slots_available: 0,
        containers: Vec::new(),
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
        let duration_ms = j.duration.and_then(|d| u64::try_from(d).ok());
        status.jobs.push(JobStatus {
            address,
            jid: j.jid,
            name: j.name,
            state: j.state,
            duration_ms,
            restarts,
            checkpoints,
        });
    }
    status
}
