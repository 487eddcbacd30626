//! `cluster` blocks: evaluated attribute by attribute, converted to [`Cluster`] and validated the
//! way a Flink operator would (HA needs ZooKeeper and shared storage, slots ≥ 1, memory parses).

use super::diag::{ConfigError, Loc, Sources};
use super::eval;
use super::raw::RawBlock;
use super::types::*;
use hcl::Value;
use hcl::eval::Context;
use std::collections::BTreeMap;

pub const DEFAULT_FLINK_IMAGE: &str = "apache/flink:2.3.0-java17";
pub const DEFAULT_ZOOKEEPER_IMAGE: &str = "zookeeper:3.8";

/// A block's evaluated attributes and nested blocks.
pub struct Evaluated {
    pub values: BTreeMap<String, (Value, Loc)>,
    pub children: BTreeMap<String, Evaluated>,
    pub loc: Loc,
}

pub fn evaluate_block(ctx: &Context, raw: &RawBlock, sources: &Sources, errors: &mut Vec<ConfigError>) -> Evaluated {
    let mut values = BTreeMap::new();
    for (name, attr) in &raw.attrs {
        match eval::eval_attr(ctx, attr, sources) {
            Ok(v) => {
                values.insert(name.clone(), (v, attr.value_loc.clone()));
            }
            Err(e) => errors.push(e),
        }
    }
    let children = raw.blocks.iter().map(|b| (b.ident.clone(), evaluate_block(ctx, b, sources, errors))).collect();
    Evaluated { values, children, loc: raw.loc.clone() }
}

/// Typed reads of evaluated attributes; each mistake becomes an error naming the fix.
pub struct Fields<'a> {
    ev: Option<&'a Evaluated>,
    sources: &'a Sources,
    pub errors: &'a mut Vec<ConfigError>,
}

impl<'a> Fields<'a> {
    pub fn new(ev: Option<&'a Evaluated>, sources: &'a Sources, errors: &'a mut Vec<ConfigError>) -> Self {
        Fields { ev, sources, errors }
    }

    pub fn loc(&self, name: &str) -> Loc {
        self.ev.and_then(|e| e.values.get(name).map(|(_, l)| l.clone()).or(Some(e.loc.clone()))).unwrap_or_default()
    }

    fn get(&self, name: &str) -> Option<(&'a Value, Loc)> {
        let (v, l) = self.ev?.values.get(name)?;
        (!v.is_null()).then(|| (v, l.clone()))
    }

    pub fn fail(&mut self, loc: &Loc, message: String, help: String) {
        self.errors.push(self.sources.error(loc, message, "invalid value", Some(help)));
    }

    pub fn string(&mut self, name: &str) -> Option<String> {
        let (v, loc) = self.get(name)?;
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            other => {
                self.fail(
                    &loc,
                    format!("`{name}` must be a string, got {}", eval::describe(other)),
                    format!("write `{name} = \"…\"`"),
                );
                None
            }
        }
    }

    pub fn whole(&mut self, name: &str, min: u64, max: u64) -> Option<u64> {
        let (v, loc) = self.get(name)?;
        let n = match v {
            Value::Number(n) => n.as_u64().filter(|_| n.is_u64()),
            Value::String(s) => s.trim().parse::<u64>().ok(),
            _ => None,
        };
        match n {
            Some(n) if (min..=max).contains(&n) => Some(n),
            _ => {
                let range = if max == u64::MAX { format!("≥ {min}") } else { format!("between {min} and {max}") };
                self.fail(
                    &loc,
                    format!("`{name}` must be a whole number {range}, got {}", eval::describe(v)),
                    format!("write e.g. `{name} = {}`", min.max(1)),
                );
                None
            }
        }
    }

    pub fn boolean(&mut self, name: &str) -> Option<bool> {
        let (v, loc) = self.get(name)?;
        match v {
            Value::Bool(b) => Some(*b),
            other => {
                self.fail(
                    &loc,
                    format!("`{name}` must be true or false, got {}", eval::describe(other)),
                    format!("write `{name} = true`"),
                );
                None
            }
        }
    }

    pub fn memory(&mut self, name: &str) -> Option<Memory> {
        let text = self.string(name)?;
        let m = Memory::parse(&text);
        if m.is_none() {
            let loc = self.loc(name);
            self.fail(
                &loc,
                format!("`{name}` = \"{text}\" is not a memory size"),
                "write a size such as \"1600m\" or \"2g\"".into(),
            );
        }
        m
    }

    /// A list of strings (numbers and bools written as text).
    pub fn string_list(&mut self, name: &str) -> Option<Vec<String>> {
        let (v, loc) = self.get(name)?;
        let items = match v {
            Value::Array(items) => items,
            other => {
                self.fail(
                    &loc,
                    format!("`{name}` must be a list of strings, got {}", eval::describe(other)),
                    format!("write `{name} = [\"a\", \"b\"]`"),
                );
                return None;
            }
        };
        let mut out = Vec::new();
        for item in items {
            match item {
                Value::String(s) => out.push(s.clone()),
                Value::Number(n) => out.push(n.to_string()),
                Value::Bool(b) => out.push(b.to_string()),
                other => {
                    self.fail(
                        &loc,
                        format!("`{name}` items must be strings, got {}", eval::describe(other)),
                        "quote each item".into(),
                    );
                    return None;
                }
            }
        }
        Some(out)
    }

    /// One of a fixed set of words.
    pub fn choice(&mut self, name: &str, options: &[&str]) -> Option<String> {
        let s = self.string(name)?;
        if options.contains(&s.as_str()) {
            return Some(s);
        }
        let loc = self.loc(name);
        let help = match super::diag::suggest(&s, options.iter().copied()) {
            Some(x) => format!("did you mean \"{x}\"?"),
            None => format!("use one of: {}", options.join(", ")),
        };
        self.fail(&loc, format!("`{name}` = \"{s}\" is not one of {}", options.join(", ")), help);
        None
    }

    /// A map of strings (numbers and bools are written as Flink reads them).
    pub fn string_map(&mut self, name: &str) -> Option<BTreeMap<String, String>> {
        let (v, loc) = self.get(name)?;
        let Value::Object(o) = v else {
            self.fail(
                &loc,
                format!("`{name}` must be a map, got {}", eval::describe(v)),
                format!("write `{name} = {{ \"key\" = \"value\" }}`"),
            );
            return None;
        };
        let mut out = BTreeMap::new();
        for (k, v) in o {
            let s = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                other => {
                    self.fail(
                        &loc,
                        format!("`{name}`.\"{k}\" must be a string, number or bool, got {}", eval::describe(other)),
                        "Flink settings are flat `key = value` pairs".into(),
                    );
                    continue;
                }
            };
            out.insert(k.clone(), s);
        }
        Some(out)
    }
}

/// `2.3` from `apache/flink:2.3.0-java17`.
pub fn version_from_image(image: &str) -> Option<String> {
    let last = image.rsplit('/').next()?;
    let tag = last.split_once(':')?.1;
    let mut parts = tag.split(|c: char| !c.is_ascii_digit());
    let major = parts.next().filter(|p| !p.is_empty())?;
    let minor = parts.next().filter(|p| !p.is_empty())?;
    Some(format!("{major}.{minor}"))
}

/// Converts and validates one cluster.
pub fn convert(name: &str, ev: &Evaluated, sources: &Sources, errors: &mut Vec<ConfigError>) -> Cluster {
    let mut f = Fields::new(Some(ev), sources, errors);
    let image = f.string("image").unwrap_or_else(|| DEFAULT_FLINK_IMAGE.to_string());
    let flink_version = match f.string("flink_version").or_else(|| version_from_image(&image)) {
        Some(v) => v,
        None => {
            let loc = f.loc("image");
            f.fail(
                &loc,
                format!("cannot tell the Flink version from the image tag of \"{image}\""),
                "set `flink_version = \"2.3\"` in the cluster".into(),
            );
            "2.3".into()
        }
    };
    let flink_config = f.string_map("flink_config").unwrap_or_default();

    let zk_ev = ev.children.get("zookeeper");
    let zookeeper = zk_ev.map(|z| {
        let mut f = Fields::new(Some(z), sources, errors);
        let replicas = f.whole("replicas", 1, 7).unwrap_or(1) as u32;
        if replicas.is_multiple_of(2) {
            let loc = f.loc("replicas");
            f.fail(
                &loc,
                format!("ZooKeeper needs an odd number of servers for a quorum, got {replicas}"),
                "use 1, 3 or 5 replicas".into(),
            );
        }
        Zookeeper {
            replicas,
            image: f.string("image").unwrap_or_else(|| DEFAULT_ZOOKEEPER_IMAGE.to_string()),
            memory: f.memory("memory").unwrap_or(Memory { mib: 512 }),
        }
    });

    let jm_ev = ev.children.get("jobmanager");
    let mut f = Fields::new(jm_ev, sources, errors);
    let jobmanager = JobManager {
        replicas: f.whole("replicas", 1, 9).unwrap_or(1) as u32,
        memory: f.memory("memory").unwrap_or(Memory { mib: 1600 }),
        rest_port: f.whole("rest_port", 1, 65535).map(|p| p as u16),
        rest_bind: f.string("rest_bind").unwrap_or_else(|| "127.0.0.1".into()),
    };
    if jobmanager.replicas > 1 && zookeeper.is_none() {
        let loc = f.loc("replicas");
        f.fail(
            &loc,
            format!(
                "{} JobManagers need high availability, but cluster \"{name}\" has no ZooKeeper",
                jobmanager.replicas
            ),
            "add a `zookeeper { replicas = 1 }` block to the cluster, or set `replicas = 1`".into(),
        );
    }
    if jobmanager.rest_bind.parse::<std::net::IpAddr>().is_err() {
        let loc = f.loc("rest_bind");
        f.fail(
            &loc,
            format!("`rest_bind` = \"{}\" is not an IP address", jobmanager.rest_bind),
            "use \"127.0.0.1\" (default) or \"0.0.0.0\"".into(),
        );
    }

    let tm_ev = ev.children.get("taskmanager");
    let mut f = Fields::new(tm_ev, sources, errors);
    let taskmanager = TaskManager {
        replicas: f.whole("replicas", 0, 1000).unwrap_or(1) as u32,
        slots: f.whole("slots", 1, 1024).unwrap_or(1) as u32,
        memory: f.memory("memory").unwrap_or(Memory { mib: 1728 }),
    };

    let ha_ev = ev.children.get("high_availability");
    let mut f = Fields::new(ha_ev, sources, errors);
    let high_availability = if zookeeper.is_some() || ha_ev.is_some() {
        let ha = HighAvailability {
            storage_dir: f.string("storage_dir").unwrap_or_else(|| "file:///flink-data/ha".into()),
            cluster_id: f.string("cluster_id").unwrap_or_else(|| name.to_string()),
            session_timeout_ms: f.whole("session_timeout", 1000, 600_000).unwrap_or(15_000),
        };
        if let Some(path) = ha.storage_dir.strip_prefix("file://")
            && !path.starts_with("/flink-data/")
        {
            let loc = f.loc("storage_dir");
            f.fail(
                &loc,
                format!("HA storage dir \"{}\" is not shared between the JobManagers", ha.storage_dir),
                "put it on the cluster's data volume (file:///flink-data/…) or a shared file system (s3://…)".into(),
            );
        }
        if zookeeper.is_none() {
            let loc = ha_ev.map(|e| e.loc.clone()).unwrap_or_default();
            f.fail(
                &loc,
                "`high_availability` needs ZooKeeper".into(),
                "add a `zookeeper { replicas = 1 }` block to the cluster".into(),
            );
        }
        Some(ha)
    } else {
        None
    };

    let mut f = Fields::new(ev.children.get("lifecycle"), sources, errors);
    let prevent_destroy = f.boolean("prevent_destroy").unwrap_or(false);

    Cluster {
        name: name.to_string(),
        loc: ev.loc.clone(),
        image,
        flink_version,
        flink_config,
        zookeeper,
        jobmanager,
        taskmanager,
        high_availability,
        prevent_destroy,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_version_from_the_tag() {
        assert_eq!(version_from_image("apache/flink:2.3.0-java17").as_deref(), Some("2.3"));
        assert_eq!(version_from_image("host:5000/flink:1.20.1").as_deref(), Some("1.20"));
        assert_eq!(version_from_image("flink:latest"), None);
        assert_eq!(version_from_image("host:5000/flink"), None);
    }
}
