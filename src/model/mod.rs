//! The model: a configuration expanded into addressed resource instances (DESIGN §2), each with
//! the exact spec flinkform gives Docker, the attributes a reviewer reads in a plan, its
//! dependencies and its readiness check. The config-hash of an instance is computed here, once.

mod expand;
pub mod hash;

pub use expand::expand;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What kind of Docker object an instance is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Network,
    Volume,
    Container,
    Job,
}

impl Kind {
    pub fn as_str(&self) -> &'static str {
        match self {
            Kind::Network => "network",
            Kind::Volume => "volume",
            Kind::Container => "container",
            Kind::Job => "job",
        }
    }
}

/// A cluster role; decides readiness and what a change means for Flink.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Network,
    Volume,
    Zookeeper,
    JobManager,
    TaskManager,
    Job,
}

/// A published port: container port → host ip and port (None = ephemeral).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortSpec {
    pub container_port: u16,
    pub host_ip: String,
    pub host_port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountSpec {
    pub volume: String,
    pub target: String,
}

/// Exactly what flinkform asks Docker to create. Its canonical form is hashed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerSpec {
    pub image: String,
    pub command: Vec<String>,
    pub hostname: String,
    pub env: BTreeMap<String, String>,
    pub ports: Vec<PortSpec>,
    pub network: String,
    pub mounts: Vec<MountSpec>,
    pub memory_mib: u64,
    pub restart: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Spec {
    Network { driver: String },
    Volume { driver: String },
    Container(ContainerSpec),
    Job(JobSpec),
}

/// A Flink job: what is submitted. Only the program part is hashed (jar, entry, args,
/// parallelism, job config): `upgrade_mode` and `state` change how flinkform acts, not the job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSpec {
    pub jar_sha256: String,
    pub entry_class: Option<String>,
    pub args: Vec<String>,
    pub parallelism: u32,
    pub flink_config: BTreeMap<String, String>,
}

/// How a job is run, beside its spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSettings {
    pub jar: std::path::PathBuf,
    pub upgrade_mode: crate::config::UpgradeMode,
    pub state: crate::config::JobState,
    pub allow_non_restored_state: bool,
    pub savepoint_dir: String,
}

/// How apply knows a created container is ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    None,
    /// ZooKeeper answers the `srvr` four-letter word.
    Zookeeper,
    /// The JobManager serves `GET /overview` on its published REST port.
    FlinkRest,
    /// The TaskManager (id = container name) is registered with the cluster's JobManager.
    TaskManagerRegistered,
}

/// One resource instance, e.g. `cluster.analytics.taskmanager[1]`.
#[derive(Debug, Clone)]
pub struct Instance {
    pub address: String,
    pub kind: Kind,
    pub role: Role,
    pub cluster: String,
    /// The Docker object name.
    pub name: String,
    pub spec: Spec,
    /// What a reviewer reads in a plan (and what state remembers to explain later diffs).
    pub attributes: BTreeMap<String, String>,
    pub config_hash: String,
    pub dependencies: Vec<String>,
    pub readiness: Readiness,
    pub prevent_destroy: bool,
    /// Jobs only.
    pub job: Option<JobSettings>,
}

/// The desired instances of a configuration, by address.
pub type Desired = BTreeMap<String, Instance>;
