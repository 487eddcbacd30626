//! `container`, `network` and `volume` blocks: what a Flink deployment needs beside Flink (object
//! storage, Kafka, a data generator). Ports and mounts use Docker Compose's short syntax
//! (`"127.0.0.1:9000:9000"`, `"data:/data:ro"`), which users already know.

use super::diag::{ConfigError, Sources};
use super::fields::{Evaluated, Fields};
use super::types::*;
use hcl::Value;

const RESTART: &[&str] = &["no", "always", "on-failure", "unless-stopped"];

pub fn convert(
    address: &str,
    default_name: &str,
    ev: &Evaluated,
    meta: &Meta,
    sources: &Sources,
    errors: &mut Vec<ConfigError>,
) -> Container {
    ev.reject_sensitive(&["env", "command"], sources, errors);
    let mut f = Fields::new(Some(ev), sources, errors);
    let name = docker_name(&mut f, "container", default_name);
    let image = f.string("image").unwrap_or_else(|| {
        f.fail(&ev.loc, format!("{address} has no `image`"), "add `image = \"name:tag\"`".into());
        String::new()
    });
    let env = f.string_map("env").unwrap_or_default();
    let mut networks = f.string_list("networks").unwrap_or_default();
    if let Some(n) = f.string("network") {
        networks.insert(0, n);
    }
    let ports = f.parsed_list(
        "ports",
        parse_port,
        "[host_ip:][host_port:]container_port[/tcp|udp]",
        "\"9000:9000\" (on 127.0.0.1), \"0.0.0.0:9000:9000\" (every interface) or \"9000\" (an ephemeral host port)",
    );
    let mounts = f.parsed_list(
        "volumes",
        parse_mount,
        "source:target[:ro]",
        "\"data:/data\" (a volume) or \"/abs/host/path:/etc/app:ro\" (a bind mount)",
    );
    if !f.boolean("allow_host_access").unwrap_or(false) {
        refuse_host_access(&mut f, &mounts);
    }
    let restart = f.choice("restart", RESTART).unwrap_or_else(|| "unless-stopped".into());
    let healthcheck = ev.children.get("healthcheck").map(|h| {
        let mut f = Fields::new(Some(h), sources, errors);
        let test = f.string_list("test").unwrap_or_default();
        if test.is_empty() {
            f.fail(
                &h.loc,
                "a healthcheck needs `test`".into(),
                "write `test = [\"CMD\", \"pg_isready\"]` or `[\"CMD-SHELL\", \"curl -f localhost\"]`".into(),
            );
        }
        Healthcheck {
            test,
            interval_s: f.duration("interval").unwrap_or(5),
            timeout_s: f.duration("timeout").unwrap_or(5),
            retries: f.whole("retries", 1, 1000).unwrap_or(3),
            start_period_s: f.duration("start_period").unwrap_or(0),
        }
    });
    let mut f = Fields::new(Some(ev), sources, errors);
    let labels = labels(&mut f);
    let command = f.string_list("command").unwrap_or_default();
    Container {
        address: address.to_string(),
        loc: ev.loc.clone(),
        image,
        pull: f.pull(),
        sensitive_env: ev.sensitive_keys("env", env.keys().cloned()),
        sensitive_command: ev.is_sensitive("command", None),
        entrypoint: f.string_list("entrypoint"),
        env,
        command,
        ports,
        mounts,
        networks,
        restart,
        healthcheck,
        memory: f.memory("memory"),
        user: f.string("user"),
        hostname: f.string("hostname"),
        labels,
        meta: meta.clone(),
        name,
    }
}

/// `labels`, none of them flinkform's own (`io.flinkform.*`).
pub(super) fn labels(f: &mut Fields) -> std::collections::BTreeMap<String, String> {
    let labels = f.string_map("labels").unwrap_or_default();
    if let Some(k) = labels.keys().find(|k| k.starts_with("io.flinkform.")) {
        let loc = f.loc("labels");
        f.fail(&loc, format!("label \"{k}\" is reserved"), "`io.flinkform.*` labels are flinkform's own".into());
    }
    labels
}

/// Bind mounts that hand a container the host: the root, the Docker socket (root on the host
/// through the engine), or a path that climbs out with `..`. Allowed only when written so.
pub(super) fn refuse_host_access(f: &mut Fields, mounts: &[Mount]) {
    const SOCKETS: &[&str] = &["/var/run/docker.sock", "/run/docker.sock", "/var/run", "/run"];
    for m in mounts.iter().filter(|m| m.source.starts_with('/')) {
        let path = std::path::Path::new(&m.source);
        let climbs = path.components().any(|c| c == std::path::Component::ParentDir);
        let normal = m.source.trim_end_matches('/');
        let why = if normal.is_empty() {
            "the host's root file system"
        } else if SOCKETS.contains(&normal) || normal.ends_with("/docker.sock") {
            "the Docker socket (root on the host, through the engine)"
        } else if climbs {
            "a path that climbs with `..` (it may reach anything on the host)"
        } else {
            continue;
        };
        let loc = f.loc("volumes");
        f.fail(
            &loc,
            format!("the bind mount \"{}\" gives the container {why}", m.source),
            "mount a narrower, absolute path; or, if the container really needs it, write `allow_host_access = true`"
                .into(),
        );
    }
}

/// A `network` or `volume` block.
pub fn convert_infra(
    kind: &str,
    address: &str,
    default_name: &str,
    ev: &Evaluated,
    meta: &Meta,
    sources: &Sources,
    errors: &mut Vec<ConfigError>,
) -> Infra {
    ev.reject_sensitive(&[], sources, errors);
    let mut f = Fields::new(Some(ev), sources, errors);
    let name = docker_name(&mut f, kind, default_name);
    let default_driver = if kind == "network" { "bridge" } else { "local" };
    Infra {
        address: address.to_string(),
        name,
        loc: ev.loc.clone(),
        driver: f.string("driver").unwrap_or_else(|| default_driver.into()),
        meta: meta.clone(),
    }
}

/// The block's `name`, or the derived one; a name Docker would refuse is an error.
fn docker_name(f: &mut Fields, kind: &str, default_name: &str) -> String {
    let name = f.string("name").unwrap_or_else(|| default_name.to_string());
    if !crate::names::is_valid(&name) {
        let loc = f.loc("name");
        f.fail(&loc, format!("\"{name}\" is not a valid {kind} name"), "use letters, digits, `_`, `.` and `-`".into());
    }
    name
}

/// What `container.<name>` evaluates to.
pub fn object(c: &Container) -> Value {
    let mut o = hcl::Map::new();
    o.insert("name".into(), c.name.clone().into());
    o.insert("hostname".into(), c.hostname.clone().unwrap_or_else(|| c.name.clone()).into());
    o.insert("image".into(), c.image.clone().into());
    o.insert("networks".into(), Value::Array(c.networks.iter().cloned().map(Value::from).collect()));
    Value::Object(o)
}

/// `[host_ip:][host_port:]container_port[/proto]`.
pub fn parse_port(s: &str) -> Option<Port> {
    let (spec, protocol) = match s.rsplit_once('/') {
        Some((a, p)) if p == "tcp" || p == "udp" => (a, p.to_string()),
        Some(_) => return None,
        None => (s, "tcp".to_string()),
    };
    let parts: Vec<&str> = spec.split(':').collect();
    let (ip, host, container) = match parts.as_slice() {
        // Published on the loopback unless an address is written (Compose would take every
        // interface; a Flink cluster's neighbours should not be reachable from the network).
        [c] => ("127.0.0.1", None, *c),
        [h, c] => ("127.0.0.1", Some(*h), *c),
        [ip, h, c] => (*ip, Some(*h).filter(|h| !h.is_empty()), *c),
        _ => return None,
    };
    ip.parse::<std::net::IpAddr>().ok()?;
    let container_port = container.parse().ok().filter(|p| *p > 0)?;
    let host_port = match host {
        Some(h) => Some(h.parse().ok().filter(|p: &u16| *p > 0)?),
        None => None,
    };
    Some(Port { host_ip: ip.to_string(), host_port, container_port, protocol })
}

/// `source:target[:ro|:rw]`.
pub fn parse_mount(s: &str) -> Option<Mount> {
    let parts: Vec<&str> = s.split(':').collect();
    let (source, target, read_only) = match parts.as_slice() {
        [s, t] => (*s, *t, false),
        [s, t, "ro"] => (*s, *t, true),
        [s, t, "rw"] => (*s, *t, false),
        _ => return None,
    };
    let ok_source = source.starts_with('/') || crate::names::is_valid(source);
    (ok_source && target.starts_with('/')).then(|| Mount { source: source.into(), target: target.into(), read_only })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_use_compose_short_syntax() {
        let p = parse_port("127.0.0.1:9000:9001").unwrap();
        assert_eq!((p.host_ip.as_str(), p.host_port, p.container_port), ("127.0.0.1", Some(9000), 9001));
        let p = parse_port("8080:80/udp").unwrap();
        assert_eq!((p.host_ip.as_str(), p.host_port, p.protocol.as_str()), ("127.0.0.1", Some(8080), "udp"));
        assert_eq!(parse_port("0.0.0.0:8080:80").unwrap().host_ip, "0.0.0.0", "every interface when written");
        assert_eq!(parse_port("80").unwrap().host_port, None);
        assert!(parse_port("x:80").is_none());
        assert!(parse_port("80/sctp").is_none());
    }

    #[test]
    fn mounts_use_compose_short_syntax() {
        assert_eq!(parse_mount("data:/data").unwrap().source, "data");
        assert!(parse_mount("/etc/x:/etc/x:ro").unwrap().read_only);
        assert!(parse_mount("data:relative").is_none());
        assert!(parse_mount("data").is_none());
    }
}
