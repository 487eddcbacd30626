//! Observation: one snapshot of what is live — the engine's objects of every kind, the ids of
//! the images the configuration uses, and Flink's view of the jobs — taken once, before
//! planning, and never asked again while the plan is computed (Docker Compose's observed state
//! is the model). An engine provides it through [`Observation`]; today's is [`docker`]'s.
//! See docs/ARCHITECTURE.md, "Observation".

pub mod docker;
pub mod jobs;
pub mod swarm;

use crate::model::Desired;
use crate::names::{LABEL_ADDRESS, LABEL_HASH, LABEL_MANAGED, LABEL_PROJECT};
use std::collections::BTreeMap;
use std::future::Future;

/// What the configuration wants: it completes an observation started before it was known.
pub struct Wanted<'a> {
    pub project: &'a str,
    pub desired: &'a Desired,
    /// The state's masker: the TLS root of a cluster whose REST API speaks TLS.
    pub masker: &'a crate::model::sensitive::Masker,
    /// Clusters that run jobs flinkform manages (their jobs are asked of Flink).
    pub job_clusters: Vec<&'a str>,
    /// The state records containers (on a swarm: left from `engine = "docker"`).
    pub recorded_containers: bool,
}

/// An observation in flight, started by its engine as soon as the project is known (so the
/// engine's lists run while the configuration is still being evaluated). What a second engine
/// implements, beside the executor's operations.
pub trait Observation: Send + Sized {
    /// The connected engine the executor then acts on.
    type Engine;
    /// Completes the snapshot for `wanted` (objects holding a wanted name that the first lists
    /// did not show, the images' ids), Flink's jobs aside.
    fn finish(self, wanted: &Wanted<'_>)
    -> impl Future<Output = Result<(Self::Engine, Snapshot), ObserveError>> + Send;
}

/// Why an observation failed.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ObserveError {
    #[error(transparent)]
    Engine(#[from] crate::docker::DockerError),
    #[error("internal: the observation ended abnormally ({0})")]
    Lost(String),
}

/// Completes `observation` and adds Flink's view of the jobs: the whole snapshot.
pub async fn finish<O: Observation>(
    observation: O,
    wanted: &Wanted<'_>,
) -> Result<(O::Engine, Snapshot), ObserveError> {
    let (engine, mut snapshot) = observation.finish(wanted).await?;
    snapshot.jobs = jobs::observe(&wanted.job_clusters, wanted, &snapshot).await;
    tracing::debug!(objects = snapshot.objects.len(), clusters = snapshot.jobs.len(), "observed");
    Ok((engine, snapshot))
}

/// A live Docker object whose name is one flinkform may want, or that carries the project's labels.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveObject {
    pub kind: crate::model::Kind,
    pub id: String,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// Containers only: running (or restarting) rather than created/exited.
    pub running: bool,
    pub state: String,
    pub image_id: Option<String>,
    /// "8081/tcp" → host port.
    pub ports: BTreeMap<String, u16>,
    /// Where those ports are published when not on this engine's host: the node that runs a
    /// swarm service's task (None: reached through the bind address, loopback for a wildcard).
    pub host: Option<String>,
    /// Swarm services: the replicas their spec asks for (None for every other kind).
    pub replicas: Option<u64>,
    /// Swarm services: the hostname of each running task's node, by slot.
    pub nodes: Vec<String>,
    /// Swarm services: the update settings their spec holds, when flinkform's kind.
    pub rolling: Option<crate::config::RollingUpdate>,
    /// Swarm services: the fields of their spec changed since flinkform sent it.
    pub changed_outside: Vec<String>,
}

impl LiveObject {
    pub fn managed_by(&self, project: &str) -> bool {
        self.labels.get(LABEL_MANAGED).is_some_and(|v| v == "true")
            && self.labels.get(LABEL_PROJECT).is_some_and(|p| p == project)
    }
    /// Made for this project by the state with `lineage` (another directory with the same
    /// project name has a state of its own, and its objects are never this one's).
    pub fn owned_by(&self, project: &str, lineage: &str) -> bool {
        self.managed_by(project) && !lineage.is_empty() && self.lineage() == Some(lineage)
    }
    pub fn lineage(&self) -> Option<&str> {
        self.labels.get(crate::names::LABEL_LINEAGE).map(String::as_str)
    }
    pub fn address(&self) -> Option<&str> {
        self.labels.get(LABEL_ADDRESS).map(String::as_str)
    }
    pub fn config_hash(&self) -> Option<&str> {
        self.labels.get(LABEL_HASH).map(String::as_str)
    }
}

/// Everything observed, by Docker name.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub objects: BTreeMap<(crate::model::Kind, String), LiveObject>,
    /// Local image reference → image id, for the images the configuration uses.
    pub images: BTreeMap<String, String>,
    /// Flink's view, per cluster: job id → state; None when the cluster's REST API did not answer.
    pub jobs: BTreeMap<String, Option<BTreeMap<String, String>>>,
}

impl Snapshot {
    pub fn get(&self, kind: crate::model::Kind, name: &str) -> Option<&LiveObject> {
        self.objects.get(&(kind, name.to_string()))
    }
}

impl Snapshot {
    /// What the state says is live, for planning without asking Docker (`--refresh=false`).
    pub fn from_state(state: &crate::state::State, project: &str) -> Snapshot {
        use crate::model::Kind;
        let mut live = Snapshot::default();
        for r in &state.resources {
            if r.kind == Kind::Job {
                let cluster = r.job.as_ref().map(|j| j.cluster.clone()).unwrap_or_default();
                let jobs = live.jobs.entry(cluster).or_insert_with(|| Some(BTreeMap::new()));
                if !r.suspended()
                    && let Some(j) = jobs.as_mut()
                {
                    j.insert(r.id.clone(), "RUNNING".into());
                }
                continue;
            }
            let labels = BTreeMap::from([
                (LABEL_MANAGED.to_string(), "true".to_string()),
                (LABEL_PROJECT.to_string(), project.to_string()),
                (LABEL_ADDRESS.to_string(), r.address.clone()),
                (LABEL_HASH.to_string(), r.config_hash.clone()),
                (crate::names::LABEL_LINEAGE.to_string(), state.lineage.clone()),
            ]);
            live.objects.insert(
                (r.kind, r.name.clone()),
                LiveObject {
                    kind: r.kind,
                    id: r.id.clone(),
                    name: r.name.clone(),
                    labels,
                    running: true,
                    state: "running".into(),
                    image_id: None,
                    ports: r.ports.clone(),
                    host: None,
                    replicas: (r.kind == Kind::Service).then(|| r.attributes.get("replicas")?.parse().ok()).flatten(),
                    nodes: Vec::new(),
                    rolling: None,
                    changed_outside: Vec::new(),
                },
            );
        }
        live
    }
}
