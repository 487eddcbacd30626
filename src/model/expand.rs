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

/// Every desired instance of a configuration.
pub fn expand(config: &Config) -> Desired {
    let project = &config.settings.project;
    let mut out = Desired::new();
    for c in config.clusters.values() {
        for i in cluster_instances(project, c) {
            out.insert(i.address.clone(), i);
        }
    }
    for j in config.jobs.values() {
        let i = job_instance(j, &out);
        out.insert(i.address.clone(), i);
    }
    out
}

/// A job depends on every JobManager and TaskManager of its cluster: it is submitted after
/// they are ready, and stopped (with a savepoint) before any of them is removed.
fn job_instance(j: &crate::config::Job, cluster_instances: &Desired) -> Instance {
    let prefix = format!("cluster.{}.", j.cluster);
    let dependencies = cluster_instances
        .values()
        .filter(|i| i.address.starts_with(&prefix) && matches!(i.role, Role::JobManager | Role::TaskManager))
        .map(|i| i.address.clone())
        .collect();
    let spec = JobSpec {
        jar_sha256: j.jar_sha256.clone(),
        entry_class: j.entry_class.clone(),
        args: j.args.clone(),
        parallelism: j.parallelism,
        flink_config: j.flink_config.clone(),
    };
    let mut a = BTreeMap::new();
    a.insert("cluster".to_string(), j.cluster.clone());
    a.insert("jar".to_string(), j.jar.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default());
    a.insert("jar_sha256".to_string(), j.jar_sha256.clone());
    if let Some(e) = &j.entry_class {
        a.insert("entry_class".to_string(), e.clone());
    }
    a.insert("args".to_string(), format!("{:?}", j.args));
    a.insert("parallelism".to_string(), j.parallelism.to_string());
    for (k, v) in &j.flink_config {
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
        address: format!("job.{}", j.name),
        kind: Kind::Job,
        role: Role::Job,
        cluster: j.cluster.clone(),
        name: j.name.clone(),
        config_hash: config_hash(&spec),
        spec,
        attributes: a,
        dependencies,
        readiness: Readiness::None,
        prevent_destroy: false,
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
    format!("cluster.{}.{role}[{index}]", c.name)
}

fn cluster_instances(project: &str, c: &Cluster) -> Vec<Instance> {
    let network_addr = format!("cluster.{}.network", c.name);
    let volume_addr = format!("cluster.{}.volume[\"data\"]", c.name);
    let network = names::network(project, &c.name);
    let volume = names::volume(project, &c.name, "data");
    let mut out = Vec::new();

    let mut base = |address: String,
                    kind: Kind,
                    role: Role,
                    name: String,
                    spec: Spec,
                    attributes: BTreeMap<String, String>,
                    dependencies: Vec<String>,
                    readiness: Readiness| {
        out.push(Instance {
            config_hash: config_hash(&spec),
            address,
            kind,
            role,
            cluster: c.name.clone(),
            name,
            spec,
            attributes,
            dependencies,
            readiness,
            prevent_destroy: c.prevent_destroy,
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

    let data_mount = vec![MountSpec { volume: volume.clone(), target: DATA_DIR.into() }];
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
        a.insert("flink_config".into(), render(&props));
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
        a.insert("flink_config".into(), render(&props));
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
