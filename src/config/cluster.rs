//! `cluster` blocks: evaluated attribute by attribute, converted to [`Cluster`] and validated the
//! way a Flink operator would (HA needs ZooKeeper and shared storage, slots ≥ 1, memory parses).

use super::diag::{ConfigError, Loc, Sources};
use super::eval;
use super::raw::RawBlock;
use super::types::*;
use hcl::Value;
use hcl::eval::Context;
use std::collections::{BTreeMap, BTreeSet};

pub const DEFAULT_FLINK_IMAGE: &str = "apache/flink:2.3.0-java17";
pub const DEFAULT_ZOOKEEPER_IMAGE: &str = "zookeeper:3.8";

/// A block's evaluated attributes and nested blocks.
pub struct Evaluated {
    pub values: BTreeMap<String, (Value, Loc)>,
    pub children: BTreeMap<String, Evaluated>,
    pub loc: Loc,
    /// Sensitive attributes (`env`) or keys of map attributes (`env.PASSWORD`).
    pub sensitive: BTreeSet<String>,
}

/// Attributes that steer evaluation rather than describe the resource.
const META: &[&str] = &["count", "for_each", "depends_on"];

pub fn evaluate_block(ctx: &Context, raw: &RawBlock, sources: &Sources, errors: &mut Vec<ConfigError>) -> Evaluated {
    evaluate_block_with(ctx, raw, sources, errors, &BTreeSet::new())
}

/// Evaluates a block's attributes one by one (so an error points at its attribute), noting
/// which attributes, or which keys of a map written `{ K = … }`, derive from sensitive names.
pub fn evaluate_block_with(
    ctx: &Context,
    raw: &RawBlock,
    sources: &Sources,
    errors: &mut Vec<ConfigError>,
    sensitive_names: &BTreeSet<String>,
) -> Evaluated {
    let mut values = BTreeMap::new();
    let mut sensitive = BTreeSet::new();
    for (name, attr) in raw.attrs.iter().filter(|(n, _)| !META.contains(&n.as_str())) {
        if eval::is_sensitive(&attr.expr, sensitive_names) {
            match &attr.expr {
                hcl::edit::expr::Expression::Object(o) => {
                    for (k, v) in o.iter() {
                        if eval::is_sensitive(v.expr(), sensitive_names) {
                            sensitive.insert(format!("{name}.{}", object_key(k)));
                        }
                    }
                    if o.iter().all(|(k, _)| !object_key(k).is_empty()) {
                        // Only keys are known to be sensitive, unless a key is computed.
                    } else {
                        sensitive.insert(name.clone());
                    }
                }
                _ => {
                    sensitive.insert(name.clone());
                }
            }
        }
        match eval::eval_attr(ctx, attr, sources) {
            Ok(v) => {
                values.insert(name.clone(), (v, attr.value_loc.clone()));
            }
            Err(_) if sensitive.iter().any(|s| s == name || s.starts_with(&format!("{name}."))) => {
                errors.push(sources.error(
                    &attr.value_loc,
                    format!("cannot evaluate `{name}`: it involves a sensitive value, so the details are hidden"),
                    "evaluation failed here",
                    Some("check the types of the values used here".into()),
                ));
            }
            Err(e) => errors.push(e),
        }
    }
    let children = raw
        .blocks
        .iter()
        .filter(|b| b.ident != "lifecycle")
        .map(|b| (b.ident.clone(), evaluate_block_with(ctx, b, sources, errors, sensitive_names)))
        .collect();
    Evaluated { values, children, loc: raw.loc.clone(), sensitive }
}

fn object_key(k: &hcl::edit::expr::ObjectKey) -> String {
    match k {
        hcl::edit::expr::ObjectKey::Ident(i) => i.as_str().to_string(),
        hcl::edit::expr::ObjectKey::Expression(hcl::edit::expr::Expression::String(s)) => s.as_str().to_string(),
        hcl::edit::expr::ObjectKey::Expression(_) => String::new(),
    }
}

impl Evaluated {
    /// Whether attribute `name` (or, with `key`, that key of a map attribute) is sensitive.
    pub fn is_sensitive(&self, name: &str, key: Option<&str>) -> bool {
        self.sensitive.contains(name) || key.is_some_and(|k| self.sensitive.contains(&format!("{name}.{k}")))
    }

    /// The keys of map attribute `name` that are sensitive (all of them when the whole is).
    pub fn sensitive_keys(&self, name: &str, keys: impl IntoIterator<Item = String>) -> BTreeSet<String> {
        keys.into_iter().filter(|k| self.is_sensitive(name, Some(k))).collect()
    }

    /// Flink settings to mask: those given a sensitive value, and those Flink itself hides.
    pub fn sensitive_settings(&self, name: &str, keys: impl IntoIterator<Item = String>) -> BTreeSet<String> {
        keys.into_iter().filter(|k| flink_hides(k) || self.is_sensitive(name, Some(k))).collect()
    }

    /// A sensitive value anywhere but in `allowed` attributes is an error: it would be shown or
    /// stored where flinkform cannot mask it (an image name, a label, a port).
    pub fn reject_sensitive(&self, allowed: &[&str], sources: &Sources, errors: &mut Vec<ConfigError>) {
        for s in &self.sensitive {
            let attr = s.split('.').next().unwrap_or(s);
            if allowed.contains(&attr) {
                continue;
            }
            let loc = self.values.get(attr).map(|(_, l)| l.clone()).unwrap_or_else(|| self.loc.clone());
            errors.push(sources.error(
                &loc,
                format!("`{attr}` cannot hold a sensitive value"),
                "sensitive value here",
                Some(format!(
                    "sensitive values may only flow into {}; flinkform would otherwise show or store it",
                    allowed.join(", ")
                )),
            ));
        }
        for c in self.children.values() {
            c.reject_sensitive(&[], sources, errors);
        }
    }
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

    /// A value for a message, unless it is sensitive.
    fn describe(&self, name: &str, v: &Value) -> String {
        if self.ev.is_some_and(|e| {
            e.is_sensitive(name, None) || e.sensitive.iter().any(|s| s.starts_with(&format!("{name}.")))
        }) {
            SENSITIVE_SHOWN.to_string()
        } else {
            eval::describe(v)
        }
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
                    format!("`{name}` must be a string, got {}", self.describe(name, other)),
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
                    format!("`{name}` must be a whole number {range}, got {}", self.describe(name, v)),
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
                    format!("`{name}` must be true or false, got {}", self.describe(name, other)),
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
                    format!("`{name}` must be a list of strings, got {}", self.describe(name, other)),
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
                        format!("`{name}` items must be strings, got {}", self.describe(name, other)),
                        "quote each item".into(),
                    );
                    return None;
                }
            }
        }
        Some(out)
    }

    /// A list of strings, each parsed by `parse`; one that does not parse is an error showing
    /// the expected `form` and an `example`.
    pub fn parsed_list<T>(&mut self, name: &str, parse: fn(&str) -> Option<T>, form: &str, example: &str) -> Vec<T> {
        let items = self.string_list(name).unwrap_or_default();
        let mut out = Vec::new();
        for item in items {
            match parse(&item) {
                Some(v) => out.push(v),
                None => {
                    let loc = self.loc(name);
                    self.fail(
                        &loc,
                        format!("\"{item}\" in `{name}` is not of the form {form}"),
                        format!("write e.g. {example}"),
                    );
                }
            }
        }
        out
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

    /// Flink settings (`flink_config`): a map of strings, each key and value on one line — a
    /// newline would end the setting and start another (`"x\nsecurity.ssl.rest.enabled: false"`).
    pub fn flink_settings(&mut self, name: &str) -> Option<BTreeMap<String, String>> {
        let settings = self.string_map(name)?;
        let multiline = |s: &str| s.contains(['\n', '\r']);
        if let Some(key) = settings.iter().find(|(k, v)| multiline(k) || multiline(v)).map(|(k, _)| k.clone()) {
            let loc = self.loc(name);
            // The value is not shown: it may be a secret.
            self.fail(
                &loc,
                format!("`{name}`.{key:?} spans several lines; a Flink setting is one line"),
                "remove the line breaks: Flink reads one setting per line".into(),
            );
            return None;
        }
        Some(settings)
    }

    /// A map of strings (numbers and bools are written as Flink reads them).
    pub fn string_map(&mut self, name: &str) -> Option<BTreeMap<String, String>> {
        let (v, loc) = self.get(name)?;
        let Value::Object(o) = v else {
            self.fail(
                &loc,
                format!("`{name}` must be a map, got {}", self.describe(name, v)),
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
                        format!(
                            "`{name}`.\"{k}\" must be a string, number or bool, got {}",
                            self.describe(name, other)
                        ),
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
    // `name[:tag][@digest]`: a digest is never a version, and a registry's port is not a tag.
    let name = image.split('@').next()?;
    let last = name.rsplit('/').next()?;
    let tag = last.split_once(':')?.1;
    if !tag.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let mut parts = tag.split(|c: char| !c.is_ascii_digit());
    let major = parts.next().filter(|p| !p.is_empty())?;
    let minor = parts.next().filter(|p| !p.is_empty())?;
    Some(format!("{major}.{minor}"))
}

/// Converts and validates one cluster.
pub fn convert(
    address: &str,
    name: &str,
    ev: &Evaluated,
    meta: &Meta,
    sources: &Sources,
    errors: &mut Vec<ConfigError>,
) -> Cluster {
    ev.reject_sensitive(&["flink_config"], sources, errors);
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
    let flink_config = f.flink_settings("flink_config").unwrap_or_default();

    let zookeeper = zookeeper(ev.children.get("zookeeper"), sources, errors);
    let jobmanager = jobmanager(ev.children.get("jobmanager"), name, zookeeper.is_some(), sources, errors);
    let taskmanager = taskmanager(ev.children.get("taskmanager"), sources, errors);
    let high_availability =
        high_availability(ev.children.get("high_availability"), name, zookeeper.is_some(), sources, errors);

    Cluster {
        address: address.to_string(),
        sensitive_config: ev.sensitive_settings("flink_config", flink_config.keys().cloned()),
        security: security(ev.children.get("security"), sources, errors),
        meta: meta.clone(),
        name: name.to_string(),
        loc: ev.loc.clone(),
        image,
        flink_version,
        flink_config,
        zookeeper,
        jobmanager,
        taskmanager,
        high_availability,
    }
}

/// The `zookeeper` block, when there is one: an odd number of servers.
fn zookeeper(ev: Option<&Evaluated>, sources: &Sources, errors: &mut Vec<ConfigError>) -> Option<Zookeeper> {
    let mut f = Fields::new(Some(ev?), sources, errors);
    let replicas = f.whole("replicas", 1, 7).unwrap_or(1) as u32;
    if replicas.is_multiple_of(2) {
        let loc = f.loc("replicas");
        f.fail(
            &loc,
            format!("ZooKeeper needs an odd number of servers for a quorum, got {replicas}"),
            "use 1, 3 or 5 replicas".into(),
        );
    }
    Some(Zookeeper {
        replicas,
        image: f.string("image").unwrap_or_else(|| DEFAULT_ZOOKEEPER_IMAGE.to_string()),
        memory: f.memory("memory").unwrap_or(Memory { mib: 512 }),
    })
}

/// The `jobmanager` block: more than one needs ZooKeeper; the REST bind is an IP address and
/// every JobManager's REST port (`rest_port` + its index) is a port.
fn jobmanager(
    ev: Option<&Evaluated>,
    name: &str,
    has_zookeeper: bool,
    sources: &Sources,
    errors: &mut Vec<ConfigError>,
) -> JobManager {
    let mut f = Fields::new(ev, sources, errors);
    let jobmanager = JobManager {
        replicas: f.whole("replicas", 1, 9).unwrap_or(1) as u32,
        memory: f.memory("memory").unwrap_or(Memory { mib: 1600 }),
        rest_port: f.whole("rest_port", 1, 65535).map(|p| p as u16),
        rest_bind: f.string("rest_bind").unwrap_or_else(|| "127.0.0.1".into()),
    };
    if jobmanager.replicas > 1 && !has_zookeeper {
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
    if let Some(port) = jobmanager.rest_port
        && u32::from(port) + jobmanager.replicas - 1 > 65535
    {
        let loc = f.loc("rest_port");
        f.fail(
            &loc,
            format!(
                "JobManager {} would publish REST on port {}, past 65535 (`rest_port` + its index)",
                jobmanager.replicas - 1,
                u32::from(port) + jobmanager.replicas - 1
            ),
            format!("use a `rest_port` of at most {}", 65536 - jobmanager.replicas),
        );
    }
    if jobmanager.rest_bind.parse::<std::net::IpAddr>().is_err() {
        let loc = f.loc("rest_bind");
        f.fail(
            &loc,
            format!("`rest_bind` = \"{}\" is not an IP address", jobmanager.rest_bind),
            "use \"127.0.0.1\" (the default), or the address of one of the host's interfaces".into(),
        );
    }
    jobmanager
}

fn security(ev: Option<&Evaluated>, sources: &Sources, errors: &mut Vec<ConfigError>) -> Security {
    let mut f = Fields::new(ev, sources, errors);
    let default = Security::default();
    Security {
        hardened: f.boolean("hardened").unwrap_or(default.hardened),
        pids_limit: f.whole("pids_limit", 64, 1 << 22).map_or(default.pids_limit, |n| n as i64),
        tls: f.boolean("tls").unwrap_or(default.tls),
    }
}

fn taskmanager(ev: Option<&Evaluated>, sources: &Sources, errors: &mut Vec<ConfigError>) -> TaskManager {
    let mut f = Fields::new(ev, sources, errors);
    TaskManager {
        replicas: f.whole("replicas", 0, 1000).unwrap_or(1) as u32,
        slots: f.whole("slots", 1, 1024).unwrap_or(1) as u32,
        memory: f.memory("memory").unwrap_or(Memory { mib: 1728 }),
    }
}

/// `high_availability` (implied by a `zookeeper` block): its storage shared by the JobManagers.
fn high_availability(
    ev: Option<&Evaluated>,
    name: &str,
    has_zookeeper: bool,
    sources: &Sources,
    errors: &mut Vec<ConfigError>,
) -> Option<HighAvailability> {
    if !has_zookeeper && ev.is_none() {
        return None;
    }
    let mut f = Fields::new(ev, sources, errors);
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
    if !has_zookeeper {
        let loc = ev.map(|e| e.loc.clone()).unwrap_or_default();
        f.fail(
            &loc,
            "`high_availability` needs ZooKeeper".into(),
            "add a `zookeeper { replicas = 1 }` block to the cluster".into(),
        );
    }
    Some(ha)
}

/// Does Flink hide this setting's value in its own logs and web UI? The same rule as Flink's
/// `GlobalConfiguration.isSensitive`: the key, lower-cased, contains one of these words. Such a
/// value is masked in plans and state even when written literally.
pub fn flink_hides(key: &str) -> bool {
    const SENSITIVE: &[&str] = &[
        "password",
        "secret",
        "fs.azure.account.key",
        "apikey",
        "api-key",
        "auth-params",
        "service-key",
        "token",
        "basic-auth",
        "jaas.config",
        "http-headers",
    ];
    let key = key.to_ascii_lowercase();
    SENSITIVE.iter().any(|s| key.contains(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flink_version_comes_from_a_tag_never_from_a_digest() {
        assert_eq!(version_from_image("apache/flink:2.3.0-java17").as_deref(), Some("2.3"));
        assert_eq!(version_from_image("registry.local:5000/flink:1.20.1").as_deref(), Some("1.20"));
        assert_eq!(version_from_image("apache/flink:1.20@sha256:1a2b3c4d").as_deref(), Some("1.20"));
        assert_eq!(version_from_image("apache/flink@sha256:1a2b3c4d"), None, "a digest is not a version");
        assert_eq!(version_from_image("apache/flink:latest"), None);
        assert_eq!(version_from_image("registry.local:5000/flink"), None);
    }

    #[test]
    fn reads_the_version_from_the_tag() {
        assert_eq!(version_from_image("apache/flink:2.3.0-java17").as_deref(), Some("2.3"));
        assert_eq!(version_from_image("host:5000/flink:1.20.1").as_deref(), Some("1.20"));
        assert_eq!(version_from_image("flink:latest"), None);
        assert_eq!(version_from_image("host:5000/flink"), None);
    }
}
