//! What flinkform sent in a service's spec, kept beside it: a short digest of each field it
//! sets (image, command, environment, mounts, limits, placement, ports, secrets…), in one
//! label of the service. A service's config-hash label says which configuration it was made
//! for, but `docker service update --image …` changes the spec and keeps every label; the
//! live spec's digests against the label's name what was changed outside flinkform.
//! Only fields flinkform sets are digested, as the engine returns them unchanged (the engine
//! fills in defaults elsewhere). The scheme is versioned: `v1;field=digest,…`.

use bollard::models::ServiceSpec;
use sha2::Digest;

/// The label holding the digests of the spec flinkform sent.
pub const LABEL_SPEC: &str = "io.flinkform.spec-digest";
const SCHEME: &str = "v1";

/// Each digested field of `spec` with its digest, in name order. Read in place and hashed as
/// it is formatted: a no-op plan digests every service, on its way to the answer.
fn fields(spec: &ServiceSpec) -> [(&'static str, Short); 15] {
    let none = Default::default();
    let task = spec.task_template.as_ref().unwrap_or(&none);
    let no_container = Default::default();
    let c = task.container_spec.as_ref().unwrap_or(&no_container);
    let no_limits = Default::default();
    let limits = task.resources.as_ref().and_then(|r| r.limits.as_ref()).unwrap_or(&no_limits);
    let no_placement = Default::default();
    let placement = task.placement.as_ref().unwrap_or(&no_placement);
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
        .map(|s| format!("{:?}:{:?}", s.secret_name, s.file.as_ref().and_then(|f| f.name.as_ref())))
        .collect();
    let spread: Vec<&String> =
        placement.preferences.iter().flatten().filter_map(|p| p.spread.as_ref()?.spread_descriptor.as_ref()).collect();
    let condition = task.restart_policy.as_ref().and_then(|r| r.condition).map(|c| c.to_string());
    let env: Vec<&String> = c.env.iter().flatten().collect();
    let constraints: Vec<&String> = placement.constraints.iter().flatten().collect();
    [
        ("args", short(format_args!("{:?}", c.args))),
        ("capabilities", short(format_args!("{:?} {:?}", c.capability_add, c.capability_drop))),
        ("command", short(format_args!("{:?}", c.command))),
        ("constraints", short(format_args!("{:?}", sorted(constraints)))),
        ("env", short(format_args!("{:?}", sorted(env)))),
        ("hostname", short(format_args!("{:?}", c.hostname))),
        ("image", short(format_args!("{:?}", c.image))),
        ("memory", short(format_args!("{:?}", limits.memory_bytes))),
        ("mounts", short(format_args!("{:?}", sorted(mounts)))),
        ("pids_limit", short(format_args!("{:?}", limits.pids))),
        ("ports", short(format_args!("{:?}", sorted(ports)))),
        ("restart", short(format_args!("{condition:?}"))),
        ("secrets", short(format_args!("{:?}", sorted(secrets)))),
        ("spread", short(format_args!("{spread:?}"))),
        ("user", short(format_args!("{:?}", c.user))),
    ]
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

/// A field's digest: the first 4 bytes of the SHA-256 of its `Debug` text, as 8 hex digits.
type Short = [u8; 8];

fn short(text: std::fmt::Arguments) -> Short {
    struct Hashing(sha2::Sha256);
    impl std::fmt::Write for Hashing {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.0.update(s.as_bytes());
            Ok(())
        }
    }
    let mut hashing = Hashing(sha2::Sha256::new());
    let _ = std::fmt::Write::write_fmt(&mut hashing, text);
    let mut out = [0u8; 8];
    hex::encode_to_slice(&hashing.0.finalize()[..4], &mut out).expect("4 bytes are 8 hex digits");
    out
}

fn text(short: &Short) -> &str {
    std::str::from_utf8(short).expect("hex digits")
}

/// The label's value for the spec about to be sent.
fn label(spec: &ServiceSpec) -> String {
    let digests: Vec<String> = fields(spec).iter().map(|(k, d)| format!("{k}={}", text(d))).collect();
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
    let Some(sent) = sent.strip_prefix(SCHEME).and_then(|s| s.strip_prefix(';')) else { return Vec::new() };
    let sent: Vec<(&str, &str)> = sent.split(',').filter_map(|kv| kv.split_once('=')).collect();
    fields(spec)
        .iter()
        .filter(|(k, d)| sent.iter().any(|(name, was)| name == k && *was != text(d)))
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

    /// The digests of a spec with every digested field set, pinned: a change to how a field is
    /// read would otherwise mark every service a user made as changed outside flinkform.
    #[test]
    fn the_scheme_s_digests_do_not_move() {
        use bollard::models::*;
        let mut s = spec("flink:2.3", &["B=2", "A=1"]);
        let task = s.task_template.as_mut().unwrap();
        let c = task.container_spec.as_mut().unwrap();
        c.command = Some(vec!["/docker-entrypoint.sh".into()]);
        c.args = Some(vec!["taskmanager".into()]);
        c.mounts = Some(vec![Mount { target: Some("/data".into()), source: Some("v".into()), ..Default::default() }]);
        c.secrets = Some(vec![TaskSpecContainerSpecSecrets {
            secret_name: Some("p-s".into()),
            file: Some(TaskSpecContainerSpecFile { name: Some("s".into()), ..Default::default() }),
            ..Default::default()
        }]);
        task.placement = Some(TaskSpecPlacement {
            constraints: Some(vec!["node.role == worker".into(), "a == b".into()]),
            preferences: Some(vec![TaskSpecPlacementPreferences {
                spread: Some(TaskSpecPlacementSpread { spread_descriptor: Some("node.id".into()) }),
            }]),
            ..Default::default()
        });
        task.resources = Some(TaskSpecResources {
            limits: Some(Limit { memory_bytes: Some(1 << 30), ..Default::default() }),
            ..Default::default()
        });
        assert_eq!(
            label(&s),
            "v1;args=c85cb542,capabilities=6b5a7708,command=5a92faaa,constraints=3e29679c,env=93b03e96,hostname=dc937b59,image=a341bb60,memory=b4e444c5,mounts=88dc0a56,pids_limit=dc937b59,ports=4f53cda1,restart=dc937b59,secrets=0c8961a0,spread=420cd410,user=dc937b59"
        );
    }
}
