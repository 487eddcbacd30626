//! Expansion of `container`, `network` and `volume` blocks: one instance each, with the spec
//! Docker gets and the attributes a reviewer reads (sensitive env values masked). A container
//! depends on the flinkform networks and volumes it names.

use super::hash::config_hash;
use super::sensitive::Masker;
use super::*;
use crate::config::{Container, Infra};

pub fn infra(kind: Kind, n: &Infra) -> Instance {
    let spec = match kind {
        Kind::Network => Spec::Network { driver: n.driver.clone() },
        _ => Spec::Volume { driver: n.driver.clone() },
    };
    let attributes = BTreeMap::from([("name".to_string(), n.name.clone()), ("driver".into(), n.driver.clone())]);
    Instance {
        address: n.address.clone(),
        kind,
        role: if kind == Kind::Network { Role::Network } else { Role::Volume },
        cluster: String::new(),
        name: n.name.clone(),
        config_hash: config_hash(&spec),
        spec,
        attributes,
        dependencies: Vec::new(),
        readiness: Readiness::None,
        prevent_destroy: n.meta.prevent_destroy,
        ignore_changes: n.meta.ignore_changes.clone(),
        job: None,
        tls: None,
        pull: Default::default(),
    }
}

/// `infra`: flinkform's networks and volumes by (kind, Docker name) → address.
pub fn container(c: &Container, masker: &Masker, infra: &BTreeMap<(Kind, String), String>) -> Instance {
    let network = c.networks.first().cloned().unwrap_or_default();
    let spec = ContainerSpec {
        image: c.image.clone(),
        command: c.command.clone(),
        hostname: c.hostname.clone().unwrap_or_else(|| c.name.clone()),
        env: c.env.clone(),
        ports: c
            .ports
            .iter()
            .map(|p| PortSpec {
                container_port: p.container_port,
                host_ip: p.host_ip.clone(),
                host_port: p.host_port,
                protocol: p.protocol.clone(),
            })
            .collect(),
        network,
        mounts: c
            .mounts
            .iter()
            .map(|m| MountSpec {
                volume: m.source.clone(),
                target: m.target.clone(),
                bind: m.source.starts_with('/'),
                read_only: m.read_only,
            })
            .collect(),
        memory_mib: c.memory.map(|m| m.mib).unwrap_or(0),
        restart: c.restart.clone(),
        entrypoint: c.entrypoint.clone(),
        extra_networks: c.networks.iter().skip(1).cloned().collect(),
        user: c.user.clone(),
        healthcheck: c.healthcheck.as_ref().map(|h| HealthSpec {
            test: h.test.clone(),
            interval_s: h.interval_s,
            timeout_s: h.timeout_s,
            retries: h.retries,
            start_period_s: h.start_period_s,
        }),
        labels: c.labels.clone(),
        hardening: None,
    };
    let mut hashed = spec.clone();
    for (k, v) in hashed.env.iter_mut() {
        if c.sensitive_env.contains(k) {
            *v = masker.mask(v);
        }
    }
    if c.sensitive_command {
        hashed.command = hashed.command.iter().map(|a| masker.mask(a)).collect();
    }

    let a = super::attributes::of_container(&c.name, &hashed);

    // The flinkform networks and volumes it names come first.
    let dependencies = named_infra(&spec, infra);
    Instance {
        address: c.address.clone(),
        kind: Kind::Container,
        role: Role::Service,
        cluster: String::new(),
        name: c.name.clone(),
        config_hash: config_hash(&Spec::Container(hashed)),
        spec: Spec::Container(spec),
        attributes: a,
        dependencies,
        readiness: if c.healthcheck.is_some() { Readiness::Healthy } else { Readiness::None },
        prevent_destroy: c.meta.prevent_destroy,
        ignore_changes: c.meta.ignore_changes.clone(),
        job: None,
        tls: None,
        pull: c.pull,
    }
}

/// The addresses of the flinkform networks and volumes a container spec names, sorted.
pub fn named_infra(spec: &ContainerSpec, infra: &BTreeMap<(Kind, String), String>) -> Vec<String> {
    let networks = std::iter::once(&spec.network).chain(&spec.extra_networks).map(|n| (Kind::Network, n.clone()));
    let mounted = spec.mounts.iter().filter(|m| !m.bind).map(|m| (Kind::Volume, m.volume.clone()));
    let mut dependencies: Vec<String> = networks.chain(mounted).filter_map(|k| infra.get(&k).cloned()).collect();
    dependencies.sort();
    dependencies.dedup();
    dependencies
}
