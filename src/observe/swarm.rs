//! A swarm's observation, beside the engine's own lists (networks, volumes, containers): the
//! project's services and their running tasks, one list call each, as live objects. A task
//! the swarm moved to another node is the same service, so it is not drift; a service scaled
//! outside flinkform is (its replicas differ from what the state recorded). A service's
//! published ports are reached where its first task runs: the node list says at which address.

use super::LiveObject;
use crate::docker::nodes::Nodes;
use crate::docker::{DockerError, swarm};
use crate::model::Kind;

/// The project's services, as live objects: running while every replica has a running task.
pub async fn list(via: crate::docker::via::Via<'_>, project: &str) -> Result<Vec<LiveObject>, DockerError> {
    let listed = swarm::list(via, project).await?;
    let services = listed.services.into_iter().map(|s| live(s, &listed.nodes));
    Ok(services.chain(listed.unused_secrets.into_iter().map(unused_secret)).collect())
}

/// A secret no service mounts, at an address of its own (its labels name its service's).
pub fn unused_secret(s: crate::docker::secrets::LiveSecret) -> LiveObject {
    let mut labels = s.labels;
    labels.insert(crate::names::LABEL_ADDRESS.into(), secret_address(&s.name));
    LiveObject {
        kind: Kind::Secret,
        id: s.id,
        name: s.name,
        labels,
        running: false,
        state: "unused".into(),
        image_id: None,
        ports: Default::default(),
        host: None,
        replicas: None,
        nodes: Vec::new(),
        rolling: None,
        changed_outside: Vec::new(),
    }
}

/// `secret.<name>`: a name's dots (a project's name may have some) become `_`, as an address
/// step's name has none.
fn secret_address(name: &str) -> String {
    format!("secret.{}", name.replace('.', "_"))
}

fn live(s: swarm::LiveService, nodes: &Nodes) -> LiveObject {
    let running = s.tasks.len() as u64;
    // The first running task's published ports (a JobManager's service has one task).
    let ports = s.tasks.first().map(|t| t.ports.clone()).unwrap_or_default();
    let host = s.tasks.first().and_then(|t| nodes.reach(&t.node));
    LiveObject {
        kind: Kind::Service,
        id: s.id,
        name: s.name,
        labels: s.labels,
        running: running >= s.replicas,
        state: format!("{running}/{} running", s.replicas),
        image_id: None,
        ports,
        host,
        replicas: Some(s.replicas),
        nodes: s.tasks.iter().map(|t| nodes.hostname(&t.node).to_string()).collect(),
        rolling: s.rolling,
        changed_outside: s.changed_outside,
    }
}
