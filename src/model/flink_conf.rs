//! Renders a cluster's Flink configuration for one role, as the `FLINK_PROPERTIES` the official
//! image reads (flat `key: value` lines, sorted). Which keys reach which role decides what a
//! change replaces: `taskmanager.*` keys reach only TaskManagers, JobManager-only keys only
//! JobManagers, so changing one never restarts the other.

use crate::config::Cluster;
use crate::names;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlinkRole {
    JobManager,
    TaskManager,
}

/// Does a user key belong in this role's configuration?
pub fn applies_to(key: &str, role: FlinkRole) -> bool {
    let jm_only = ["jobmanager.memory.", "jobmanager.archive.", "web.", "historyserver.", "rest.", "resourcemanager."];
    match role {
        FlinkRole::JobManager => !key.starts_with("taskmanager."),
        FlinkRole::TaskManager => !jm_only.iter().any(|p| key.starts_with(p)),
    }
}

/// The HA mode key was renamed in Flink 1.15 (`high-availability` → `high-availability.type`).
fn ha_type_key(version: &str) -> &'static str {
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(2), parts.next().unwrap_or(0));
    if (major, minor) >= (1, 15) { "high-availability.type" } else { "high-availability" }
}

/// How many completed checkpoints Flink keeps: its key in this version (renamed in 1.20).
pub fn num_retained_key(version: &str) -> &'static str {
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(2), parts.next().unwrap_or(0));
    if (major, minor) >= (1, 20) { "execution.checkpointing.num-retained" } else { "state.checkpoints.num-retained" }
}

/// Checkpoints an application in `last-state` mode keeps: flinkform reads the latest one just
/// before it cancels (an application's JobManager is gone after), and one or two more may
/// complete before the cancel lands; with only one kept, the one read would be deleted.
pub const LAST_STATE_RETAINED: &str = "3";

/// The ZooKeeper connect string of a cluster.
pub fn zookeeper_quorum(project: &str, c: &Cluster) -> Option<String> {
    let zk = c.zookeeper.as_ref()?;
    Some(
        (0..zk.replicas)
            .map(|i| format!("{}:2181", names::container(project, &c.name, "zookeeper", i)))
            .collect::<Vec<_>>()
            .join(","),
    )
}

/// Milliseconds a TaskManager waits after failing to reach its ResourceManager (Flink: 10 s).
/// Unit-less, so Flink 1.x (a long) and 2.x (a duration) both read it; `flink_config` overrides it.
pub const REGISTRATION_ERROR_DELAY_MS: &str = "500";

/// Keeps a job's checkpoints when it is cancelled: what `last-state` restores from.
pub const RETAIN_CHECKPOINTS: &str = "execution.checkpointing.externalized-checkpoint-retention";

/// Every Flink setting of one container.
pub fn properties(project: &str, c: &Cluster, role: FlinkRole, index: u32) -> BTreeMap<String, String> {
    let mut p: BTreeMap<String, String> =
        c.flink_config.iter().filter(|(k, _)| applies_to(k, role)).map(|(k, v)| (k.clone(), v.clone())).collect();
    let jm0 = names::container(project, &c.name, "jobmanager", 0);
    match (&c.high_availability, zookeeper_quorum(project, c)) {
        (Some(ha), Some(quorum)) => {
            p.insert(ha_type_key(&c.flink_version).into(), "zookeeper".into());
            p.insert("high-availability.zookeeper.quorum".into(), quorum);
            p.insert("high-availability.storageDir".into(), ha.storage_dir.clone());
            p.insert("high-availability.cluster-id".into(), ha.cluster_id.clone());
            p.insert("high-availability.zookeeper.client.session-timeout".into(), ha.session_timeout_ms.to_string());
            if role == FlinkRole::JobManager {
                // Each JobManager advertises itself; the leader is found through ZooKeeper.
                p.insert("jobmanager.rpc.address".into(), names::container(project, &c.name, "jobmanager", index));
            }
        }
        _ => {
            p.insert("jobmanager.rpc.address".into(), jm0);
        }
    }
    match role {
        FlinkRole::JobManager => {
            p.insert("jobmanager.memory.process.size".into(), c.jobmanager.memory.flink());
            p.insert("rest.port".into(), "8081".into());
            if let Some(app) = &c.application {
                p.insert("parallelism.default".into(), app.parallelism.to_string());
                if app.upgrade_mode == crate::config::UpgradeMode::LastState {
                    p.entry(RETAIN_CHECKPOINTS.into()).or_insert_with(|| "RETAIN_ON_CANCELLATION".into());
                    p.entry(num_retained_key(&c.flink_version).into()).or_insert_with(|| LAST_STATE_RETAINED.into());
                }
            }
        }
        FlinkRole::TaskManager => {
            let name = names::container(project, &c.name, "taskmanager", index);
            p.insert("taskmanager.memory.process.size".into(), c.taskmanager.memory.flink());
            p.insert("taskmanager.numberOfTaskSlots".into(), c.taskmanager.slots.to_string());
            p.insert("taskmanager.resource-id".into(), name);
            // A TaskManager starts alongside its JobManager, so its first attempts to reach the
            // ResourceManager fail; Flink then waits 10 s before trying again, which is most of
            // a cluster's start-up here. Half a second keeps a slow JobManager cheap to wait for.
            p.entry("cluster.registration.error-delay".into()).or_insert_with(|| REGISTRATION_ERROR_DELAY_MS.into());
        }
    }
    p
}

/// Flink's settings for mutual TLS on internal connections and REST, reading the keystores
/// flinkform writes into the cluster's TLS volume at `dir`. The cipher suites and protocol the
/// user set are kept.
pub fn tls_properties(p: &mut BTreeMap<String, String>, dir: &str, password: &str) {
    use crate::tls::{INTERNAL_KEYSTORE, INTERNAL_TRUSTSTORE, REST_KEYSTORE, REST_TRUSTSTORE};
    for (scope, keystore, truststore) in
        [("internal", INTERNAL_KEYSTORE, INTERNAL_TRUSTSTORE), ("rest", REST_KEYSTORE, REST_TRUSTSTORE)]
    {
        let key = |k: &str| format!("security.ssl.{scope}.{k}");
        p.insert(key("enabled"), "true".into());
        p.insert(key("keystore"), format!("{dir}/{keystore}"));
        p.insert(key("truststore"), format!("{dir}/{truststore}"));
        for k in ["keystore-password", "key-password", "truststore-password"] {
            p.insert(key(k), password.to_string());
        }
    }
    p.insert("security.ssl.rest.authentication-enabled".into(), "true".into());
    p.entry("security.ssl.algorithms".into()).or_insert_with(|| crate::tls::CIPHER_SUITES.into());
}

/// `key: value` lines, sorted by key: the `FLINK_PROPERTIES` format.
pub fn render(props: &BTreeMap<String, String>) -> String {
    props.iter().map(|(k, v)| format!("{k}: {v}\n")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taskmanager_keys_stay_with_taskmanagers() {
        assert!(applies_to("taskmanager.memory.managed.size", FlinkRole::TaskManager));
        assert!(!applies_to("taskmanager.memory.managed.size", FlinkRole::JobManager));
        assert!(!applies_to("web.submit.enable", FlinkRole::TaskManager));
        assert!(applies_to("state.checkpoints.dir", FlinkRole::TaskManager));
        assert!(applies_to("state.checkpoints.dir", FlinkRole::JobManager));
    }

    #[test]
    fn ha_key_depends_on_version() {
        assert_eq!(ha_type_key("2.3"), "high-availability.type");
        assert_eq!(ha_type_key("1.14"), "high-availability");
    }
}
