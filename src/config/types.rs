//! The typed configuration: what the blocks mean once evaluated and validated. Everything
//! downstream (model, plan) reads these types, never HCL.

/// What a reader sees instead of a sensitive value, wherever one would be shown.
pub const SENSITIVE_SHOWN: &str = "(sensitive value)";

use super::diag::Loc;
use hcl::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Placeholder for a value only known after apply (an ephemeral port, a container id).
pub const KNOWN_AFTER_APPLY: &str = "(known after apply)";

/// A memory size as written by a user (`1600m`, `1g`), kept in MiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memory {
    pub mib: u64,
}

impl Memory {
    /// Parses `512m`, `1g`, `1600mb`, `2G`, `1024k`; a bare number is bytes (as Docker reads it).
    pub fn parse(s: &str) -> Option<Memory> {
        let t = s.trim().to_ascii_lowercase();
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let n: u64 = num.parse().ok()?;
        let mib = match unit.trim_end_matches('b').trim_end_matches('i') {
            "" => n / (1024 * 1024),
            "k" => n / 1024,
            "m" => n,
            "g" => n.checked_mul(1024)?,
            _ => return None,
        };
        (mib > 0).then_some(Memory { mib })
    }
    pub fn bytes(&self) -> i64 {
        (self.mib as i64) * 1024 * 1024
    }
    /// The form Flink and humans read: `1600m`.
    pub fn flink(&self) -> String {
        format!("{}m", self.mib)
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub project: String,
    pub state_path: String,
    pub docker_host: Option<String>,
    /// What runs the containers: one Docker engine, or a swarm of them (`engine = "swarm"`).
    pub engine: EngineKind,
    /// Where the state lives (`backend "postgres" { … }`); the local file by default.
    pub backend: BackendSettings,
    /// Rego policies every plan is checked against (`policy_dir`), relative to the
    /// configuration directory.
    pub policy_dir: Option<String>,
}

/// `engine` in the `flinkform` block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EngineKind {
    /// Containers on one Docker engine.
    #[default]
    Docker,
    /// Services on a Docker swarm: the engine schedules their tasks across its nodes.
    Swarm,
}

/// Where a role's swarm tasks may run (`placement { constraints, spread }`): swarm's own
/// placement constraints and spread preference. Empty on a single engine.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Placement {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub constraints: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spread: Option<String>,
}

impl Placement {
    pub fn is_empty(&self) -> bool {
        self.constraints.is_empty() && self.spread.is_none()
    }
}

/// How a swarm rolls a TaskManager service's tasks onto a new configuration
/// (`rolling_update { parallelism, order, delay, monitor, failure_action }`): the swarm's own
/// update settings. Not part of the service's configuration: changing them restarts nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RollingUpdate {
    /// Tasks replaced at once (0: all at once).
    pub parallelism: u64,
    pub order: UpdateOrder,
    /// Seconds between two batches.
    pub delay_s: u64,
    /// Seconds each new task is watched for a failure before the next batch.
    pub monitor_s: u64,
    pub failure_action: FailureAction,
}

impl Default for RollingUpdate {
    /// One task at a time, stopped before its successor starts (no slots beyond the
    /// configured ones), each watched 5 s; a failing task rolls the service back.
    fn default() -> Self {
        RollingUpdate {
            parallelism: 1,
            order: UpdateOrder::StopFirst,
            delay_s: 0,
            monitor_s: 5,
            failure_action: FailureAction::Rollback,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UpdateOrder {
    StopFirst,
    StartFirst,
}

/// What the swarm does when a new task fails during a rolling update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureAction {
    /// Back to the previous configuration, every task.
    Rollback,
    /// Stop rolling; what was replaced stays replaced.
    Pause,
}

impl std::fmt::Display for RollingUpdate {
    /// What the plan shows: "1 task at a time, stop-first, each watched 5s, rollback on failure".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.parallelism {
            0 => f.write_str("all tasks at once")?,
            1 => f.write_str("1 task at a time")?,
            n => write!(f, "{n} tasks at a time")?,
        }
        let order = match self.order {
            UpdateOrder::StopFirst => "stop-first (an old task stops before its successor starts)",
            UpdateOrder::StartFirst => "start-first (a new task starts before its predecessor stops)",
        };
        write!(f, ", {order}, each watched {}s", self.monitor_s)?;
        if self.delay_s > 0 {
            write!(f, ", {}s apart", self.delay_s)?;
        }
        f.write_str(match self.failure_action {
            FailureAction::Rollback => ", rolled back if a new task fails",
            FailureAction::Pause => ", paused if a new task fails",
        })
    }
}

/// A `backend` block of the `flinkform` block.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum BackendSettings {
    /// `state_path`, relative to the configuration directory.
    #[default]
    Local,
    /// A PostgreSQL database: `conn_str` (else `FLINKFORM_PG_CONN_STR`, else libpq's `PG*`
    /// variables), tables in `schema`.
    Postgres { conn_str: Option<String>, schema: String },
}

/// A variable's declared type, as Terraform writes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VarType {
    Any,
    String,
    Number,
    Bool,
    List(Box<VarType>),
    Set(Box<VarType>),
    Map(Box<VarType>),
    Object(BTreeMap<String, VarType>),
}

/// A `validation { condition, error_message }` block of a variable.
#[derive(Debug, Clone)]
pub struct Validation {
    pub condition: hcl::edit::expr::Expression,
    pub error_message: String,
    pub loc: Loc,
}

#[derive(Debug, Clone)]
pub struct Variable {
    pub name: String,
    pub ty: VarType,
    pub default: Option<Value>,
    pub description: Option<String>,
    pub sensitive: bool,
    pub nullable: bool,
    pub validations: Vec<Validation>,
    pub loc: Loc,
}

/// What every resource block may carry beside its own attributes: `depends_on`, `lifecycle`,
/// and the blocks its expressions refer to (each becomes a dependency edge).
#[derive(Debug, Clone, Default)]
pub struct Meta {
    /// Address prefixes of blocks this one depends on (`cluster.a`, `module.m.`, `container.x`).
    pub depends_on: Vec<String>,
    pub prevent_destroy: bool,
    /// Attribute names whose differences are ignored once the resource exists.
    pub ignore_changes: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Cluster {
    /// `cluster.analytics`, `cluster.x[0]`, `module.staging.cluster.x["eu"]`.
    pub address: String,
    /// The stem of its Docker names (`analytics`, `x-0`, `staging-x-eu`).
    pub name: String,
    pub loc: Loc,
    pub image: String,
    /// When the Flink image is pulled.
    pub pull: PullPolicy,
    pub flink_version: String,
    pub flink_config: BTreeMap<String, String>,
    pub zookeeper: Option<Zookeeper>,
    pub jobmanager: JobManager,
    pub taskmanager: TaskManager,
    pub high_availability: Option<HighAvailability>,
    /// `flink_config` keys whose values are sensitive.
    pub sensitive_config: BTreeSet<String>,
    pub security: Security,
    /// What the cluster adds to every Flink container (each role's own are on the role).
    pub extras: FlinkExtras,
    /// Set when the cluster runs one application (application mode) instead of a session.
    pub application: Option<Application>,
    pub meta: Meta,
}

/// When an image is pulled (`pull`), as Docker Compose's `pull_policy`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PullPolicy {
    /// Pulled when the engine does not have it.
    #[default]
    Missing,
    /// Pulled at every plan (and apply), so a tag that moved is seen and planned.
    Always,
    /// Never pulled: the engine must have it (loaded or built there).
    Never,
}

/// What users add to Flink containers: see [`super::extras`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlinkExtras {
    pub env: BTreeMap<String, String>,
    /// `env` keys whose values are sensitive.
    pub sensitive_env: BTreeSet<String>,
    pub mounts: Vec<Mount>,
    pub ports: Vec<Port>,
    pub labels: BTreeMap<String, String>,
    pub user: Option<String>,
    /// Jar file names in the image's `opt/` (`flink-s3-fs-hadoop-2.3.0.jar`).
    pub plugins: Vec<String>,
}

/// A cluster's `security` block: how its containers are locked down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Security {
    /// No new privileges, capabilities cut to what the images' entrypoints use, a PID limit.
    pub hardened: bool,
    pub pids_limit: i64,
    /// Mutual TLS for internal connections and REST, with material flinkform derives.
    pub tls: bool,
}

impl Default for Security {
    fn default() -> Self {
        Security { hardened: true, pids_limit: 4096, tls: false }
    }
}

#[derive(Debug, Clone)]
pub struct Zookeeper {
    pub replicas: u32,
    pub image: String,
    pub pull: PullPolicy,
    pub memory: Memory,
    pub placement: Placement,
}

#[derive(Debug, Clone)]
pub struct JobManager {
    pub replicas: u32,
    pub memory: Memory,
    pub rest_port: Option<u16>,
    pub rest_bind: String,
    pub extras: FlinkExtras,
    pub placement: Placement,
}

#[derive(Debug, Clone)]
pub struct TaskManager {
    pub replicas: u32,
    pub slots: u32,
    pub memory: Memory,
    pub extras: FlinkExtras,
    pub placement: Placement,
    /// Swarm only: how a configuration change rolls over the TaskManagers' tasks.
    pub rolling_update: Option<RollingUpdate>,
}

#[derive(Debug, Clone)]
pub struct HighAvailability {
    pub storage_dir: String,
    pub cluster_id: String,
    pub session_timeout_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UpgradeMode {
    /// Cancel and resubmit: the job's state is dropped.
    Stateless,
    /// Stop with a savepoint and resubmit from it.
    Savepoint,
    /// Cancel and resubmit from the latest retained checkpoint (the Flink Kubernetes Operator's
    /// `last-state`): faster than a savepoint, and it works when a savepoint cannot be taken.
    #[serde(rename = "last-state")]
    LastState,
}

impl UpgradeMode {
    /// As written in the configuration and the state.
    pub fn as_str(&self) -> &'static str {
        match self {
            UpgradeMode::Stateless => "stateless",
            UpgradeMode::Savepoint => "savepoint",
            UpgradeMode::LastState => "last-state",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Running,
    Suspended,
}

/// A Flink job on a session cluster.
#[derive(Debug, Clone)]
pub struct Job {
    /// `job.wordcount`, `job.x["eu"]`, `module.m.job.y`.
    pub address: String,
    /// The Flink job name (`wordcount`, `x-eu`, `m-y`).
    pub name: String,
    pub loc: Loc,
    /// The address of the cluster it runs on.
    pub cluster: String,
    /// Absolute path of the jar, and its sha256 (part of the desired spec).
    pub jar: std::path::PathBuf,
    pub jar_sha256: String,
    pub entry_class: Option<String>,
    pub args: Vec<String>,
    pub parallelism: u32,
    pub flink_config: BTreeMap<String, String>,
    pub upgrade_mode: UpgradeMode,
    pub state: JobState,
    pub allow_non_restored_state: bool,
    pub savepoint_dir: String,
    pub sensitive_config: BTreeSet<String>,
    pub sensitive_args: bool,
    /// The application of an application cluster (its JobManager runs it; `jar` is empty when
    /// the image holds it), not a job submitted to a session cluster.
    pub application: bool,
    pub meta: Meta,
}

/// A cluster's `application` block: see [`super::application`].
#[derive(Debug, Clone)]
pub struct Application {
    /// A local jar mounted into `/opt/flink/usrlib`; None: the image holds the application.
    pub jar: Option<AppJar>,
    pub entry_class: Option<String>,
    pub args: Vec<String>,
    pub parallelism: u32,
    pub upgrade_mode: UpgradeMode,
    pub state: JobState,
    pub allow_non_restored_state: bool,
    pub savepoint_dir: String,
    pub sensitive_args: bool,
}

#[derive(Debug, Clone)]
pub struct AppJar {
    pub path: std::path::PathBuf,
    pub sha256: String,
}

/// A published port, as written in `ports = ["127.0.0.1:9000:9000"]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Port {
    pub host_ip: String,
    pub host_port: Option<u16>,
    pub container_port: u16,
    pub protocol: String,
}

/// A mount, as written in `volumes = ["data:/data", "/host/dir:/etc/x:ro"]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// A volume name, or an absolute host path (a bind mount).
    pub source: String,
    pub target: String,
    pub read_only: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Healthcheck {
    pub test: Vec<String>,
    pub interval_s: u64,
    pub timeout_s: u64,
    pub retries: u64,
    pub start_period_s: u64,
}

/// A supporting container (`container` block): anything beside Flink.
#[derive(Debug, Clone)]
pub struct Container {
    pub address: String,
    /// The Docker container name.
    pub name: String,
    pub loc: Loc,
    pub image: String,
    pub pull: PullPolicy,
    pub command: Vec<String>,
    pub entrypoint: Option<Vec<String>>,
    pub env: BTreeMap<String, String>,
    pub sensitive_env: BTreeSet<String>,
    pub sensitive_command: bool,
    pub ports: Vec<Port>,
    pub mounts: Vec<Mount>,
    pub networks: Vec<String>,
    pub restart: String,
    pub healthcheck: Option<Healthcheck>,
    pub memory: Option<Memory>,
    pub user: Option<String>,
    pub hostname: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub meta: Meta,
}

/// A `network` or `volume` block.
#[derive(Debug, Clone)]
pub struct Infra {
    pub address: String,
    pub name: String,
    pub loc: Loc,
    pub driver: String,
    pub meta: Meta,
}

/// An evaluated output value.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputValue {
    pub value: Value,
    pub sensitive: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_strings_parse() {
        assert_eq!(Memory::parse("1600m").unwrap().mib, 1600);
        assert_eq!(Memory::parse("1g").unwrap().mib, 1024);
        assert_eq!(Memory::parse("2GB").unwrap().mib, 2048);
        assert_eq!(Memory::parse("512Mi").unwrap().mib, 512);
        assert!(Memory::parse("lots").is_none());
        assert!(Memory::parse("0m").is_none());
    }
}

/// Which instance of a repeated block.
#[derive(Debug, Clone)]
pub(super) enum InstanceKey {
    None,
    Index(usize),
    Each(String, Value),
}

impl InstanceKey {
    pub(super) fn label(&self) -> String {
        match self {
            InstanceKey::None => String::new(),
            InstanceKey::Index(i) => i.to_string(),
            InstanceKey::Each(k, _) => k.clone(),
        }
    }
    /// `[0]`, `["eu"]`.
    pub(super) fn address_suffix(&self) -> String {
        match self {
            InstanceKey::None => String::new(),
            InstanceKey::Index(i) => crate::address::Key::Index(*i as u64).to_string(),
            InstanceKey::Each(k, _) => crate::address::Key::Name(k.clone()).to_string(),
        }
    }
    /// Declares `count.index` or `each.key`/`each.value` for this instance.
    pub(super) fn declare(&self, ctx: &mut hcl::eval::Context) {
        let object =
            |fields: Vec<(&str, Value)>| Value::Object(fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect());
        match self {
            InstanceKey::Index(i) => ctx.declare_var("count", object(vec![("index", Value::from(*i))])),
            InstanceKey::Each(k, v) => {
                ctx.declare_var("each", object(vec![("key", Value::from(k.clone())), ("value", v.clone())]))
            }
            InstanceKey::None => {}
        }
    }
    /// `-0`, `-eu`: a valid Docker name part.
    pub(super) fn stem_suffix(&self) -> String {
        match self {
            InstanceKey::None => String::new(),
            _ => {
                let clean: String = self
                    .label()
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') { c } else { '-' })
                    .collect();
                format!("-{clean}")
            }
        }
    }
}

/// A `moved` block: what was recorded at `from` is now `to` (absolute addresses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    pub from: crate::address::Address,
    pub to: crate::address::Address,
    pub loc: super::diag::Loc,
}
