//! The same configuration on a Docker swarm (`engine = "swarm"`): containers become services.
//! A ZooKeeper server and a JobManager keep one service each (a fixed identity, so the quorum
//! and the HA addresses stay stable); a cluster's TaskManagers become one replicated service,
//! scaled in place; networks become attachable overlays. Every service resolves by its name
//! to its tasks (`dnsrr`), so names work as they do between containers. See
//! docs/ARCHITECTURE.md, "Swarm".

use super::hash::config_hash;
use super::*;
use crate::address::part_of;
use crate::config::{Config, Placement, RollingUpdate};

/// What a TaskManager task calls itself (hostname and Flink resource id), since the tasks of
/// one service share a spec: the service's name and the task's slot (1, 2, …).
pub const TASK_NAME: &str = "{{.Service.Name}}-{{.Task.Slot}}";

/// Exactly what flinkform asks the swarm to run: every task's container, how many, where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceSpec {
    pub task: ContainerSpec,
    /// Not hashed: a change of replicas scales the service in place.
    pub replicas: u64,
    #[serde(default, skip_serializing_if = "Placement::is_empty")]
    pub placement: Placement,
    /// Sensitive environment variables, kept out of the spec: swarm secrets, read into the
    /// environment when the task starts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<SecretEnv>,
    /// Not hashed: how a configuration change rolls over the tasks (TaskManagers only; other
    /// services are replaced).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolling: Option<RollingUpdate>,
    /// A TLS cluster's Flink task: the directory its keystores are mounted in, each a swarm
    /// secret made at apply from the cluster's derived material (its TLS volume is node-local,
    /// so it would be empty on every other node).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_dir: Option<String>,
}

/// One sensitive environment variable as a swarm secret. Its name carries the keyed hash of
/// its value, so a changed value is a new secret (swarm secrets cannot change).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretEnv {
    pub var: String,
    /// The secret's name, also the file under `/run/secrets/`.
    pub name: String,
    /// Never serialized: what the secret holds.
    #[serde(skip)]
    pub value: String,
    /// Added to what the variable holds in the spec (`FLINK_PROPERTIES`: its sensitive lines
    /// are the secret, the rest stays in the spec, where the swarm fills in the task's name).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub append: bool,
}

/// Where swarm mounts a task's secrets.
pub const SECRETS_DIR: &str = "/run/secrets";

/// `desired` (a single engine's instances) as the swarm runs them.
pub fn services(config: &Config, desired: Desired) -> Desired {
    let mut renamed: BTreeMap<String, String> = BTreeMap::new();
    let mut out = Desired::new();
    for (address, mut i) in desired {
        match (i.kind, i.role) {
            (Kind::Network, _) => {
                i.spec = Spec::Network { driver: "overlay".into() };
                i.attributes.insert("driver".into(), "overlay".into());
                i.config_hash = config_hash(&i.spec);
                out.insert(address, i);
            }
            (Kind::Container, Role::TaskManager) => {
                // One service for the cluster's TaskManagers, made from the first: every
                // TaskManager's spec is the same but for its name, which the task fills in.
                let service = part_of(&i.cluster, "taskmanager", None);
                renamed.insert(address, service.clone());
                if out.contains_key(&service) {
                    continue;
                }
                let cluster = config.clusters.get(&i.cluster);
                let replicas = cluster.map_or(1, |c| u64::from(c.taskmanager.replicas));
                let placement = cluster.map(|c| c.taskmanager.placement.clone()).unwrap_or_default();
                i.name = i.name.rsplit_once('-').map_or(i.name.clone(), |(stem, _)| stem.to_string());
                i.address = service.clone();
                let mut service_instance = into_service(i, replicas, placement);
                let rolling = cluster.and_then(|c| c.taskmanager.rolling_update).unwrap_or_default();
                service_instance.attributes.insert("rolling_update".into(), rolling_attribute(&rolling));
                if let Spec::Service(s) = &mut service_instance.spec {
                    s.rolling = Some(rolling);
                }
                out.insert(service, service_instance);
            }
            (Kind::Container, role) => {
                let cluster = config.clusters.get(&i.cluster);
                let placement = match role {
                    Role::Zookeeper => cluster.and_then(|c| c.zookeeper.as_ref()).map(|z| z.placement.clone()),
                    Role::JobManager => cluster.map(|c| c.jobmanager.placement.clone()),
                    _ => None,
                };
                out.insert(address, into_service(i, 1, placement.unwrap_or_default()));
            }
            _ => {
                out.insert(address, i);
            }
        }
    }
    // What depended on a TaskManager depends on the service now.
    for i in out.values_mut() {
        let mut deps: Vec<String> =
            i.dependencies.iter().map(|d| renamed.get(d).cloned().unwrap_or_else(|| d.clone())).collect();
        deps.sort();
        deps.dedup();
        i.dependencies = deps;
    }
    out
}

/// A container instance as a service of `replicas` tasks. What Docker would bind to one
/// address is published on every interface of the task's node (swarm has no host address),
/// and the attributes say so.
fn into_service(mut i: Instance, replicas: u64, placement: Placement) -> Instance {
    let Spec::Container(mut task) = i.spec else { return i };
    // Swarm's restart conditions: a crashed or stopped task is always replaced, so `any`.
    task.restart = match task.restart.as_str() {
        "no" => "none".into(),
        "on-failure" => "on-failure".into(),
        _ => "any".into(),
    };
    i.attributes.insert("restart".into(), task.restart.clone());
    // The engine's service API has no `no-new-privileges` (the capabilities and PID limit it
    // has): the plan must not claim it.
    if let Some(h) = task.hardening.as_mut().filter(|h| h.no_new_privileges) {
        h.no_new_privileges = false;
        i.attributes.remove("security_opt");
    }
    for p in &mut task.ports {
        p.host_ip = "0.0.0.0".into();
    }
    for (_, v) in i.attributes.iter_mut().filter(|(k, _)| k.starts_with("port.")) {
        if let Some((_, port)) = v.rsplit_once(':') {
            *v = format!("0.0.0.0:{port}");
        }
    }
    i.attributes.insert("name".into(), i.name.clone());
    i.attributes.insert("replicas".into(), replicas.to_string());
    if !placement.constraints.is_empty() {
        i.attributes.insert("placement.constraints".into(), placement.constraints.join(", "));
    }
    if let Some(s) = &placement.spread {
        i.attributes.insert("placement.spread".into(), s.clone());
    }
    let secrets = secrets(&i.name, &i.attributes, &mut task);
    let tls_dir = i.tls.as_ref().and_then(|t| {
        let at = task.mounts.iter().position(|m| m.volume == t.volume)?;
        Some(task.mounts.remove(at).target)
    });
    // The container's hash (its spec, sensitive values masked) with the placement: the
    // replicas are left out, so scaling is not a change of configuration.
    i.config_hash = super::hash::hash_of(&("service", &i.config_hash, &placement));
    i.kind = Kind::Service;
    i.spec = Spec::Service(ServiceSpec { task, replicas, placement, secrets, rolling: None, tls_dir });
    i
}

/// A secret's name: `<service>-<what>-<digest>`. Swarm names are at most 64 characters; the
/// digest keeps a shortened one unique.
pub fn secret_name(service: &str, what: &str, digest: &str) -> String {
    // Docker names are ASCII, so any byte is a character boundary.
    let stem = format!("{service}-{what}");
    format!("{}-{digest}", &stem[..stem.len().min(63 - digest.len())])
}

/// The `rolling_update` attribute a plan's diff shows.
pub fn rolling_attribute(r: &RollingUpdate) -> String {
    let order = match r.order {
        crate::config::UpdateOrder::StopFirst => "stop-first",
        crate::config::UpdateOrder::StartFirst => "start-first",
    };
    let action = match r.failure_action {
        crate::config::FailureAction::Rollback => "rollback",
        crate::config::FailureAction::Pause => "pause",
    };
    format!(
        "parallelism={} order={order} delay={}s monitor={}s failure_action={action}",
        r.parallelism, r.delay_s, r.monitor_s
    )
}

/// The task's sensitive environment variables (those its attributes show masked: `env` values
/// marked sensitive, and `FLINK_PROPERTIES` when it holds a sensitive setting or a keystore
/// password) taken out of `task` as secrets, so `docker service inspect` shows none of them.
fn secrets(service: &str, attributes: &BTreeMap<String, String>, task: &mut ContainerSpec) -> Vec<SecretEnv> {
    let shown = |var: &str| match var {
        "FLINK_PROPERTIES" => attributes.get("flink_config"),
        _ => attributes.get(&format!("env.{var}")),
    };
    let vars: Vec<String> =
        task.env.keys().filter(|k| shown(k).is_some_and(|v| super::sensitive::is_masked(v))).cloned().collect();
    vars.into_iter()
        .filter_map(|var| {
            let shown = shown(&var)?.clone();
            let (value, append) = match var.as_str() {
                // A sensitive value over several lines would misalign the two: all of it then.
                "FLINK_PROPERTIES" if task.env.get(&var)?.lines().count() != shown.lines().count() => {
                    (task.env.remove(&var)?, false)
                }
                "FLINK_PROPERTIES" => {
                    // Line by line (both sorted by key): the lines shown masked are the secret.
                    let real = task.env.get(&var)?.clone();
                    let lines = || real.lines().zip(shown.lines());
                    let plain: String = lines().filter(|(r, s)| r == s).map(|(r, _)| format!("{r}\n")).collect();
                    let secret: String = lines().filter(|(r, s)| r != s).map(|(r, _)| format!("{r}\n")).collect();
                    task.env.insert(var.clone(), plain);
                    (secret, true)
                }
                _ => (task.env.remove(&var)?, false),
            };
            // The masked form is keyed: its digest names this value without revealing it.
            let digest = super::hash::hash_of(&shown).chars().rev().take(12).collect::<String>();
            let name = secret_name(service, &var.to_lowercase().replace('_', "-"), &digest);
            Some(SecretEnv { var, name, value, append })
        })
        .collect()
}
