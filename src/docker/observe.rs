//! One snapshot of what is live, taken once before planning: one filtered list call per object
//! kind (containers, networks, volumes), never an inspect per container.

use super::{DockerError, Engine, LABEL_HASH, LABEL_MANAGED, LABEL_PROJECT};
use bollard::models::ContainerSummaryStateEnum;
use bollard::query_parameters::{ListContainersOptionsBuilder, ListNetworksOptionsBuilder, ListVolumesOptionsBuilder};
use std::collections::{BTreeMap, HashMap};

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
}

impl LiveObject {
    pub fn managed_by(&self, project: &str) -> bool {
        self.labels.get(LABEL_MANAGED).is_some_and(|v| v == "true")
            && self.labels.get(LABEL_PROJECT).is_some_and(|p| p == project)
    }
    pub fn address(&self) -> Option<&str> {
        self.labels.get(super::LABEL_ADDRESS).map(String::as_str)
    }
    pub fn config_hash(&self) -> Option<&str> {
        self.labels.get(LABEL_HASH).map(String::as_str)
    }
}

/// Everything observed, by Docker name.
#[derive(Debug, Clone, Default)]
pub struct Live {
    pub objects: BTreeMap<(crate::model::Kind, String), LiveObject>,
    /// Local image reference → image id, for the images the configuration uses.
    pub images: BTreeMap<String, String>,
    /// Flink's view, per cluster: job id → state; None when the cluster's REST API did not answer.
    pub jobs: BTreeMap<String, Option<BTreeMap<String, String>>>,
}

impl Live {
    pub fn get(&self, kind: crate::model::Kind, name: &str) -> Option<&LiveObject> {
        self.objects.get(&(kind, name.to_string()))
    }
}

/// Which objects one [`list`] asks the engine for.
#[derive(Debug, Clone, Copy)]
pub enum Selection<'a> {
    /// Everything carrying the project's label: what flinkform made for it, whatever its name.
    /// The engine answers a label filter faster than a name filter (a regular expression): 7 ms
    /// against 12 ms for 100 containers here.
    Labelled { project: &'a str },
    /// Objects holding names flinkform wants, labelled or not, so that a conflict with a wanted
    /// name is seen: any name starting with `<prefix>` (one pattern), and each of `names`.
    Named { prefix: Option<&'a str>, names: &'a [String] },
}

impl Selection<'_> {
    /// The engine-side filter; None when nothing is asked for.
    fn filter(&self) -> Option<HashMap<&'static str, Vec<String>>> {
        match *self {
            Selection::Labelled { project } => {
                Some(HashMap::from([("label", vec![format!("{LABEL_PROJECT}={project}")])]))
            }
            Selection::Named { prefix, names } => {
                let mut patterns: Vec<String> = prefix.map(|p| format!("^/?{}", regex_escape(p))).into_iter().collect();
                patterns.extend(names.iter().map(|n| format!("^/?{}$", regex_escape(n))));
                (!patterns.is_empty()).then(|| HashMap::from([("name", patterns)]))
            }
        }
    }

    /// The engine's network name filter also matches substrings: what it returns is checked here.
    fn wants(&self, name: &str) -> bool {
        match *self {
            Selection::Labelled { .. } => true,
            Selection::Named { prefix, names } => {
                prefix.is_some_and(|p| name.starts_with(p)) || names.iter().any(|n| n == name)
            }
        }
    }
}

/// One list call per kind (containers, networks, volumes), all three at once.
pub async fn list(engine: &Engine, selection: Selection<'_>) -> Result<Live, DockerError> {
    use crate::model::Kind;
    let d = &engine.docker;
    let mut live = Live::default();
    let Some(filter) = selection.filter() else { return Ok(live) };

    let container_opts = ListContainersOptionsBuilder::new().all(true).filters(&filter).build();
    let network_opts = ListNetworksOptionsBuilder::new().filters(&filter).build();
    let volume_opts = ListVolumesOptionsBuilder::new().filters(&filter).build();
    let (containers, networks, volumes) = tokio::join!(
        d.list_containers(Some(container_opts)),
        d.list_networks(Some(network_opts)),
        d.list_volumes(Some(volume_opts)),
    );
    let containers = containers.map_err(DockerError::api("listing containers"))?;
    for c in containers {
        let name =
            c.names.as_ref().and_then(|n| n.first()).map(|n| n.trim_start_matches('/').to_string()).unwrap_or_default();
        let state = c.state.unwrap_or(ContainerSummaryStateEnum::EMPTY);
        let ports = c
            .ports
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| {
                let proto = p.typ.map(|t| t.to_string()).filter(|t| !t.is_empty()).unwrap_or_else(|| "tcp".into());
                p.public_port.map(|pp| (format!("{}/{proto}", p.private_port), pp))
            })
            .collect();
        live.objects.insert(
            (Kind::Container, name.clone()),
            LiveObject {
                kind: Kind::Container,
                id: c.id.unwrap_or_default(),
                name,
                labels: c.labels.unwrap_or_default().into_iter().collect(),
                running: matches!(state, ContainerSummaryStateEnum::RUNNING | ContainerSummaryStateEnum::RESTARTING),
                state: state.to_string(),
                image_id: c.image_id,
                ports,
            },
        );
    }

    let networks = networks.map_err(DockerError::api("listing networks"))?;
    for n in networks {
        let name = n.name.unwrap_or_default();
        if !selection.wants(&name) {
            continue;
        }
        live.objects.insert(
            (Kind::Network, name.clone()),
            simple(Kind::Network, n.id.unwrap_or_default(), name, n.labels.unwrap_or_default()),
        );
    }

    let volumes = volumes.map_err(DockerError::api("listing volumes"))?;
    for v in volumes.volumes.unwrap_or_default() {
        if !selection.wants(&v.name) {
            continue;
        }
        live.objects.insert((Kind::Volume, v.name.clone()), simple(Kind::Volume, v.name.clone(), v.name, v.labels));
    }

    Ok(live)
}

/// Local image reference → image id, for the images given (one inspect each, all at once); an
/// image that is not present is left out.
pub async fn image_ids(engine: &Engine, images: &[String]) -> BTreeMap<String, String> {
    let d = &engine.docker;
    let ids = futures_util::future::join_all(images.iter().map(|image| async move {
        let id = d.inspect_image(image).await.ok().and_then(|i| i.id);
        (image.clone(), id)
    }))
    .await;
    ids.into_iter().filter_map(|(image, id)| Some((image, id?))).collect()
}

fn simple(kind: crate::model::Kind, id: String, name: String, labels: HashMap<String, String>) -> LiveObject {
    LiveObject {
        kind,
        id,
        name,
        labels: labels.into_iter().collect(),
        running: true,
        state: String::new(),
        image_id: None,
        ports: BTreeMap::new(),
    }
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c.to_string() } else { format!("\\{c}") })
        .collect()
}

impl Live {
    /// What the state says is live, for planning without asking Docker (`--refresh=false`).
    pub fn from_state(state: &crate::state::State, project: &str) -> Live {
        use crate::model::Kind;
        let mut live = Live::default();
        for r in &state.resources {
            if r.kind == Kind::Job {
                let cluster = r.attributes.get("cluster").cloned().unwrap_or_default();
                let jobs = live.jobs.entry(cluster).or_insert_with(|| Some(BTreeMap::new()));
                if r.attributes.get("state").map(String::as_str) != Some("suspended")
                    && let Some(j) = jobs.as_mut()
                {
                    j.insert(r.id.clone(), "RUNNING".into());
                }
                continue;
            }
            let labels = BTreeMap::from([
                (LABEL_MANAGED.to_string(), "true".to_string()),
                (LABEL_PROJECT.to_string(), project.to_string()),
                (super::LABEL_ADDRESS.to_string(), r.address.clone()),
                (LABEL_HASH.to_string(), r.config_hash.clone()),
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
                },
            );
        }
        live
    }
}
