//! A container's attributes — the reviewer's view of it in plans and in the state — made by one
//! function for every container: cluster roles, `container` blocks and imported containers.
//! Given the spec as hashed (sensitive values already masked). `FLINK_PROPERTIES` is left to
//! the cluster roles, which show it as `flink_config`.

use super::ContainerSpec;
use std::collections::BTreeMap;

pub fn of_container(name: &str, spec: &ContainerSpec) -> BTreeMap<String, String> {
    let mut a = BTreeMap::new();
    a.insert("name".to_string(), name.to_string());
    a.insert("image".to_string(), spec.image.clone());
    a.insert("restart".to_string(), spec.restart.clone());
    if spec.memory_mib > 0 {
        a.insert("memory".to_string(), format!("{}m", spec.memory_mib));
    }
    if !spec.command.is_empty() {
        a.insert("command".to_string(), format!("{:?}", spec.command));
    }
    if let Some(e) = &spec.entrypoint {
        a.insert("entrypoint".to_string(), format!("{e:?}"));
    }
    if let Some(u) = &spec.user {
        a.insert("user".to_string(), u.clone());
    }
    let networks: Vec<&str> =
        std::iter::once(spec.network.as_str()).chain(spec.extra_networks.iter().map(String::as_str)).collect();
    if !spec.network.is_empty() {
        a.insert("networks".to_string(), networks.join(", "));
    }
    for (k, v) in spec.env.iter().filter(|(k, _)| *k != "FLINK_PROPERTIES") {
        a.insert(format!("env.{k}"), v.clone());
    }
    for p in &spec.ports {
        let host = p.host_port.map(|h| h.to_string()).unwrap_or_else(|| "(ephemeral)".into());
        a.insert(format!("port.{}/{}", p.container_port, p.protocol), format!("{}:{host}", p.host_ip));
    }
    for m in &spec.mounts {
        a.insert(format!("mount.{}", m.target), format!("{}{}", m.volume, if m.read_only { " (ro)" } else { "" }));
    }
    for (k, v) in &spec.labels {
        a.insert(format!("label.{k}"), v.clone());
    }
    if let Some(h) = &spec.hardening {
        a.insert("security_opt".to_string(), if h.no_new_privileges { "no-new-privileges" } else { "" }.to_string());
        a.insert("cap_drop".to_string(), h.cap_drop.join(", "));
        a.insert("cap_add".to_string(), h.cap_add.join(", "));
        a.insert("pids_limit".to_string(), h.pids_limit.to_string());
    }
    if let Some(h) = &spec.healthcheck {
        a.insert("healthcheck".to_string(), format!("{:?} every {}s", h.test, h.interval_s));
    }
    a
}
