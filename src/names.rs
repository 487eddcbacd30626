//! Docker object names, labels and the address → name scheme (docs/ARCHITECTURE.md, "Names
//! and labels"), shared by the configuration (cluster references such as `cluster.x.network`),
//! the model, the observation and the executor.

/// Labels on everything flinkform creates: what makes an object the project's, and which
/// address and configuration it was made for.
pub const LABEL_PROJECT: &str = "io.flinkform.project";
pub const LABEL_ADDRESS: &str = "io.flinkform.address";
pub const LABEL_LINEAGE: &str = "io.flinkform.lineage";
pub const LABEL_HASH: &str = "io.flinkform.config-hash";
pub const LABEL_MANAGED: &str = "io.flinkform.managed";
/// On a cluster's TLS volume: the nonce its material is derived with (random, not secret).
pub const LABEL_TLS_NONCE: &str = "io.flinkform.tls-nonce";
/// On a swarm secret flinkform made for a service: that service's name (the secret goes
/// when the service goes).
pub const LABEL_SERVICE: &str = "io.flinkform.service";
/// On the short-lived container that writes files into a volume: that volume.
pub const LABEL_VOLUME_WRITER: &str = "io.flinkform.volume-writer";

/// The container name of a role instance: `<project>-<cluster>-<role>-<index>`.
pub fn container(project: &str, cluster: &str, role: &str, index: u32) -> String {
    format!("{project}-{cluster}-{role}-{index}")
}

/// The cluster's bridge network.
pub fn network(project: &str, cluster: &str) -> String {
    format!("{project}-{cluster}")
}

/// A cluster's named volume (`data` holds HA storage, checkpoints and savepoints).
pub fn volume(project: &str, cluster: &str, volume: &str) -> String {
    format!("{project}-{cluster}-{volume}")
}

/// The URL of a port published on `bind`: a wildcard bind is reached through loopback.
pub fn rest_url(bind: &str, port: u16, tls: bool) -> String {
    let scheme = if tls { "https" } else { "http" };
    match bind {
        "0.0.0.0" | "::" | "" => format!("{scheme}://127.0.0.1:{port}"),
        // An IPv6 address is written in brackets in a URL.
        v6 if v6.contains(':') => format!("{scheme}://[{v6}]:{port}"),
        v4 => format!("{scheme}://{v4}:{port}"),
    }
}

/// Where apply writes a TLS cluster's client bundle, relative to the configuration directory
/// (so plans read the same on every machine).
pub fn tls_bundle_dir(cluster: &str) -> std::path::PathBuf {
    std::path::Path::new(".flinkform").join("tls").join(cluster)
}

/// Docker's rule for container, network and volume names: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
pub fn is_valid(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// A valid name derived from a directory name (for the default project).
pub fn sanitize(raw: &str) -> String {
    let s: String = raw
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') { c.to_ascii_lowercase() } else { '-' })
        .collect();
    let s = s.trim_start_matches(|c: char| !c.is_ascii_alphanumeric()).to_string();
    if s.is_empty() { "flinkform".into() } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_design() {
        assert_eq!(container("analytics", "analytics", "taskmanager", 1), "analytics-analytics-taskmanager-1");
        assert!(is_valid("a-b_c.d"));
        assert!(!is_valid("-a"));
        assert!(!is_valid("a b"));
        assert_eq!(sanitize("My Project"), "my-project");
        assert_eq!(rest_url("0.0.0.0", 8081, false), "http://127.0.0.1:8081");
        assert_eq!(rest_url("127.0.0.2", 1, false), "http://127.0.0.2:1");
        assert_eq!(rest_url("::1", 8081, false), "http://[::1]:8081");
        assert_eq!(rest_url("::", 8081, false), "http://127.0.0.1:8081");
        assert_eq!(rest_url("::1", 8081, true), "https://[::1]:8081");
    }
}
