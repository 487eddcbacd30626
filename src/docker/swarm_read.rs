//! What flinkform reads of the swarm's task and service lists, in the engine's field names: a
//! task's service, slot, node, state and published ports; a service's id and spec. The rest of
//! each entry (a task's full spec and network attachments, a service's endpoint and status) is
//! skipped unparsed: a no-op plan of a hundred services reads both lists on its critical path.
//! Through bollard (TLS, ssh) the same is taken from bollard's models.

use bollard::models::EndpointPortConfig;
use serde::Deserialize;
use std::collections::BTreeMap;

/// A `GET /tasks` entry.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Task {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "ServiceID")]
    pub service_id: String,
    #[serde(rename = "NodeID")]
    pub node_id: String,
    pub slot: i64,
    pub status: TaskStatus,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TaskStatus {
    pub state: String,
    pub port_status: PortStatus,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PortStatus {
    pub ports: Option<Vec<EndpointPortConfig>>,
}

impl From<bollard::models::Task> for Task {
    fn from(t: bollard::models::Task) -> Task {
        let status = t.status.unwrap_or_default();
        Task {
            id: t.id.unwrap_or_default(),
            service_id: t.service_id.unwrap_or_default(),
            node_id: t.node_id.unwrap_or_default(),
            slot: t.slot.unwrap_or_default(),
            status: TaskStatus {
                state: status.state.map(|s| s.to_string()).unwrap_or_default(),
                port_status: PortStatus { ports: status.port_status.and_then(|p| p.ports) },
            },
        }
    }
}

/// A `GET /services` entry.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Service {
    #[serde(rename = "ID")]
    pub id: String,
    pub spec: bollard::models::ServiceSpec,
}

impl From<bollard::models::Service> for Service {
    fn from(s: bollard::models::Service) -> Service {
        Service { id: s.id.unwrap_or_default(), spec: s.spec.unwrap_or_default() }
    }
}

/// A running task: where it runs and what it publishes there ("8081/tcp" → port).
#[derive(Debug, Clone)]
pub struct LiveTask {
    pub id: String,
    pub slot: u64,
    pub node: String,
    pub ports: BTreeMap<String, u16>,
}

/// Running tasks by service id, each service's by slot.
pub fn running_by_service(tasks: Vec<Task>) -> BTreeMap<String, Vec<LiveTask>> {
    let mut by_service: BTreeMap<String, Vec<LiveTask>> = BTreeMap::new();
    for t in tasks.into_iter().filter(|t| t.status.state == "running") {
        let ports = t
            .status
            .port_status
            .ports
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| {
                let proto = p.protocol.map(|p| p.to_string()).unwrap_or_else(|| "tcp".into());
                Some((format!("{}/{proto}", p.target_port?), u16::try_from(p.published_port?).ok()?))
            })
            .collect();
        let task = LiveTask { id: t.id, slot: t.slot.max(0) as u64, node: t.node_id, ports };
        by_service.entry(t.service_id).or_default().push(task);
    }
    for tasks in by_service.values_mut() {
        tasks.sort_by_key(|t| t.slot);
    }
    by_service
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the engine (20.10) sends for a task, cut down: the fields read, and some skipped.
    const TASKS: &str = r#"[
      {"ID":"t2","Version":{"Index":9},"Spec":{"ContainerSpec":{"Image":"x","Env":["A=1"]}},
       "ServiceID":"s1","Slot":2,"NodeID":"n1","Status":{"Timestamp":"2026-12-04T00:00:00Z","State":"running",
       "ContainerStatus":{"ContainerID":"c","PID":1},"PortStatus":{"Ports":[{"Protocol":"tcp","TargetPort":8081,
       "PublishedPort":30001,"PublishMode":"host"}]}},"DesiredState":"running","NetworksAttachments":[{"Network":{}}]},
      {"ID":"t1","ServiceID":"s1","Slot":1,"NodeID":"n2","Status":{"State":"running","PortStatus":{}}},
      {"ID":"t3","ServiceID":"s1","Slot":3,"NodeID":"n2","Status":{"State":"preparing","PortStatus":{}}}
    ]"#;

    #[test]
    fn a_task_entry_keeps_what_flinkform_reads_and_only_running_tasks_count() {
        let tasks: Vec<Task> = serde_json::from_str(TASKS).unwrap();
        let running = running_by_service(tasks);
        let s1 = &running["s1"];
        assert_eq!(
            s1.iter().map(|t| (t.id.as_str(), t.slot, t.node.as_str())).collect::<Vec<_>>(),
            [("t1", 1, "n2"), ("t2", 2, "n1")]
        );
        assert_eq!(s1[1].ports, BTreeMap::from([("8081/tcp".to_string(), 30001)]));
        assert!(s1[0].ports.is_empty());
    }

    #[test]
    fn bollard_s_models_read_the_same() {
        let full: Vec<bollard::models::Task> = serde_json::from_str(TASKS).unwrap();
        let from_models = running_by_service(full.into_iter().map(Task::from).collect());
        let slim = running_by_service(serde_json::from_str(TASKS).unwrap());
        assert_eq!(format!("{from_models:?}"), format!("{slim:?}"));
        let service = r#"[{"ID":"s1","Version":{"Index":3},"Spec":{"Name":"p-c","Labels":{"k":"v"}},"Endpoint":{}}]"#;
        let full: Vec<bollard::models::Service> = serde_json::from_str(service).unwrap();
        let slim: Vec<Service> = serde_json::from_str(service).unwrap();
        let from_model = Service::from(full.into_iter().next().unwrap());
        assert_eq!((from_model.id, from_model.spec), (slim[0].id.clone(), slim[0].spec.clone()));
    }
}
