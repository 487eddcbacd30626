//! A `cluster` block expanded: its network and data volume, ZooKeeper servers, JobManagers and
//! TaskManagers, with dependencies network/volume → zookeeper → jobmanager → taskmanager. One
//! builder per role; what they share (names, the masking of sensitive settings, the instance
//! frame) is [`Builder`]'s.

use super::flink_conf::{FlinkRole, properties, render};
use super::hash::config_hash;
use super::sensitive::Masker;
use super::*;
use crate::address::{Key, part_of};
use crate::config::{Cluster, FlinkExtras};
use crate::names;

/// Restart policy for cluster containers: a crashed JobManager or TaskManager comes back (what
/// makes HA real), while one stopped on purpose with `docker stop` stays stopped, and is shown
/// by the next plan.
const RESTART: &str = "unless-stopped";
const DATA_DIR: &str = "/flink-data";
/// Where the official zookeeper image keeps its data (`ZOO_DATA_DIR`).
const ZOOKEEPER_DATA: &str = "/data";
/// Where a cluster's TLS volume is mounted (read-only) in its Flink containers.
const TLS_DIR: &str = "/flink-tls";

/// Every instance of cluster `c`. `masker` hashes its sensitive settings.
pub fn instances(project: &str, c: &Cluster, masker: &Masker, engine: crate::config::EngineKind) -> Vec<Instance> {
    let b = Builder {
        swarm: engine == crate::config::EngineKind::Swarm,
        project,
        c,
        masker,
        network: names::network(project, &c.name),
        volume: names::volume(project, &c.name, "data"),
        network_addr: part_of(&c.address, "network", None),
        volume_addr: part_of(&c.address, "volume", Some(Key::Name("data".into()))),
        tls: c.security.tls.then(|| tls_settings(project, c, masker)),
    };
    let mut out = b.infrastructure();
    let zookeepers = b.zookeepers();
    // A suspended application runs nothing: its JobManagers and TaskManagers are removed (as
    // the Flink Kubernetes Operator deletes the deployment); its volume keeps the savepoint.
    let suspended = c.application.as_ref().is_some_and(|a| a.state == crate::config::JobState::Suspended);
    if !suspended {
        let jobmanagers = b.jobmanagers(&addresses(&zookeepers));
        let taskmanagers = b.taskmanagers(&addresses(&jobmanagers));
        out.extend(jobmanagers);
        out.extend(taskmanagers);
    }
    out.extend(zookeepers);
    out
}

/// Where the official image puts the application's jars (on every Flink process's classpath).
const USRLIB: &str = "/opt/flink/usrlib";
/// The sha256 of an application jar mounted from the host: a rebuilt jar replaces the containers.
const APPLICATION_JAR_LABEL: &str = "io.flinkform.application-jar-sha256";

/// `standalone-job [--job-classname C] args…`: what an application cluster's JobManager runs.
/// The executor adds the job id and the savepoint to start from when it creates the container
/// (they belong to that start, not to the configuration).
fn application_command(app: &crate::config::Application) -> Vec<String> {
    let mut command = vec!["standalone-job".to_string()];
    if let Some(class) = &app.entry_class {
        command.extend(["--job-classname".to_string(), class.clone()]);
    }
    command.extend(app.args.iter().cloned());
    command
}

/// An application's JobManager exits when its job ends (a stop with a savepoint included), and
/// must stay down then; a crashed one comes back, and recovers its job with HA.
fn restart_policy(c: &Cluster, role: FlinkRole) -> &'static str {
    match (&c.application, role) {
        (Some(_), FlinkRole::JobManager) => "on-failure",
        _ => RESTART,
    }
}

/// A TLS cluster's settings for the executor: its root, volume, and the names its REST
/// endpoint answers to (loopback, the JobManagers' container names, a specific bind address).
fn tls_settings(project: &str, c: &Cluster, masker: &Masker) -> TlsSettings {
    let mut hosts: Vec<String> = ["localhost", "127.0.0.1", "::1"].map(String::from).to_vec();
    hosts.extend((0..c.jobmanager.replicas).map(|i| names::container(project, &c.name, "jobmanager", i)));
    let bind = &c.jobmanager.rest_bind;
    if bind.parse::<std::net::IpAddr>().is_ok_and(|ip| !ip.is_unspecified()) && !hosts.contains(bind) {
        hosts.push(bind.clone());
    }
    let volume = names::volume(project, &c.name, "tls");
    TlsSettings { root: masker.tls_root(&volume), volume, image: c.image.clone(), hosts }
}

fn addresses(instances: &[Instance]) -> Vec<String> {
    instances.iter().map(|i| i.address.clone()).collect()
}

struct Builder<'a> {
    /// TaskManagers become one service's tasks: each names itself from its task.
    swarm: bool,
    project: &'a str,
    c: &'a Cluster,
    masker: &'a Masker,
    network: String,
    volume: String,
    network_addr: String,
    volume_addr: String,
    tls: Option<TlsSettings>,
}

/// What differs between two instances of a cluster.
struct Part {
    role: Role,
    index: u32,
    spec: Spec,
    attributes: BTreeMap<String, String>,
    dependencies: Vec<String>,
    readiness: Readiness,
}

impl Builder<'_> {
    fn address(&self, role: &str, index: u32) -> String {
        part_of(&self.c.address, role, Some(Key::Index(u64::from(index))))
    }

    fn name(&self, role: &str, index: u32) -> String {
        names::container(self.project, &self.c.name, role, index)
    }

    /// Sensitive `flink_config` values reach Flink through FLINK_PROPERTIES, but the hash and
    /// the attributes see them masked.
    fn mask_props(&self, rendered: &str) -> String {
        rendered
            .lines()
            .map(|l| match l.split_once(": ") {
                Some((k, v)) if self.c.sensitive_config.contains(k) || crate::config::fields::flink_hides(k) => {
                    format!("{k}: {}\n", self.masker.mask(v))
                }
                _ => format!("{l}\n"),
            })
            .collect()
    }

    /// The spec as hashed and shown: FLINK_PROPERTIES and the role's sensitive `env` masked.
    fn masked(&self, role: Role, spec: &ContainerSpec) -> ContainerSpec {
        let mut spec = spec.clone();
        if let Some(p) = spec.env.get_mut("FLINK_PROPERTIES") {
            *p = self.mask_props(p);
        }
        if role == Role::JobManager
            && let Some(app) = self.c.application.as_ref().filter(|a| a.sensitive_args)
        {
            let fixed = spec.command.len() - app.args.len();
            for a in spec.command.iter_mut().skip(fixed) {
                *a = self.masker.mask(a);
            }
        }
        let sensitive = self.extras(role).sensitive_env;
        for (_, v) in spec.env.iter_mut().filter(|(k, _)| sensitive.contains(*k)) {
            *v = self.masker.mask(v);
        }
        spec
    }

    /// What the user added to this role's containers: the cluster's, then the role's own.
    fn extras(&self, role: Role) -> FlinkExtras {
        match role {
            Role::JobManager => self.c.extras.with(&self.c.jobmanager.extras),
            Role::TaskManager => self.c.extras.with(&self.c.taskmanager.extras),
            _ => FlinkExtras::default(),
        }
    }

    fn instance(&self, kind: Kind, address: String, name: String, part: Part) -> Instance {
        let hashed = match &part.spec {
            Spec::Container(spec) => Spec::Container(self.masked(part.role, spec)),
            other => other.clone(),
        };
        // What writes the TLS material and speaks to the REST API needs the cluster's root.
        let tls = match (part.role, kind) {
            (Role::JobManager | Role::TaskManager, _) => self.tls.clone(),
            (Role::Volume, Kind::Volume) => self.tls.clone().filter(|t| name == t.volume),
            _ => None,
        };
        Instance {
            config_hash: config_hash(&hashed),
            address,
            kind,
            role: part.role,
            cluster: self.c.address.clone(),
            name,
            spec: part.spec,
            attributes: part.attributes,
            dependencies: part.dependencies,
            readiness: part.readiness,
            prevent_destroy: self.c.meta.prevent_destroy,
            ignore_changes: self.c.meta.ignore_changes.clone(),
            job: None,
            tls,
            pull: match part.role {
                Role::Zookeeper => self.c.zookeeper.as_ref().map(|z| z.pull).unwrap_or_default(),
                _ => self.c.pull,
            },
        }
    }

    fn container_instance(&self, role_name: &str, part: Part) -> Instance {
        self.instance(Kind::Container, self.address(role_name, part.index), self.name(role_name, part.index), part)
    }

    fn infrastructure(&self) -> Vec<Instance> {
        let infra = |kind: Kind, role: Role, address: &str, name: &str, spec: Spec, driver: &str| {
            let attributes = BTreeMap::from([("name".into(), name.to_string()), ("driver".into(), driver.into())]);
            let part = Part { role, index: 0, spec, attributes, dependencies: vec![], readiness: Readiness::None };
            self.instance(kind, address.to_string(), name.to_string(), part)
        };
        let mut out = vec![
            infra(
                Kind::Network,
                Role::Network,
                &self.network_addr,
                &self.network,
                Spec::Network { driver: "bridge".into() },
                "bridge",
            ),
            infra(
                Kind::Volume,
                Role::Volume,
                &self.volume_addr,
                &self.volume,
                Spec::Volume { driver: "local".into() },
                "local",
            ),
        ];
        if let Some(t) = &self.tls {
            // The keystores, written by flinkform before a Flink container starts; replacing
            // the volume rotates every certificate (and restarts the containers reading it).
            let mut v = infra(
                Kind::Volume,
                Role::Volume,
                &self.tls_addr(),
                &t.volume,
                Spec::Volume { driver: "local".into() },
                "local",
            );
            v.attributes.insert("content".into(), "mutual TLS keystores (derived from the key; never in state)".into());
            out.push(v);
        }
        let servers = self.c.zookeeper.as_ref().map_or(0, |zk| zk.replicas);
        for i in 0..servers {
            let (address, name) = self.zookeeper_volume(i);
            let spec = Spec::Volume { driver: "local".into() };
            out.push(infra(Kind::Volume, Role::Volume, &address, &name, spec, "local"));
        }
        out
    }

    fn tls_addr(&self) -> String {
        part_of(&self.c.address, "volume", Some(Key::Name("tls".into())))
    }

    /// ZooKeeper server `i`'s own volume (its snapshots and transaction log): a replaced server
    /// starts from its data and rejoins, instead of starting empty.
    fn zookeeper_volume(&self, i: u32) -> (String, String) {
        let key = format!("zookeeper-{i}");
        let address = part_of(&self.c.address, "volume", Some(Key::Name(key.clone())));
        (address, names::volume(self.project, &self.c.name, &key))
    }

    fn container(
        &self,
        name: &str,
        image: &str,
        command: Vec<String>,
        env: BTreeMap<String, String>,
        memory_mib: u64,
    ) -> ContainerSpec {
        ContainerSpec {
            image: image.to_string(),
            command,
            hostname: name.to_string(),
            env,
            ports: Vec::new(),
            network: self.network.clone(),
            mounts: Vec::new(),
            memory_mib,
            restart: RESTART.into(),
            entrypoint: None,
            extra_networks: Vec::new(),
            user: None,
            healthcheck: None,
            labels: BTreeMap::new(),
            hardening: self.c.security.hardened.then(|| Hardening::for_official_images(self.c.security.pids_limit)),
        }
    }

    /// A Flink role's container — the official image's `jobmanager`/`taskmanager` command, its
    /// settings in FLINK_PROPERTIES, the data volume (HA storage, checkpoints, savepoints)
    /// mounted — and its attributes, the settings shown (masked) as `flink_config`.
    fn flink_container(
        &self,
        role: FlinkRole,
        index: u32,
        ports: Vec<PortSpec>,
        memory_mib: u64,
    ) -> (ContainerSpec, BTreeMap<String, String>) {
        let (command, rpc_address) = match role {
            FlinkRole::JobManager => ("jobmanager", self.name("jobmanager", index)),
            FlinkRole::TaskManager => ("taskmanager", self.name("jobmanager", 0)),
        };
        let name = self.name(command, index);
        let command = match (&self.c.application, role) {
            (Some(app), FlinkRole::JobManager) => application_command(app),
            _ => vec![command.to_string()],
        };
        let mut props = properties(self.project, self.c, role, index);
        let name = match role {
            FlinkRole::TaskManager if self.swarm => {
                props.insert("taskmanager.resource-id".into(), super::swarm::TASK_NAME.into());
                super::swarm::TASK_NAME.to_string()
            }
            _ => name,
        };
        let mut mounts =
            vec![MountSpec { volume: self.volume.clone(), target: DATA_DIR.into(), bind: false, read_only: false }];
        if let Some(t) = &self.tls {
            super::flink_conf::tls_properties(&mut props, TLS_DIR, &t.root.keystore_password());
            mounts.push(MountSpec { volume: t.volume.clone(), target: TLS_DIR.into(), bind: false, read_only: true });
        }
        let props = render(&props);
        let role_of = match role {
            FlinkRole::JobManager => Role::JobManager,
            FlinkRole::TaskManager => Role::TaskManager,
        };
        let extras = self.extras(role_of);
        let mut env = extras.env.clone();
        env.insert("FLINK_PROPERTIES".to_string(), props.clone());
        env.insert("JOB_MANAGER_RPC_ADDRESS".to_string(), rpc_address);
        if !extras.plugins.is_empty() {
            // The official image's entrypoint links each named jar from opt/ into plugins/.
            env.insert("ENABLE_BUILT_IN_PLUGINS".to_string(), extras.plugins.join(";"));
        }
        let mut ports = ports;
        ports.extend(extras.ports.iter().map(|p| PortSpec {
            container_port: p.container_port,
            host_ip: p.host_ip.clone(),
            // Each replica publishes on the next port, as `rest_port` does.
            host_port: p.host_port.map(|h| h + index as u16),
            protocol: p.protocol.clone(),
        }));
        let mut labels = extras.labels.clone();
        if let Some(jar) = self.c.application.as_ref().and_then(|a| a.jar.as_ref()) {
            // Every Flink process of an application cluster has the jar on its classpath (as
            // Flink's docs mount it); its content, by hash, is part of the spec.
            let file = jar.path.file_name().map(|f| f.to_string_lossy().to_string()).unwrap_or_default();
            mounts.push(MountSpec {
                volume: jar.path.display().to_string(),
                target: format!("{USRLIB}/{file}"),
                bind: true,
                read_only: true,
            });
            labels.insert(APPLICATION_JAR_LABEL.into(), jar.sha256.clone());
        }
        mounts.extend(extras.mounts.iter().map(|m| MountSpec {
            volume: m.source.clone(),
            target: m.target.clone(),
            bind: m.source.starts_with('/'),
            read_only: m.read_only,
        }));
        let spec = ContainerSpec {
            ports,
            mounts,
            labels,
            user: extras.user.clone(),
            restart: restart_policy(self.c, role).into(),
            ..self.container(&name, &self.c.image, command, env, memory_mib)
        };
        let mut attributes = attributes::of_container(&name, &self.masked(role_of, &spec));
        attributes.insert("flink_config".into(), self.mask_props(&props));
        (spec, attributes)
    }

    /// A cluster role's dependencies: its network and data volume, then the roles it follows.
    fn dependencies(&self, before: &[String]) -> Vec<String> {
        let mut dependencies = vec![self.network_addr.clone(), self.volume_addr.clone()];
        if self.tls.is_some() {
            dependencies.push(self.tls_addr());
        }
        dependencies.extend(before.iter().cloned());
        dependencies
    }

    /// ZooKeeper servers, the official image's interface (`ZOO_MY_ID`, `ZOO_SERVERS`).
    fn zookeepers(&self) -> Vec<Instance> {
        let Some(zk) = &self.c.zookeeper else { return Vec::new() };
        let servers: Vec<String> = (0..zk.replicas)
            .map(|i| format!("server.{}={}:2888:3888;2181", i + 1, self.name("zookeeper", i)))
            .collect();
        (0..zk.replicas)
            .map(|i| {
                let name = self.name("zookeeper", i);
                let mut env = BTreeMap::from([("ZOO_MY_ID".to_string(), (i + 1).to_string())]);
                if zk.replicas > 1 {
                    env.insert("ZOO_SERVERS".to_string(), servers.join(" "));
                }
                env.insert("JVMFLAGS".to_string(), format!("-Xmx{}m", (zk.memory.mib / 2).max(64)));
                // Snapshots and the transaction log together on the server's own volume, as
                // ZooKeeper lays them out by default; the image's own command.
                env.insert("ZOO_DATA_LOG_DIR".to_string(), ZOOKEEPER_DATA.to_string());
                let (volume_addr, volume) = self.zookeeper_volume(i);
                let data = MountSpec { volume, target: ZOOKEEPER_DATA.into(), bind: false, read_only: false };
                let spec = ContainerSpec {
                    mounts: vec![data],
                    ..self.container(&name, &zk.image, vec![], env, zk.memory.mib)
                };
                let attributes = attributes::of_container(&name, &spec);
                let part = Part {
                    role: Role::Zookeeper,
                    index: i,
                    spec: Spec::Container(spec),
                    attributes,
                    dependencies: vec![self.network_addr.clone(), volume_addr],
                    readiness: Readiness::Zookeeper,
                };
                self.container_instance("zookeeper", part)
            })
            .collect()
    }

    /// JobManagers (the official flink image's `jobmanager`), REST published as configured.
    fn jobmanagers(&self, zookeepers: &[String]) -> Vec<Instance> {
        let c = self.c;
        (0..c.jobmanager.replicas)
            .map(|i| {
                let port = PortSpec {
                    container_port: 8081,
                    host_ip: c.jobmanager.rest_bind.clone(),
                    host_port: c.jobmanager.rest_port.map(|p| p + i as u16),
                    protocol: "tcp".into(),
                };
                let (spec, attributes) =
                    self.flink_container(FlinkRole::JobManager, i, vec![port], c.jobmanager.memory.mib);
                let dependencies = self.dependencies(zookeepers);
                let part = Part {
                    role: Role::JobManager,
                    index: i,
                    spec: Spec::Container(spec),
                    attributes,
                    dependencies,
                    readiness: Readiness::FlinkRest,
                };
                self.container_instance("jobmanager", part)
            })
            .collect()
    }

    /// TaskManagers (`taskmanager`, `taskmanager.resource-id` = container name).
    fn taskmanagers(&self, jobmanagers: &[String]) -> Vec<Instance> {
        let c = self.c;
        (0..c.taskmanager.replicas)
            .map(|i| {
                let (spec, mut attributes) =
                    self.flink_container(FlinkRole::TaskManager, i, vec![], c.taskmanager.memory.mib);
                attributes.insert("slots".into(), c.taskmanager.slots.to_string());
                let dependencies = self.dependencies(jobmanagers);
                let part = Part {
                    role: Role::TaskManager,
                    index: i,
                    spec: Spec::Container(spec),
                    attributes,
                    dependencies,
                    readiness: Readiness::TaskManagerRegistered { slots: u64::from(c.taskmanager.slots) },
                };
                self.container_instance("taskmanager", part)
            })
            .collect()
    }
}
