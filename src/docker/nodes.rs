//! A swarm's nodes as flinkform needs them: each node's hostname (what `status` shows, as
//! `docker node ls` does) and the address at which a task's published ports are reached from
//! here. A task on this engine's own node is reached through loopback; a task on another node
//! at that node's address (a port published in `host` mode listens on the node that runs the
//! task, nowhere else). See docs/ARCHITECTURE.md, "Swarm".

use super::DockerError;
use super::via::Via;
use std::collections::BTreeMap;

/// The swarm's nodes, seen from this engine.
#[derive(Debug, Clone, Default)]
pub struct Nodes {
    /// This engine's node id.
    pub local: String,
    /// Node id → what is known of it.
    pub nodes: BTreeMap<String, Node>,
}

#[derive(Debug, Clone, Default)]
pub struct Node {
    pub hostname: String,
    /// The address its engine joined the swarm with; None when the swarm does not say.
    pub addr: Option<String>,
}

impl Nodes {
    /// The node list, and this engine's node id: in a swarm of one node that node's, else
    /// asked of the engine (`info`, slower than every list: only when there is a choice).
    pub async fn list(via: Via<'_>) -> Result<Nodes, DockerError> {
        let listed: Vec<bollard::models::Node> =
            via.get("listing nodes", "/nodes", &[], |d| d.list_nodes(None)).await?;
        let nodes: BTreeMap<String, Node> = listed
            .into_iter()
            .filter_map(|n| {
                let addr = address(&n);
                let hostname = n.description.and_then(|d| d.hostname).unwrap_or_default();
                Some((n.id?, Node { hostname, addr }))
            })
            .collect();
        let local = match nodes.keys().collect::<Vec<_>>()[..] {
            [only] => Some(only.clone()),
            _ => {
                let info: bollard::models::SystemInfo =
                    via.get("reading the engine's swarm node", "/info", &[], |d| d.info()).await?;
                info.swarm.and_then(|s| s.node_id)
            }
        };
        Ok(Nodes { local: local.unwrap_or_default(), nodes })
    }

    /// Where a task on `node` publishes its ports, seen from here: None on this engine's node
    /// (loopback), else the node's address (None too when the swarm does not know it).
    pub fn reach(&self, node: &str) -> Option<String> {
        if node == self.local {
            return None;
        }
        self.nodes.get(node).and_then(|n| n.addr.clone())
    }

    /// The node's hostname, or its id when it is not known.
    pub fn hostname<'a>(&'a self, node: &'a str) -> &'a str {
        self.nodes.get(node).map(|n| n.hostname.as_str()).filter(|h| !h.is_empty()).unwrap_or(node)
    }
}

/// A node's address: its status's, or — where a manager's status says `0.0.0.0` (the engine
/// reports so when it listens on every interface) — the one it advertises to other managers.
fn address(n: &bollard::models::Node) -> Option<String> {
    let status = n.status.as_ref().and_then(|s| s.addr.clone()).filter(|a| usable(a));
    status.or_else(|| {
        let advertised = n.manager_status.as_ref()?.addr.as_deref()?;
        let host = advertised.rsplit_once(':').map_or(advertised, |(h, _)| h);
        let host = host.trim_start_matches('[').trim_end_matches(']');
        usable(host).then(|| host.to_string())
    })
}

fn usable(addr: &str) -> bool {
    addr.parse::<std::net::IpAddr>().is_ok_and(|ip| !ip.is_unspecified())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{ManagerStatus, Node as ApiNode, NodeStatus};

    fn node(status: &str, manager: Option<&str>) -> ApiNode {
        ApiNode {
            status: Some(NodeStatus { addr: Some(status.into()), ..Default::default() }),
            manager_status: manager.map(|m| ManagerStatus { addr: Some(m.into()), ..Default::default() }),
            ..Default::default()
        }
    }

    #[test]
    fn a_managers_unspecified_status_address_falls_back_to_its_advertised_one() {
        assert_eq!(address(&node("10.0.0.2", None)).as_deref(), Some("10.0.0.2"));
        assert_eq!(address(&node("0.0.0.0", Some("10.0.0.1:2377"))).as_deref(), Some("10.0.0.1"));
        assert_eq!(address(&node("0.0.0.0", Some("[fd00::1]:2377"))).as_deref(), Some("fd00::1"));
        assert_eq!(address(&node("0.0.0.0", None)), None);
    }

    #[test]
    fn a_task_on_this_engines_node_is_reached_through_loopback() {
        let nodes = Nodes {
            local: "a".into(),
            nodes: BTreeMap::from([
                ("a".into(), Node { hostname: "vm".into(), addr: Some("10.0.0.1".into()) }),
                ("b".into(), Node { hostname: "w1".into(), addr: Some("10.0.0.2".into()) }),
            ]),
        };
        assert_eq!(nodes.reach("a"), None);
        assert_eq!(nodes.reach("b").as_deref(), Some("10.0.0.2"));
        assert_eq!((nodes.hostname("b"), nodes.hostname("c")), ("w1", "c"));
    }
}
