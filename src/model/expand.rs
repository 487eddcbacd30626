//! Expansion: every block of a configuration → its addressed instances (clusters in
//! [`super::cluster`], containers, networks and volumes in [`super::generic`], jobs here), then
//! the dependencies `depends_on` and references between blocks add.

use super::hash::config_hash;
use super::sensitive::Masker;
use super::*;
use crate::config::Config;

/// Every desired instance of a configuration. `masker` is the state's: sensitive values are
/// hashed with it wherever they would be shown, stored or labelled.
pub fn expand(config: &Config, masker: &Masker) -> Desired {
    let project = &config.settings.project;
    let mut out = Desired::new();
    // Block-level dependencies (`depends_on`, references), resolved to instances at the end.
    let mut block_deps: Vec<(String, Vec<String>)> = Vec::new();
    for c in config.clusters.values() {
        for i in super::cluster::instances(project, c, masker, config.settings.engine) {
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
    // A Flink container that mounts a flinkform volume (`volumes = ["jars:/opt/flink/usrlib"]`)
    // waits for it.
    for i in out.values_mut().filter(|i| matches!(i.role, Role::JobManager | Role::TaskManager)) {
        if let Spec::Container(spec) = &i.spec {
            let named: Vec<String> = super::generic::named_infra(spec, &infra);
            for d in named {
                if !i.dependencies.contains(&d) {
                    i.dependencies.push(d);
                }
            }
        }
    }
    for c in config.containers.values() {
        let i = super::generic::container(c, masker, &infra);
        block_deps.push((i.address.clone(), c.meta.depends_on.clone()));
        out.insert(i.address.clone(), i);
    }
    for j in config.jobs.values() {
        let i = job_instance(j, &out, masker);
        block_deps.push((i.address.clone(), j.meta.depends_on.clone()));
        out.insert(i.address.clone(), i);
    }
    // Each prefix resolves once, by a range of the sorted addresses (not a scan per instance).
    let mut resolved: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (address, prefixes) in block_deps {
        if prefixes.is_empty() {
            continue;
        }
        let own_block = block_of(&address);
        let mut extra = Vec::new();
        for p in &prefixes {
            let matches = resolved.entry(p.clone()).or_insert_with(|| {
                out.range(p.clone()..)
                    .take_while(|(a, _)| a.starts_with(p.as_str()))
                    .filter(|(a, _)| crate::address::under(a, p))
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
    match config.settings.engine {
        crate::config::EngineKind::Docker => out,
        crate::config::EngineKind::Swarm => super::swarm::services(config, out),
    }
}

/// The block instance an address belongs to (`module.m.cluster.x[0]` for
/// `module.m.cluster.x[0].jobmanager[1]`).
fn block_of(address: &str) -> Option<crate::address::Address> {
    crate::address::Address::parse(address).ok().map(|a| a.block())
}

/// A job depends on every JobManager and TaskManager of its cluster: it is submitted after
/// they are ready, and stopped (with a savepoint) before any of them is removed.
fn job_instance(j: &crate::config::Job, cluster_instances: &Desired, masker: &Masker) -> Instance {
    let dependencies = cluster_instances
        .values()
        .filter(|i| i.cluster == j.cluster && matches!(i.role, Role::JobManager | Role::TaskManager))
        .map(|i| i.address.clone())
        .collect();
    let masked_config: BTreeMap<String, String> = j
        .flink_config
        .iter()
        .map(|(k, v)| (k.clone(), if j.sensitive_config.contains(k) { masker.mask(v) } else { v.clone() }))
        .collect();
    let masked_args: Vec<String> =
        if j.sensitive_args { j.args.iter().map(|a| masker.mask(a)).collect() } else { j.args.clone() };
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
    match j.jar.file_name() {
        Some(file) => {
            a.insert("jar".to_string(), file.to_string_lossy().to_string());
            a.insert("jar_sha256".to_string(), j.jar_sha256.clone());
        }
        None => {
            a.insert("jar".to_string(), "(in the image's /opt/flink/usrlib)".to_string());
        }
    }
    if j.application {
        a.insert("mode".to_string(), "application".to_string());
    }
    if let Some(e) = &j.entry_class {
        a.insert("entry_class".to_string(), e.clone());
    }
    a.insert("args".to_string(), format!("{masked_args:?}"));
    a.insert("parallelism".to_string(), j.parallelism.to_string());
    for (k, v) in &masked_config {
        a.insert(format!("flink_config.{k}"), v.clone());
    }
    a.insert("upgrade_mode".to_string(), j.upgrade_mode.as_str().to_string());
    a.insert("savepoint_dir".to_string(), j.savepoint_dir.clone());
    a.insert(
        "state".to_string(),
        serde_json::to_value(j.state).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default(),
    );
    let spec = Spec::Job(spec);
    let tls = cluster_instances.values().find(|i| i.cluster == j.cluster && i.role == Role::JobManager);
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
            application: j.application,
        }),
        tls: tls.and_then(|i| i.tls.clone()),
        pull: Default::default(),
    }
}
