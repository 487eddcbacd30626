//! Warnings: what a valid configuration does that its author may not mean, named with the
//! place and the safer way (Terraform prints such findings beside a plan). Derived from the
//! loaded, typed configuration, so they cost nothing while it is evaluated.

use super::Config;

/// One finding: `file:line:col: what`, and how to do it safely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub message: String,
    pub help: String,
}

/// An address that accepts connections from every interface of the host.
fn is_wildcard(ip: &str) -> bool {
    ip.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_unspecified())
}

/// Every warning, sorted by where it is.
pub fn warnings(config: &Config) -> Vec<Warning> {
    let mut out = Vec::new();
    for c in config.clusters.values().filter(|c| is_wildcard(&c.jobmanager.rest_bind)) {
        out.push(Warning {
            message: format!(
                "{}: {} publishes Flink's REST API on every interface (rest_bind = \"{}\"): anyone who reaches this host can upload a jar and run it",
                config.sources.position(&c.loc),
                c.address,
                c.jobmanager.rest_bind
            ),
            help: "bind 127.0.0.1 (the default) and reach it through an SSH tunnel or a reverse proxy with authentication"
                .into(),
        });
    }
    for c in config.containers.values() {
        for p in c.ports.iter().filter(|p| is_wildcard(&p.host_ip)) {
            out.push(Warning {
                message: format!(
                    "{}: {} publishes port {}/{} on every interface ({}): it is reachable from the network",
                    config.sources.position(&c.loc),
                    c.address,
                    p.container_port,
                    p.protocol,
                    p.host_ip
                ),
                help: "leave the address out (\"9000:9000\" publishes on 127.0.0.1) unless other hosts must connect"
                    .into(),
            });
        }
    }
    out.sort_by(|a, b| a.message.cmp(&b.message));
    out.dedup();
    out
}
