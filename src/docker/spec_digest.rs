//! What flinkform sent in a service's spec, kept beside it: a short digest of each field it
//! sets (image, command, environment, mounts, limits, placement, ports, secrets…), in one
//! label of the service. A service's config-hash label says which configuration it was made
//! for, but `docker service update --image …` changes the spec and keeps every label; the
//! live spec's digests against the label's name what was changed outside flinkform.
//! Only fields flinkform sets are digested, as the engine returns them unchanged (the engine
//! fills in defaults elsewhere). The scheme is versioned: `v1;field=digest,…`.

use bollard::models::ServiceSpec;
use sha2::Digest;
use std::collections::BTreeMap;

/// The label holding the digests of the spec flinkform sent.
pub const LABEL_SPEC: &str = "io.flinkform.spec-digest";
const SCHEME: &str = "v1";

/// Each digested field of `spec`, by name.
fn fields(spec: &ServiceSpec) -> BTreeMap<&'static str, String> {
    let task = spec.task_template.clone().unwrap_or_default();
    let c = task.container_spec.clone().unwrap_or_default();
    let limits = task.resources.as_ref().and_then(|r| r.limits.clone()).unwrap_or_default();
    let placement = task.placement.clone().unwrap_or_default();
    let mounts: Vec<String> = c
        .mounts
        .iter()
        .flatten()
        .map(|m| format!("{:?}:{:?}:{:?}:{:?}", m.typ, m.source, m.target, m.read_only.unwrap_or(false)))
        .collect();
    let ports: Vec<String> = spec
        .endpoint_spec
        .iter()
        .flat_map(|e| e.ports.iter().flatten())
        .map(|p| format!("{:?}:{:?}:{:?}:{:?}", p.protocol, p.target_port, p.published_port, p.publish_mode))
        .collect();
    let secrets: Vec<String> = c
        .secrets
        .iter()
        .flatten()
        .map(|s| format!("{:?}:{:?}", s.secret_name, s.file.as_ref().and_then(|f| f.name.clone())))
        .collect();
    let spread: Vec<String> =
        placement.preferences.iter().flatten().filter_map(|p| p.spread.as_ref()?.spread_descriptor.clone()).collect();
    let condition = task.restart_policy.as_ref().and_then(|r| r.condition).map(|c| c.to_string());
    BTreeMap::from([
        ("image", format!("{:?}", c.image)),
        ("command", format!("{:?}", c.command)),
        ("args", format!("{:?}", c.args)),
        ("env", format!("{:?}", sorted(c.env.clone().unwrap_or_default()))),
        ("hostname", format!("{:?}", c.hostname)),
        ("user", format!("{:?}", c.user)),
        ("mounts", format!("{:?}", sorted(mounts))),
        ("capabilities", format!("{:?} {:?}", c.capability_add, c.capability_drop)),
        ("memory", format!("{:?}", limits.memory_bytes)),
        ("pids_limit", format!("{:?}", limits.pids)),
        ("constraints", format!("{:?}", sorted(placement.constraints.unwrap_or_default()))),
        ("spread", format!("{spread:?}")),
        ("ports", format!("{:?}", sorted(ports))),
        ("secrets", format!("{:?}", sorted(secrets))),
        ("restart", format!("{condition:?}")),
    ])
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn short(text: &str) -> String {
    hex::encode(&sha2::Sha256::digest(text.as_bytes())[..4])
}

/// The label's value for the spec about to be sent.
fn label(spec: &ServiceSpec) -> String {
    let digests: Vec<String> = fields(spec).into_iter().map(|(k, v)| format!("{k}={}", short(&v))).collect();
    format!("{SCHEME};{}", digests.join(","))
}

/// Sets the label on the spec about to be sent.
pub fn stamp(spec: &mut ServiceSpec) {
    let value = label(spec);
    spec.labels.get_or_insert_with(Default::default).insert(LABEL_SPEC.into(), value);
}

/// The fields of a live spec that differ from what its label says flinkform sent, in name
/// order; none when it has no label (made before the label existed) or another scheme's.
pub fn changed_outside(spec: &ServiceSpec) -> Vec<String> {
    let Some(sent) = spec.labels.as_ref().and_then(|l| l.get(LABEL_SPEC)) else { return Vec::new() };
    let Some(sent) = sent.strip_prefix(&format!("{SCHEME};")) else { return Vec::new() };
    let sent: BTreeMap<&str, &str> = sent.split(',').filter_map(|kv| kv.split_once('=')).collect();
    fields(spec)
        .into_iter()
        .filter(|(k, v)| sent.get(k).is_some_and(|d| *d != short(v)))
        .map(|(k, _)| k.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{TaskSpec, TaskSpecContainerSpec};

    fn spec(image: &str, env: &[&str]) -> ServiceSpec {
        ServiceSpec {
            task_template: Some(TaskSpec {
                container_spec: Some(TaskSpecContainerSpec {
                    image: Some(image.into()),
                    env: Some(env.iter().map(|e| e.to_string()).collect()),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn what_was_changed_after_flinkform_sent_the_spec_is_named() {
        let mut sent = spec("flink:2.3", &["A=1", "B=2"]);
        stamp(&mut sent);
        assert!(changed_outside(&sent).is_empty());
        let mut live = sent.clone();
        live.task_template.as_mut().unwrap().container_spec.as_mut().unwrap().image = Some("flink:other".into());
        live.task_template.as_mut().unwrap().container_spec.as_mut().unwrap().env =
            Some(vec!["B=2".into(), "A=1".into(), "C=3".into()]);
        assert_eq!(changed_outside(&live), ["env", "image"]);
        // The environment's order is not a change.
        let mut reordered = sent.clone();
        reordered.task_template.as_mut().unwrap().container_spec.as_mut().unwrap().env =
            Some(vec!["B=2".into(), "A=1".into()]);
        assert!(changed_outside(&reordered).is_empty());
    }

    #[test]
    fn a_service_without_the_label_is_not_judged() {
        assert!(changed_outside(&spec("x", &[])).is_empty());
        let s = spec("x", &[]);
        assert_eq!(label(&s), label(&s.clone()), "stable");
        assert!(label(&s).starts_with("v1;args="));
    }
}
