//! What users add to a cluster's Flink containers, as they would to the official image's: `env`,
//! `volumes`, extra `ports`, `labels`, `user` and Flink's built-in `plugins`, written on the
//! cluster (every JobManager and TaskManager) or in the `jobmanager` / `taskmanager` block (that
//! role only; added to the cluster's, the role's value winning for the same key).

use super::container::{labels, parse_mount, parse_port, refuse_host_access};
use super::diag::{ConfigError, Sources};
use super::fields::{Evaluated, Fields};
use super::types::{FlinkExtras, JobManager, Mount, TaskManager};

/// Environment variables flinkform sets itself, and the attribute that sets each.
const RESERVED_ENV: &[(&str, &str)] = &[
    ("FLINK_PROPERTIES", "flink_config"),
    ("JOB_MANAGER_RPC_ADDRESS", "the cluster (flinkform names the JobManager)"),
    ("ENABLE_BUILT_IN_PLUGINS", "plugins"),
];

/// Where flinkform mounts its own volumes in Flink containers.
const RESERVED_TARGETS: &[&str] = &["/flink-data", "/flink-tls"];

/// Reads the extras of one block (`ev`: the cluster or a role block). `full_version` is the
/// Flink release the image tag names (`2.3.0`), when it names one: plugin jars carry it.
pub fn read(
    ev: Option<&Evaluated>,
    full_version: Option<&str>,
    sources: &Sources,
    errors: &mut Vec<ConfigError>,
) -> FlinkExtras {
    let Some(ev) = ev else { return FlinkExtras::default() };
    let mut f = Fields::new(Some(ev), sources, errors);
    let env = f.string_map("env").unwrap_or_default();
    if let Some((key, instead)) = RESERVED_ENV.iter().find(|(k, _)| env.contains_key(*k)) {
        let loc = f.loc("env");
        f.fail(&loc, format!("`env` cannot set {key}: flinkform sets it"), format!("use `{instead}` instead"));
    }
    let mounts = f.parsed_list(
        "volumes",
        parse_mount,
        "source:target[:ro]",
        "\"jars:/opt/flink/usrlib:ro\" (a volume) or \"/etc/hadoop/conf:/opt/hadoop/conf:ro\" (a bind mount)",
    );
    if !f.boolean("allow_host_access").unwrap_or(false) {
        refuse_host_access(&mut f, &mounts);
    }
    refuse_reserved_targets(&mut f, &mounts);
    let ports = f.parsed_list(
        "ports",
        parse_port,
        "[host_ip:][host_port:]container_port[/tcp|udp]",
        "\"9249:9249\" (the Prometheus reporter, on 127.0.0.1)",
    );
    let labels = labels(&mut f);
    let user = f.string("user");
    let plugins = f.string_list("plugins").unwrap_or_default();
    let plugins = plugins.iter().filter_map(|p| plugin_jar(&mut f, p, full_version)).collect();
    FlinkExtras {
        sensitive_env: ev.sensitive_keys("env", env.keys().cloned()),
        env,
        mounts,
        ports,
        labels,
        user,
        plugins,
    }
}

/// `flink-s3-fs-hadoop` → `flink-s3-fs-hadoop-2.3.0.jar`, the file in the image's `opt/` that
/// the official entrypoint links into `plugins/` when named in `ENABLE_BUILT_IN_PLUGINS`. A
/// jar's file name is taken as written.
fn plugin_jar(f: &mut Fields, plugin: &str, full_version: Option<&str>) -> Option<String> {
    let valid = !plugin.is_empty() && plugin.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !valid {
        let loc = f.loc("plugins");
        f.fail(
            &loc,
            format!("\"{plugin}\" in `plugins` is not a plugin name"),
            "name a jar of the image's opt/ directory, e.g. \"flink-s3-fs-hadoop\"".into(),
        );
        return None;
    }
    if plugin.ends_with(".jar") {
        return Some(plugin.to_string());
    }
    match full_version {
        Some(v) => Some(format!("{plugin}-{v}.jar")),
        None => {
            let loc = f.loc("plugins");
            f.fail(
                &loc,
                format!("cannot tell which jar \"{plugin}\" is: the image tag names no full Flink release"),
                format!("write the jar's file name from the image's opt/ directory, e.g. \"{plugin}-2.3.0.jar\""),
            );
            None
        }
    }
}

fn refuse_reserved_targets(f: &mut Fields, mounts: &[Mount]) {
    for m in mounts {
        let target = m.target.trim_end_matches('/');
        if RESERVED_TARGETS.contains(&target) {
            let loc = f.loc("volumes");
            f.fail(
                &loc,
                format!("{target} is where flinkform mounts the cluster's own volume"),
                "mount at another path (HA storage, checkpoints and savepoints live on the cluster's data volume)"
                    .into(),
            );
        }
    }
}

/// `2.3.0` from `apache/flink:2.3.0-java17`; `None` when the tag names no full release
/// (`1.20`, `latest`, a digest).
pub fn full_version_from_image(image: &str) -> Option<String> {
    let name = image.split('@').next()?;
    let tag = name.rsplit('/').next()?.split_once(':')?.1;
    let numbers: Vec<&str> = tag.split(|c: char| !c.is_ascii_digit() && c != '.').next()?.split('.').collect();
    match numbers.as_slice() {
        [a, b, c] if [a, b, c].iter().all(|p| !p.is_empty()) => Some(format!("{a}.{b}.{c}")),
        _ => None,
    }
}

/// Every replica of a role publishes its fixed host ports at the next port up (as `rest_port`),
/// so the last one must be a port; the cluster's own `ports` go to both roles, where a fixed
/// host port would be taken twice.
pub fn check_published_ports(
    ev: &Evaluated,
    cluster: &FlinkExtras,
    jobmanager: &JobManager,
    taskmanager: &TaskManager,
    sources: &Sources,
    errors: &mut Vec<ConfigError>,
) {
    if let Some(p) = cluster.ports.iter().find(|p| p.host_port.is_some()) {
        let mut f = Fields::new(Some(ev), sources, errors);
        let loc = f.loc("ports");
        f.fail(
            &loc,
            format!("host port {} would be published by every JobManager and TaskManager", p.host_port.unwrap_or(0)),
            "publish a fixed host port in the `jobmanager` or `taskmanager` block, or leave the host port out for an ephemeral one".into(),
        );
    }
    let roles = [
        ("jobmanager", &jobmanager.extras, jobmanager.replicas),
        ("taskmanager", &taskmanager.extras, taskmanager.replicas),
    ];
    for (role, extras, replicas) in roles {
        let Some(p) =
            extras.ports.iter().find(|p| p.host_port.is_some_and(|h| u32::from(h) + replicas.max(1) - 1 > 65535))
        else {
            continue;
        };
        let mut f = Fields::new(ev.children.get(role), sources, errors);
        let loc = f.loc("ports");
        f.fail(
            &loc,
            format!(
                "{role} {} would publish port {} past 65535 (the host port + its index)",
                replicas - 1,
                p.host_port.unwrap_or(0)
            ),
            format!("use a host port of at most {}", 65536 - replicas),
        );
    }
}

impl FlinkExtras {
    /// The cluster's extras with a role's on top: maps merged (the role's value wins), lists
    /// appended, the role's `user` over the cluster's.
    pub fn with(&self, role: &FlinkExtras) -> FlinkExtras {
        let mut out = self.clone();
        out.env.extend(role.env.clone());
        for k in role.env.keys() {
            out.sensitive_env.remove(k);
        }
        out.sensitive_env.extend(role.sensitive_env.iter().cloned());
        out.mounts.extend(role.mounts.iter().cloned());
        out.ports.extend(role.ports.iter().cloned());
        out.labels.extend(role.labels.clone());
        out.user = role.user.clone().or(out.user);
        for p in &role.plugins {
            if !out.plugins.contains(p) {
                out.plugins.push(p.clone());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_jars_carry_the_full_release_of_the_tag() {
        assert_eq!(full_version_from_image("apache/flink:2.3.0-java17").as_deref(), Some("2.3.0"));
        assert_eq!(full_version_from_image("flinkform-offline/flink:1.20.1").as_deref(), Some("1.20.1"));
        assert_eq!(full_version_from_image("apache/flink:1.20-java11"), None);
        assert_eq!(full_version_from_image("apache/flink@sha256:abc"), None);
        assert_eq!(full_version_from_image("host:5000/flink"), None);
    }

    #[test]
    fn a_roles_extras_go_on_top_of_the_clusters() {
        let cluster = FlinkExtras {
            env: [("A".into(), "1".into()), ("B".into(), "2".into())].into(),
            sensitive_env: ["B".to_string()].into(),
            plugins: vec!["x.jar".into()],
            user: Some("flink".into()),
            ..Default::default()
        };
        let role = FlinkExtras {
            env: [("B".into(), "3".into())].into(),
            plugins: vec!["x.jar".into(), "y.jar".into()],
            ..Default::default()
        };
        let merged = cluster.with(&role);
        assert_eq!(merged.env["B"], "3");
        assert!(merged.sensitive_env.is_empty(), "the role's plain B replaced the sensitive one");
        assert_eq!(merged.plugins, ["x.jar", "y.jar"]);
        assert_eq!(merged.user.as_deref(), Some("flink"));
    }
}
