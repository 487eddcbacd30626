//! A swarm's observation, beside the engine's own lists (networks, volumes, containers): the
//! project's services and their running tasks, one list call each, as live objects. A task
//! the swarm moved to another node is the same service, so it is not drift; a service scaled
//! outside flinkform is (its replicas differ from what the state recorded).

use super::LiveObject;
use crate::docker::{DockerError, Engine, swarm};
use crate::model::Kind;

/// The project's services, as live objects: running while every replica has a running task.
pub async fn list(engine: &Engine, project: &str) -> Result<Vec<LiveObject>, DockerError> {
    Ok(swarm::list(engine, project).await?.into_iter().map(live).collect())
}

fn live(s: swarm::LiveService) -> LiveObject {
    let running = s.tasks.len() as u64;
    // The first running task's published ports (a JobManager's service has one task).
    let ports = s.tasks.first().map(|t| t.ports.clone()).unwrap_or_default();
    LiveObject {
        kind: Kind::Service,
        id: s.id,
        name: s.name,
        labels: s.labels,
        running: running >= s.replicas,
        state: format!("{running}/{} running", s.replicas),
        image_id: None,
        ports,
        replicas: Some(s.replicas),
        nodes: s.tasks.into_iter().map(|t| t.node).collect(),
        rolling: s.rolling,
    }
}
