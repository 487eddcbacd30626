//! A swarm's observation, beside the engine's own lists (networks, volumes, containers): the
//! project's services and their running tasks, one list call each, as live objects. A task
//! the swarm moved to another node is the same service, so it is not drift; a service scaled
//! outside flinkform is (its replicas differ from what the state recorded). A service's
//! published ports are reached where its first task runs: the node list says at which address.

use super::LiveObject;
use crate::docker::nodes::Nodes;
use crate::docker::{DockerError, Engine, swarm};
use crate::model::Kind;

/// The project's services, as live objects: running while every replica has a running task.
pub async fn list(engine: &Engine, project: &str) -> Result<Vec<LiveObject>, DockerError> {
    let (services, nodes) = swarm::list(engine, project).await?;
    Ok(services.into_iter().map(|s| live(s, &nodes)).collect())
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
    }
}
