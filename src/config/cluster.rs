//! `cluster` blocks: evaluated attribute by attribute, converted to [`Cluster`] and validated the
//! way a Flink operator would (HA needs ZooKeeper and shared storage, slots ≥ 1, memory parses).

use super::diag::{ConfigError, Sources};
use super::fields::{Evaluated, Fields};
use super::types::*;

pub const DEFAULT_FLINK_IMAGE: &str = "apache/flink:2.3.0-java17";
pub const DEFAULT_ZOOKEEPER_IMAGE: &str = "zookeeper:3.8";

/// `2.3` from `apache/flink:2.3.0-java17`.
pub fn version_from_image(image: &str) -> Option<String> {
    // `name[:tag][@digest]`: a digest is never a version, and a registry's port is not a tag.
    let name = image.split('@').next()?;
    let last = name.rsplit('/').next()?;
    let tag = last.split_once(':')?.1;
    if !tag.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let mut parts = tag.split(|c: char| !c.is_ascii_digit());
    let major = parts.next().filter(|p| !p.is_empty())?;
    let minor = parts.next().filter(|p| !p.is_empty())?;
    Some(format!("{major}.{minor}"))
}

/// Converts and validates one cluster.
pub fn convert(
    address: &str,
    name: &str,
    ev: &Evaluated,
    meta: &Meta,
    sources: &Sources,
    errors: &mut Vec<ConfigError>,
) -> Cluster {
    ev.reject_sensitive(&["flink_config", "env", "args"], sources, errors);
    let mut f = Fields::new(Some(ev), sources, errors);
    let image = f.string("image").unwrap_or_else(|| DEFAULT_FLINK_IMAGE.to_string());
    let pull = f.pull();
    let flink_version = match f.string("flink_version").or_else(|| version_from_image(&image)) {
        Some(v) => v,
        None => {
            let loc = f.loc("image");
            f.fail(
                &loc,
                format!("cannot tell the Flink version from the image tag of \"{image}\""),
                "set `flink_version = \"2.3\"` in the cluster".into(),
            );
            "2.3".into()
        }
    };
    let flink_config = f.flink_settings("flink_config").unwrap_or_default();

    let full_version = super::extras::full_version_from_image(&image);
    let extras = |ev: Option<&Evaluated>, errors: &mut Vec<ConfigError>| {
        super::extras::read(ev, full_version.as_deref(), sources, errors)
    };
    let cluster_extras = extras(Some(ev), errors);
    let zookeeper = zookeeper(ev.children.get("zookeeper"), sources, errors);
    let mut jobmanager = jobmanager(ev.children.get("jobmanager"), name, zookeeper.is_some(), sources, errors);
    jobmanager.extras = extras(ev.children.get("jobmanager"), errors);
    let mut taskmanager = taskmanager(ev.children.get("taskmanager"), sources, errors);
    taskmanager.extras = extras(ev.children.get("taskmanager"), errors);
    super::extras::check_published_ports(ev, &cluster_extras, &jobmanager, &taskmanager, sources, errors);
    // Every JobManager mounts the data volume and what the cluster and its JobManagers mount.
    let mut shared = vec!["/flink-data".to_string()];
    shared.extend(cluster_extras.mounts.iter().chain(&jobmanager.extras.mounts).map(|m| m.target.clone()));
    let ha = ev.children.get("high_availability");
    let high_availability = high_availability(ha, name, zookeeper.is_some(), &shared, sources, errors);

    Cluster {
        address: address.to_string(),
        sensitive_config: ev.sensitive_settings("flink_config", flink_config.keys().cloned()),
        security: security(ev.children.get("security"), sources, errors),
        extras: cluster_extras,
        application: None,
        meta: meta.clone(),
        name: name.to_string(),
        loc: ev.loc.clone(),
        image,
        pull,
        flink_version,
        flink_config,
        zookeeper,
        jobmanager,
        taskmanager,
        high_availability,
    }
}

/// The `zookeeper` block, when there is one: an odd number of servers.
fn zookeeper(ev: Option<&Evaluated>, sources: &Sources, errors: &mut Vec<ConfigError>) -> Option<Zookeeper> {
    let mut f = Fields::new(Some(ev?), sources, errors);
    let replicas = f.whole("replicas", 1, 7).unwrap_or(1) as u32;
    if replicas.is_multiple_of(2) {
        let loc = f.loc("replicas");
        f.fail(
            &loc,
            format!("ZooKeeper needs an odd number of servers for a quorum, got {replicas}"),
            "use 1, 3 or 5 replicas".into(),
        );
    }
    Some(Zookeeper {
        replicas,
        image: f.string("image").unwrap_or_else(|| DEFAULT_ZOOKEEPER_IMAGE.to_string()),
        pull: f.pull(),
        memory: f.memory("memory").unwrap_or(Memory { mib: 512 }),
        placement: Fields::placement(Some(ev?), sources, errors),
    })
}

/// The `jobmanager` block: more than one needs ZooKeeper; the REST bind is an IP address and
/// every JobManager's REST port (`rest_port` + its index) is a port.
fn jobmanager(
    ev: Option<&Evaluated>,
    name: &str,
    has_zookeeper: bool,
    sources: &Sources,
    errors: &mut Vec<ConfigError>,
) -> JobManager {
    let mut f = Fields::new(ev, sources, errors);
    let jobmanager = JobManager {
        replicas: f.whole("replicas", 1, 9).unwrap_or(1) as u32,
        memory: f.memory("memory").unwrap_or(Memory { mib: 1600 }),
        rest_port: f.whole("rest_port", 1, 65535).map(|p| p as u16),
        rest_bind: f.string("rest_bind").unwrap_or_else(|| "127.0.0.1".into()),
        extras: FlinkExtras::default(),
        placement: Fields::placement(ev, sources, f.errors),
    };
    if jobmanager.replicas > 1 && !has_zookeeper {
        let loc = f.loc("replicas");
        f.fail(
            &loc,
            format!(
                "{} JobManagers need high availability, but cluster \"{name}\" has no ZooKeeper",
                jobmanager.replicas
            ),
            "add a `zookeeper { replicas = 1 }` block to the cluster, or set `replicas = 1`".into(),
        );
    }
    if let Some(port) = jobmanager.rest_port
        && u32::from(port) + jobmanager.replicas - 1 > 65535
    {
        let loc = f.loc("rest_port");
        f.fail(
            &loc,
            format!(
                "JobManager {} would publish REST on port {}, past 65535 (`rest_port` + its index)",
                jobmanager.replicas - 1,
                u32::from(port) + jobmanager.replicas - 1
            ),
            format!("use a `rest_port` of at most {}", 65536 - jobmanager.replicas),
        );
    }
    if jobmanager.rest_bind.parse::<std::net::IpAddr>().is_err() {
        let loc = f.loc("rest_bind");
        f.fail(
            &loc,
            format!("`rest_bind` = \"{}\" is not an IP address", jobmanager.rest_bind),
            "use \"127.0.0.1\" (the default), or the address of one of the host's interfaces".into(),
        );
    }
    jobmanager
}

fn security(ev: Option<&Evaluated>, sources: &Sources, errors: &mut Vec<ConfigError>) -> Security {
    let mut f = Fields::new(ev, sources, errors);
    let default = Security::default();
    Security {
        hardened: f.boolean("hardened").unwrap_or(default.hardened),
        pids_limit: f.whole("pids_limit", 64, 1 << 22).map_or(default.pids_limit, |n| n as i64),
        tls: f.boolean("tls").unwrap_or(default.tls),
    }
}

fn taskmanager(ev: Option<&Evaluated>, sources: &Sources, errors: &mut Vec<ConfigError>) -> TaskManager {
    let mut f = Fields::new(ev, sources, errors);
    TaskManager {
        replicas: f.whole("replicas", 0, 1000).unwrap_or(1) as u32,
        slots: f.whole("slots", 1, 1024).unwrap_or(1) as u32,
        memory: f.memory("memory").unwrap_or(Memory { mib: 1728 }),
        extras: FlinkExtras::default(),
        placement: Fields::placement(ev, sources, f.errors),
        rolling_update: Fields::rolling_update(ev, sources, f.errors),
    }
}

/// `high_availability` (implied by a `zookeeper` block): its storage shared by the JobManagers.
fn high_availability(
    ev: Option<&Evaluated>,
    name: &str,
    has_zookeeper: bool,
    shared: &[String],
    sources: &Sources,
    errors: &mut Vec<ConfigError>,
) -> Option<HighAvailability> {
    if !has_zookeeper && ev.is_none() {
        return None;
    }
    let mut f = Fields::new(ev, sources, errors);
    let ha = HighAvailability {
        storage_dir: f.string("storage_dir").unwrap_or_else(|| "file:///flink-data/ha".into()),
        cluster_id: f.string("cluster_id").unwrap_or_else(|| name.to_string()),
        session_timeout_ms: f.whole("session_timeout", 1000, 600_000).unwrap_or(15_000),
    };
    let under = |path: &str, dir: &str| path.strip_prefix(dir).is_some_and(|rest| rest.starts_with('/'));
    if let Some(path) = ha.storage_dir.strip_prefix("file://")
        && !shared.iter().any(|dir| under(path, dir.trim_end_matches('/')))
    {
        let loc = f.loc("storage_dir");
        f.fail(
            &loc,
            format!("HA storage dir \"{}\" is not shared between the JobManagers", ha.storage_dir),
            "put it on the cluster's data volume (file:///flink-data/…), a directory every JobManager mounts (`volumes`), or a shared file system (s3://…)".into(),
        );
    }
    if !has_zookeeper {
        let loc = ev.map(|e| e.loc.clone()).unwrap_or_default();
        f.fail(
            &loc,
            "`high_availability` needs ZooKeeper".into(),
            "add a `zookeeper { replicas = 1 }` block to the cluster".into(),
        );
    }
    Some(ha)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flink_version_comes_from_a_tag_never_from_a_digest() {
        assert_eq!(version_from_image("apache/flink:2.3.0-java17").as_deref(), Some("2.3"));
        assert_eq!(version_from_image("registry.local:5000/flink:1.20.1").as_deref(), Some("1.20"));
        assert_eq!(version_from_image("apache/flink:1.20@sha256:1a2b3c4d").as_deref(), Some("1.20"));
        assert_eq!(version_from_image("apache/flink@sha256:1a2b3c4d"), None, "a digest is not a version");
        assert_eq!(version_from_image("apache/flink:latest"), None);
        assert_eq!(version_from_image("registry.local:5000/flink"), None);
    }

    #[test]
    fn reads_the_version_from_the_tag() {
        assert_eq!(version_from_image("apache/flink:2.3.0-java17").as_deref(), Some("2.3"));
        assert_eq!(version_from_image("host:5000/flink:1.20.1").as_deref(), Some("1.20"));
        assert_eq!(version_from_image("flink:latest"), None);
        assert_eq!(version_from_image("host:5000/flink"), None);
    }
}
