//! Warnings: what a valid configuration does that its author may not mean, named with the
//! place and the safer way (Terraform prints such findings beside a plan). Derived from the
//! loaded, typed configuration, so they cost nothing while it is evaluated.

use super::Config;

/// One finding: `file:line:col: what`, and how to do it safely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub message: String,
    pub help: String,
}

/// An address that accepts connections from every interface of the host.
fn is_wildcard(ip: &str) -> bool {
    ip.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_unspecified())
}

/// On a swarm: REST reachable from the network, and Flink's durable directories on the local
/// data volume (each node has its own: a task restarted on another node finds nothing there).
fn swarm_warnings(config: &Config, c: &super::Cluster) -> Vec<Warning> {
    let at = config.sources.position(&c.loc);
    let mut out = vec![Warning {
        message: format!(
            "{at}: {} on a swarm publishes Flink's REST API on every interface of its JobManagers' nodes (a swarm has no per-port host address)",
            c.address
        ),
        help: "keep the nodes' REST port behind a firewall, or reach it through an SSH tunnel".into(),
    }];
    let mut dirs: Vec<(&str, String)> = [
        "state.checkpoints.dir",
        "state.savepoints.dir",
        "execution.checkpointing.dir",
        "execution.checkpointing.savepoint-dir",
    ]
    .into_iter()
    .filter_map(|k| Some((k, c.flink_config.get(k)?.clone())))
    .collect();
    if let Some(ha) = &c.high_availability {
        dirs.push(("high_availability.storage_dir", ha.storage_dir.clone()));
    }
    for (key, dir) in dirs.into_iter().filter(|(_, d)| d.trim_start_matches("file://").starts_with("/flink-data")) {
        out.push(Warning {
            message: format!(
                "{at}: {} keeps {key} = \"{dir}\" on its data volume, which a swarm creates on each node separately: a task that runs or restarts on another node does not find it",
                c.address
            ),
            help: "point it at a directory every node shares (a bind mount of a shared path, e.g. `volumes = [\"/srv/flink:/flink-shared\"]` with `allow_host_access = true`, or an object store), or keep the cluster on one node with `placement` constraints".into(),
        });
    }
    out
}

/// Every warning, sorted by where it is.
pub fn warnings(config: &Config) -> Vec<Warning> {
    let mut out = Vec::new();
    for c in config.clusters.values().filter(|c| is_wildcard(&c.jobmanager.rest_bind)) {
        out.push(Warning {
            message: format!(
                "{}: {} publishes Flink's REST API on every interface (rest_bind = \"{}\"): anyone who reaches this host can upload a jar and run it",
                config.sources.position(&c.loc),
                c.address,
                c.jobmanager.rest_bind
            ),
            help: "bind 127.0.0.1 (the default) and reach it through an SSH tunnel or a reverse proxy with authentication"
                .into(),
        });
    }
    for c in config.containers.values() {
        for p in c.ports.iter().filter(|p| is_wildcard(&p.host_ip)) {
            out.push(Warning {
                message: format!(
                    "{}: {} publishes port {}/{} on every interface ({}): it is reachable from the network",
                    config.sources.position(&c.loc),
                    c.address,
                    p.container_port,
                    p.protocol,
                    p.host_ip
                ),
                help: "leave the address out (\"9000:9000\" publishes on 127.0.0.1) unless other hosts must connect"
                    .into(),
            });
        }
    }
    if config.settings.engine == super::EngineKind::Swarm {
        out.extend(config.clusters.values().flat_map(|c| swarm_warnings(config, c)));
    }
    out.sort_by(|a, b| a.message.cmp(&b.message));
    out.dedup();
    out
}
