//! The model: a configuration expanded into addressed resource instances, each with the exact
//! spec flinkform gives Docker, the attributes a reviewer reads in a plan, its dependencies and
//! its readiness check. The config-hash of an instance is computed here, once.

pub mod attributes;
mod cluster;
mod expand;
pub mod flink_conf;
mod generic;
pub mod hash;
pub mod sensitive;
pub mod swarm;

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
    /// A swarm service (`engine = "swarm"`).
    Service,
    /// A swarm secret flinkform made for a service: never desired itself, only observed when
    /// no service mounts it (then removed).
    Secret,
}

impl Kind {
    pub fn as_str(&self) -> &'static str {
        match self {
            Kind::Network => "network",
            Kind::Volume => "volume",
            Kind::Container => "container",
            Kind::Job => "job",
            Kind::Service => "service",
            Kind::Secret => "secret",
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
    /// A supporting container (`container` block).
    Service,
}

/// A published port: container port → host ip and port (None = ephemeral).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortSpec {
    pub container_port: u16,
    pub host_ip: String,
    pub host_port: Option<u16>,
    #[serde(default = "tcp", skip_serializing_if = "is_tcp")]
    pub protocol: String,
}

/// A mount of a named volume or (when `bind`) a host path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountSpec {
    pub volume: String,
    pub target: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub bind: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub read_only: bool,
}

/// Docker's healthcheck; readiness waits for `healthy`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthSpec {
    pub test: Vec<String>,
    pub interval_s: u64,
    pub timeout_s: u64,
    pub retries: u64,
    pub start_period_s: u64,
}

fn tcp() -> String {
    "tcp".into()
}
fn is_tcp(p: &String) -> bool {
    p == "tcp"
}
fn is_false(b: &bool) -> bool {
    !*b
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
    /// 0: no limit.
    pub memory_mib: u64,
    pub restart: String,
    // Fields below are absent from the canonical form when unset, so cluster containers keep
    // their v1 hashes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    /// Networks joined besides `network`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_networks: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<HealthSpec>,
    /// The user's own labels (flinkform's are added at create).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hardening: Option<Hardening>,
}

/// What a container may do beyond its own processes: flinkform's Flink and ZooKeeper
/// containers run without new privileges, with only the capabilities their images'
/// entrypoints use (fixing ownership, then dropping to the service user), and a PID limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hardening {
    pub no_new_privileges: bool,
    pub cap_drop: Vec<String>,
    pub cap_add: Vec<String>,
    pub pids_limit: i64,
}

impl Hardening {
    /// What the official `apache/flink` and `zookeeper` entrypoints need: `chown` of their
    /// directories (CHOWN, DAC_OVERRIDE, FOWNER) and the switch to the service user (SETUID,
    /// SETGID).
    pub fn for_official_images(pids_limit: i64) -> Hardening {
        Hardening {
            no_new_privileges: true,
            cap_drop: vec!["ALL".into()],
            cap_add: ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"].map(String::from).to_vec(),
            pids_limit,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
// Few specs exist at a time and they are plain data: boxing the container variant buys nothing.
#[allow(clippy::large_enum_variant)]
pub enum Spec {
    Network { driver: String },
    Volume { driver: String },
    Container(ContainerSpec),
    Job(JobSpec),
    Service(swarm::ServiceSpec),
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
    /// An application cluster's application: its JobManager runs it (no jar is uploaded).
    pub application: bool,
}

/// How apply knows a created container is ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    None,
    /// ZooKeeper answers the `srvr` four-letter word.
    Zookeeper,
    /// The JobManager serves `GET /overview` on its published REST port.
    FlinkRest,
    /// The TaskManager (id = container name) is registered with the cluster's JobManager and
    /// reports its `slots`.
    TaskManagerRegistered {
        slots: u64,
    },
    /// Docker reports the container's healthcheck as `healthy`.
    Healthy,
}

/// One resource instance, e.g. `cluster.analytics.taskmanager[1]`.
#[derive(Debug, Clone)]
pub struct Instance {
    pub address: String,
    pub kind: Kind,
    pub role: Role,
    /// The address of the cluster it belongs to (`cluster.analytics`), empty for others.
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
    /// Attributes whose differences are ignored once the resource exists.
    pub ignore_changes: Vec<String>,
    /// Jobs only.
    pub job: Option<JobSettings>,
    /// Flink roles and the TLS volume of a cluster with `security { tls = true }`.
    pub tls: Option<TlsSettings>,
    /// Containers: when their image is pulled (not part of the spec: it changes no container).
    pub pull: crate::config::PullPolicy,
}

/// What the executor needs to write a cluster's TLS material and to speak to its REST API:
/// never hashed, shown or stored (the root opens every key of the cluster).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    pub root: crate::tls::Root,
    /// The TLS volume's name (its label holds the nonce; certificates are named after it).
    pub volume: String,
    /// The image the material is written with (the JobManagers').
    pub image: String,
    /// Names and addresses the JobManagers' REST endpoint answers to (its certificate's).
    pub hosts: Vec<String>,
}

/// The desired instances of a configuration, by address.
pub type Desired = BTreeMap<String, Instance>;
