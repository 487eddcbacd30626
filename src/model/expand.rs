//! Expansion: each `cluster` block → its network, data volume, ZooKeeper servers, JobManagers
//! and TaskManagers, with dependencies network/volume → zookeeper → jobmanager → taskmanager.

use super::hash::config_hash;
use super::*;
use crate::config::{Cluster, Config};
use crate::flink::config::{FlinkRole, properties, render};
use crate::names;

/// Restart policy for cluster containers: a crashed JobManager or TaskManager comes back (what
/// makes HA real), while one stopped on purpose with `docker stop` stays stopped, and is shown
/// by the next plan.
const RESTART: &str = "unless-stopped";
const DATA_DIR: &str = "/flink-data";

/// Every desired instance of a configuration. `salt` is the state's: sensitive values are
/// hashed with it wherever they would be shown, stored or labelled.
pub fn expand(config: &Config, salt: &str) -> Desired {
    let project = &config.settings.project;
    let mut out = Desired::new();
    // Block-level dependencies (`depends_on`, references), resolved to instances at the end.
    let mut block_deps: Vec<(String, Vec<String>)> = Vec::new();
    for c in config.clusters.values() {
        for i in cluster_instances(project, c, salt) {
            block_deps.push((i.address.clone(), c.meta.depends_on.clone()));
            out.insert(i.address.clone(), i);
        }
    }
    for (kind, infra) in [(Kind::Network, &config.networks), (Kind::Volume, &config.volumes)] {
        for n in infra.values() {
            let i = super::generic::infra(kind, n);
            block_deps.push((i.address.clone(), n.meta.depends_on.clone()));
            out.insert(i.address.clone(), i);
        }
    }
    // Networks and volumes by Docker name, for the containers that name them.
    let infra: BTreeMap<(Kind, String), String> = out
        .values()
        .filter(|i| matches!(i.kind, Kind::Network | Kind::Volume))
        .map(|i| ((i.kind, i.name.clone()), i.address.clone()))
        .collect();
    for c in config.containers.values() {
        let i = super::generic::container(c, salt, &infra);
        block_deps.push((i.address.clone(), c.meta.depends_on.clone()));
        out.insert(i.address.clone(), i);
    }
    for j in config.jobs.values() {
        let i = job_instance(j, &out, salt);
        block_deps.push((i.address.clone(), j.meta.depends_on.clone()));
        out.insert(i.address.clone(), i);
    }
    // Each prefix resolves once, by a range of the sorted addresses (not a scan per instance).
    let mut resolved: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (address, prefixes) in block_deps {
        if prefixes.is_empty() {
            continue;
        }
        let own_block = block_of(&address).to_string();
        let mut extra = Vec::new();
        for p in &prefixes {
            let matches = resolved.entry(p.clone()).or_insert_with(|| {
                out.range(p.clone()..)
                    .take_while(|(a, _)| a.starts_with(p.as_str()))
                    .filter(|(a, _)| under(a, p))
                    .map(|(a, _)| a.clone())
                    .collect()
            });
            extra.extend(matches.iter().filter(|a| block_of(a) != own_block).cloned());
        }
        if let Some(i) = out.get_mut(&address) {
            for e in extra {
                if !i.dependencies.contains(&e) {
                    i.dependencies.push(e);
                }
            }
            i.dependencies.sort();
        }
    }
    out
}

/// Whether `address` is, or is inside, the block or module at `prefix`.
fn under(address: &str, prefix: &str) -> bool {
    if prefix.ends_with('.') {
        return address.starts_with(prefix);
    }
    address == prefix || address.strip_prefix(prefix).is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
}

/// The block an instance belongs to: `module.m.cluster.x` for `module.m.cluster.x[0].jobmanager[1]`.
fn block_of(address: &str) -> &str {
    let mut offset = 0;
    let mut skip_next = false;
    for seg in address.split('.') {
        offset += seg.len() + 1;
        if skip_next {
            skip_next = false;
            continue;
        }
        if seg == "module" {
            skip_next = true;
            continue;
        }
        if ["cluster", "container", "job", "network", "volume"].contains(&seg) {
            let rest = address.get(offset..).unwrap_or("");
            let name_len = rest.find(['.', '[']).unwrap_or(rest.len());
            let key_len = if rest[name_len..].starts_with('[') {
                rest[name_len..].find(']').map(|e| e + 1).unwrap_or(0)
            } else {
                0
            };
            return &address[..offset + name_len + key_len];
        }
    }
    address
}

/// A job depends on every JobManager and TaskManager of its cluster: it is submitted after
/// they are ready, and stopped (with a savepoint) before any of them is removed.
fn job_instance(j: &crate::config::Job, cluster_instances: &Desired, salt: &str) -> Instance {
    let dependencies = cluster_instances
        .values()
        .filter(|i| i.cluster == j.cluster && matches!(i.role, Role::JobManager | Role::TaskManager))
        .map(|i| i.address.clone())
        .collect();
    let masked_config: BTreeMap<String, String> = j
        .flink_config
        .iter()
        .map(|(k, v)| (k.clone(), if j.sensitive_config.contains(k) { sensitive::mask(salt, v) } else { v.clone() }))
        .collect();
    let masked_args: Vec<String> =
        if j.sensitive_args { j.args.iter().map(|a| sensitive::mask(salt, a)).collect() } else { j.args.clone() };
    let spec = JobSpec {
        jar_sha256: j.jar_sha256.clone(),
        entry_class: j.entry_class.clone(),
        args: j.args.clone(),
        parallelism: j.parallelism,
        flink_config: j.flink_config.clone(),
    };
    let hashed = Spec::Job(JobSpec { args: masked_args.clone(), flink_config: masked_config.clone(), ..spec.clone() });
    let mut a = BTreeMap::new();
    a.insert("cluster".to_string(), j.cluster.clone());
    a.insert("jar".to_string(), j.jar.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default());
    a.insert("jar_sha256".to_string(), j.jar_sha256.clone());
    if let Some(e) = &j.entry_class {
        a.insert("entry_class".to_string(), e.clone());
    }
    a.insert("args".to_string(), format!("{masked_args:?}"));
    a.insert("parallelism".to_string(), j.parallelism.to_string());
    for (k, v) in &masked_config {
        a.insert(format!("flink_config.{k}"), v.clone());
    }
    a.insert(
        "upgrade_mode".to_string(),
        serde_json::to_value(j.upgrade_mode).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default(),
    );
    a.insert("savepoint_dir".to_string(), j.savepoint_dir.clone());
    a.insert(
        "state".to_string(),
        serde_json::to_value(j.state).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default(),
    );
    let spec = Spec::Job(spec);
    Instance {
        address: j.address.clone(),
        kind: Kind::Job,
        role: Role::Job,
        cluster: j.cluster.clone(),
        name: j.name.clone(),
        config_hash: config_hash(&hashed),
        spec,
        attributes: a,
        dependencies,
        readiness: Readiness::None,
        prevent_destroy: j.meta.prevent_destroy,
        ignore_changes: j.meta.ignore_changes.clone(),
        job: Some(JobSettings {
            jar: j.jar.clone(),
            upgrade_mode: j.upgrade_mode,
            state: j.state,
            allow_non_restored_state: j.allow_non_restored_state,
            savepoint_dir: j.savepoint_dir.clone(),
        }),
    }
}

fn addr(c: &Cluster, role: &str, index: u32) -> String {
    format!("{}.{role}[{index}]", c.address)
}

fn cluster_instances(project: &str, c: &Cluster, salt: &str) -> Vec<Instance> {
    let network_addr = format!("{}.network", c.address);
    let volume_addr = format!("{}.volume[\"data\"]", c.address);
    let network = names::network(project, &c.name);
    let volume = names::volume(project, &c.name, "data");
    let mut out = Vec::new();
    // Sensitive `flink_config` values reach Flink through FLINK_PROPERTIES, but the hash and
    // the attributes see them masked.
    let mask_props = |rendered: &str| -> String {
        if c.sensitive_config.is_empty() {
            return rendered.to_string();
        }
        rendered
            .lines()
            .map(|l| match l.split_once(": ") {
                Some((k, v)) if c.sensitive_config.contains(k) => format!("{k}: {}\n", sensitive::mask(salt, v)),
                _ => format!("{l}\n"),
            })
            .collect()
    };
    let masked_spec = |spec: &Spec| -> Spec {
        let mut spec = spec.clone();
        if let Spec::Container(cs) = &mut spec
            && let Some(p) = cs.env.get_mut("FLINK_PROPERTIES")
        {
            *p = mask_props(p);
        }
        spec
    };

    let mut base = |address: String,
                    kind: Kind,
                    role: Role,
                    name: String,
                    spec: Spec,
                    attributes: BTreeMap<String, String>,
                    dependencies: Vec<String>,
                    readiness: Readiness| {
        out.push(Instance {
            config_hash: config_hash(&masked_spec(&spec)),
            address,
            kind,
            role,
            cluster: c.address.clone(),
            name,
            spec,
            attributes,
            dependencies,
            readiness,
            prevent_destroy: c.meta.prevent_destroy,
            ignore_changes: c.meta.ignore_changes.clone(),
            job: None,
        });
    };

    let attrs = |pairs: &[(&str, String)]| -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
    };
    base(
        network_addr.clone(),
        Kind::Network,
        Role::Network,
        network.clone(),
        Spec::Network { driver: "bridge".into() },
        attrs(&[("name", network.clone()), ("driver", "bridge".into())]),
        vec![],
        Readiness::None,
    );
    base(
        volume_addr.clone(),
        Kind::Volume,
        Role::Volume,
        volume.clone(),
        Spec::Volume { driver: "local".into() },
        attrs(&[("name", volume.clone()), ("driver", "local".into())]),
        vec![],
        Readiness::None,
    );

    let container = |name: &str,
                     image: &str,
                     command: Vec<String>,
                     env: BTreeMap<String, String>,
                     ports: Vec<PortSpec>,
                     mounts: Vec<MountSpec>,
                     memory_mib: u64| ContainerSpec {
        image: image.to_string(),
        command,
        hostname: name.to_string(),
        env,
        ports,
        network: network.clone(),
        mounts,
        memory_mib,
        restart: RESTART.into(),
        entrypoint: None,
        extra_networks: Vec::new(),
        user: None,
        healthcheck: None,
        labels: BTreeMap::new(),
    };
    let common_attrs = |spec: &ContainerSpec, name: &str| -> BTreeMap<String, String> {
        let mut a = BTreeMap::new();
        a.insert("name".into(), name.to_string());
        a.insert("image".into(), spec.image.clone());
        a.insert("memory".into(), format!("{}m", spec.memory_mib));
        a.insert("network".into(), spec.network.clone());
        a.insert("restart".into(), spec.restart.clone());
        if !spec.command.is_empty() {
            a.insert("command".into(), spec.command.join(" "));
        }
        for m in &spec.mounts {
            a.insert(format!("mount.{}", m.target), m.volume.clone());
        }
        for p in &spec.ports {
            let host = p.host_port.map(|h| h.to_string()).unwrap_or_else(|| "(ephemeral)".into());
            a.insert(format!("port.{}", p.container_port), format!("{}:{host}", p.host_ip));
        }
        a
    };

    let mut zk_addrs = Vec::new();
    if let Some(zk) = &c.zookeeper {
        let servers: Vec<String> = (0..zk.replicas)
            .map(|i| format!("server.{}={}:2888:3888;2181", i + 1, names::container(project, &c.name, "zookeeper", i)))
            .collect();
        for i in 0..zk.replicas {
            let name = names::container(project, &c.name, "zookeeper", i);
            let mut env = BTreeMap::new();
            env.insert("ZOO_MY_ID".to_string(), (i + 1).to_string());
            if zk.replicas > 1 {
                env.insert("ZOO_SERVERS".to_string(), servers.join(" "));
            }
            env.insert("JVMFLAGS".to_string(), format!("-Xmx{}m", (zk.memory.mib / 2).max(64)));
            let spec = container(&name, &zk.image, vec![], env.clone(), vec![], vec![], zk.memory.mib);
            let mut a = common_attrs(&spec, &name);
            for (k, v) in &env {
                a.insert(format!("env.{k}"), v.clone());
            }
            let address = addr(c, "zookeeper", i);
            zk_addrs.push(address.clone());
            base(
                address,
                Kind::Container,
                Role::Zookeeper,
                name,
                Spec::Container(spec),
                a,
                vec![network_addr.clone()],
                Readiness::Zookeeper,
            );
        }
    }

    let data_mount = vec![MountSpec { volume: volume.clone(), target: DATA_DIR.into(), bind: false, read_only: false }];
    let mut jm_addrs = Vec::new();
    for i in 0..c.jobmanager.replicas {
        let name = names::container(project, &c.name, "jobmanager", i);
        let props = properties(project, c, FlinkRole::JobManager, i);
        let mut env = BTreeMap::new();
        env.insert("FLINK_PROPERTIES".to_string(), render(&props));
        env.insert("JOB_MANAGER_RPC_ADDRESS".to_string(), name.clone());
        let port = PortSpec {
            container_port: 8081,
            host_ip: c.jobmanager.rest_bind.clone(),
            host_port: c.jobmanager.rest_port.map(|p| p + i as u16),
            protocol: "tcp".into(),
        };
        let spec = container(
            &name,
            &c.image,
            vec!["jobmanager".into()],
            env,
            vec![port],
            data_mount.clone(),
            c.jobmanager.memory.mib,
        );
        let mut a = common_attrs(&spec, &name);
        a.insert("flink_config".into(), mask_props(&render(&props)));
        let mut deps = vec![network_addr.clone(), volume_addr.clone()];
        deps.extend(zk_addrs.iter().cloned());
        let address = addr(c, "jobmanager", i);
        jm_addrs.push(address.clone());
        base(address, Kind::Container, Role::JobManager, name, Spec::Container(spec), a, deps, Readiness::FlinkRest);
    }

    for i in 0..c.taskmanager.replicas {
        let name = names::container(project, &c.name, "taskmanager", i);
        let props = properties(project, c, FlinkRole::TaskManager, i);
        let mut env = BTreeMap::new();
        env.insert("FLINK_PROPERTIES".to_string(), render(&props));
        env.insert("JOB_MANAGER_RPC_ADDRESS".to_string(), names::container(project, &c.name, "jobmanager", 0));
        let spec = container(
            &name,
            &c.image,
            vec!["taskmanager".into()],
            env,
            vec![],
            data_mount.clone(),
            c.taskmanager.memory.mib,
        );
        let mut a = common_attrs(&spec, &name);
        a.insert("flink_config".into(), mask_props(&render(&props)));
        a.insert("slots".into(), c.taskmanager.slots.to_string());
        let mut deps = vec![network_addr.clone(), volume_addr.clone()];
        deps.extend(jm_addrs.iter().cloned());
        base(
            addr(c, "taskmanager", i),
            Kind::Container,
            Role::TaskManager,
            name,
            Spec::Container(spec),
            a,
            deps,
            Readiness::TaskManagerRegistered,
        );
    }
    out
}
