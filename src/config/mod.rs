//! Configuration: every `*.hcl` file of a directory → a typed, validated [`Config`].
//!
//! Pipeline: read and parse files ([`raw`]) → declare variables and resolve their values
//! ([`vars`]) → find references between `locals`, `cluster` and `output` blocks and order them
//! (a cycle is an error naming every member) → evaluate in that order ([`eval`]) → convert and
//! validate ([`cluster`]). All errors are collected and returned together.

// Config errors carry their source snippet; they are collected on a cold path, so their size
// does not matter.
#![allow(clippy::result_large_err)]

pub mod application;
mod attempt;
mod calls;
pub mod cluster;
pub mod console;
pub mod container;
pub mod diag;
pub mod eval;
pub mod extras;
pub mod fields;
pub mod files;
pub mod format;
pub mod functions;
pub mod job;
pub mod library;
pub mod module;
mod moved;
mod order;
pub mod raw;
mod repeat;
pub mod stdlib;
pub mod types;
pub mod vars;
pub mod warnings;

pub use diag::{ConfigError, ConfigErrors, Loc, Sources};
pub use types::*;
pub use vars::VarInputs;

use diag::SourceFile;
use hcl::Value;
use raw::RawBlock;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Attributes of `cluster.<name>` available to expressions.
pub const CLUSTER_ATTRIBUTES: &[&str] =
    &["jobmanager_host", "name", "network", "rest_port", "rest_url", "slots_total", "taskmanagers", "tls_bundle"];

/// A cluster's live REST endpoint, by cluster address.
pub type PortLookup<'a> = &'a dyn Fn(&str) -> Option<LiveRest>;

/// Where a cluster's first JobManager serves REST, as the state records it: its host port, and
/// the URL flinkform reaches it at (on a swarm, the node its task runs on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveRest {
    pub port: u16,
    pub url: Option<String>,
}

/// A loaded, evaluated and validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub dir: PathBuf,
    pub sources: Sources,
    pub settings: Settings,
    pub variables: BTreeMap<String, Variable>,
    pub var_values: BTreeMap<String, Value>,
    pub inputs: VarInputs,
    /// Every resource, across modules, by address.
    pub clusters: BTreeMap<String, Cluster>,
    pub containers: BTreeMap<String, Container>,
    pub networks: BTreeMap<String, Infra>,
    pub volumes: BTreeMap<String, Infra>,
    pub jobs: BTreeMap<String, Job>,
    /// What the root module's expressions see (for `console`).
    pub root: console::RootScope,
    /// `moved` blocks of every module, addresses made absolute.
    pub moves: Vec<Move>,
    /// The root module's outputs as known before apply.
    pub outputs: BTreeMap<String, OutputValue>,
    /// Every file the load read: evaluating again (the outputs) reads these, not the disk.
    pub files: std::sync::Arc<files::Files>,
}

/// Loads the configuration in `dir`.
pub fn load(dir: &Path, inputs: &VarInputs) -> Result<Config, ConfigErrors> {
    load_then(dir, inputs, &mut |_| {})
}

/// The one duration syntax of the whole program (configuration and command line): humantime's
/// (`30s`, `2m`, `500ms`, `1h 30m`), or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let t = text.trim();
    if let Ok(secs) = t.parse::<u64>() {
        return Ok(std::time::Duration::from_secs(secs));
    }
    humantime::parse_duration(t).map_err(|_| format!("\"{text}\" is not a duration such as 30s, 2m or 500ms"))
}

/// Only the `flinkform` block's settings (the project, where the state is), as commands that
/// read the state alone need them (`output`, `show`, `state …`: Terraform's read the state
/// without the configuration). Variables without a value are no error unless the block uses one.
pub fn settings(dir: &Path, inputs: &VarInputs) -> Result<Settings, ConfigErrors> {
    let mut errors = Vec::new();
    let mut sources = read_root(dir)?;
    let mut blocks: Vec<RawBlock> = Vec::new();
    for file in 0..sources.files.len() {
        match raw::parse_file(&sources, file) {
            Ok(body) => blocks.extend(raw::collect(&sources, file, &body, raw::TOP_LEVEL, &mut errors)),
            Err(e) => errors.push(e),
        }
    }
    let variables: BTreeMap<String, Variable> = blocks
        .iter()
        .filter(|b| b.ident == "variable")
        .map(|b| vars::declare(b, &sources, &mut errors))
        .map(|v| (v.name.clone(), v))
        .collect();
    let var_values = vars::resolve(dir, inputs, &variables, &mut sources, &mut Vec::new());
    let settings = read_settings(dir, &blocks, &object(&var_values), &sources, &mut errors);
    if errors.is_empty() { Ok(settings) } else { Err(ConfigErrors { errors: diag::dedupe(errors) }) }
}

/// [`load`], calling `early` with the settings as soon as they are known and valid, before the
/// blocks and their instances are evaluated: work that needs only the project and the Docker
/// host (asking Docker what is live) can start meanwhile.
pub fn load_then(dir: &Path, inputs: &VarInputs, early: &mut dyn FnMut(&Settings)) -> Result<Config, ConfigErrors> {
    files::record();
    let loaded = load_with(dir, inputs, None, early);
    let read = files::finish();
    loaded.map(|config| Config { files: read, ..config })
}

/// Loads the configuration; `ports` gives a cluster's live REST port by cluster address (so
/// outputs such as `rest_url` are known after apply).
fn load_with(
    dir: &Path,
    inputs: &VarInputs,
    ports: Option<PortLookup>,
    early: &mut dyn FnMut(&Settings),
) -> Result<Config, ConfigErrors> {
    let mut errors = Vec::new();
    let mut sources = read_root(dir)?;
    functions::set_base_dir(dir.to_path_buf());

    let mut blocks: Vec<RawBlock> = Vec::new();
    for file in 0..sources.files.len() {
        match raw::parse_file(&sources, file) {
            Ok(body) => blocks.extend(raw::collect(&sources, file, &body, raw::TOP_LEVEL, &mut errors)),
            Err(e) => errors.push(e),
        }
    }

    // Variables first: everything else may read them.
    let mut variables = BTreeMap::new();
    for b in blocks.iter().filter(|b| b.ident == "variable") {
        let v = vars::declare(b, &sources, &mut errors);
        if variables.contains_key(&v.name) {
            errors.push(duplicate(&sources, b, "variable"));
        }
        variables.insert(v.name.clone(), v);
    }
    let var_values = vars::resolve(dir, inputs, &variables, &mut sources, &mut errors);
    if variables.keys().any(|v| !var_values.contains_key(v)) {
        // Without every variable, the rest would only report follow-on errors.
        return Err(ConfigErrors { errors: diag::dedupe(errors) });
    }
    let settings = read_settings(dir, &blocks, &object(&var_values), &sources, &mut errors);
    if errors.is_empty() {
        early(&settings);
    }

    let sensitive = variables.values().filter(|v| v.sensitive).map(|v| v.name.clone()).collect();
    let root_inputs = module::Inputs { variables: variables.clone(), values: var_values.clone(), sensitive };
    let mut loader = module::Loader {
        sources,
        errors,
        project: settings.project.clone(),
        root: dir.to_path_buf(),
        ports,
        out: Default::default(),
    };
    loader.validate(&root_inputs);
    let scope = module::Scope {
        prefix: String::new(),
        stem: String::new(),
        dir: dir.to_path_buf(),
        inherited: Vec::new(),
        depth: 0,
        callers: Vec::new(),
    };
    let outputs = loader.module(&scope, &blocks, &root_inputs);
    let module::Loader { sources, mut errors, out, .. } = loader;
    check_host_ports(&out.clusters, &out.containers, &sources, &mut errors);
    check_engine(settings.engine, &out.clusters, &out.containers, &sources, &mut errors);
    let declared: Vec<&str> = out.declared().collect();
    for (m, a) in moved::still_declared(&out.moves, &declared) {
        errors.push(sources.error(
            &m.loc,
            format!("{} has moved to {}, but the configuration still declares {a}", m.from, m.to),
            "moved object still exists",
            Some(format!("rename the block to {} (or remove this `moved` block)", m.to)),
        ));
    }

    if !errors.is_empty() {
        return Err(ConfigErrors { errors: diag::dedupe(errors) });
    }
    Ok(Config {
        dir: dir.to_path_buf(),
        sources,
        settings,
        variables,
        var_values,
        inputs: inputs.clone(),
        clusters: out.clusters,
        containers: out.containers,
        networks: out.networks,
        volumes: out.volumes,
        jobs: out.jobs,
        moves: out.moves,
        root: out.root,
        outputs,
        files: Default::default(),
    })
}

/// The configuration directory's `*.hcl` files, in name order; none is an error.
fn read_root(dir: &Path) -> Result<Sources, ConfigErrors> {
    let mut sources = Sources::default();
    let mut paths = files::list(dir);
    paths.retain(|p| p.extension().is_some_and(|e| e == "hcl") && files::is_file(p));
    paths.sort();
    if paths.is_empty() {
        let empty = Sources {
            files: vec![SourceFile { name: dir.display().to_string(), path: dir.into(), text: String::new() }],
        };
        return Err(ConfigErrors {
            errors: vec![empty.error(
                &Loc::default(),
                format!("no configuration files (*.hcl) in {}", dir.display()),
                "",
                Some("run flinkform in the directory holding your .hcl files, or pass --chdir DIR".into()),
            )],
        });
    }
    for path in &paths {
        let text = files::read_to_string(path).unwrap_or_default();
        let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        sources.files.push(SourceFile { name, path: path.clone(), text });
    }
    Ok(sources)
}

impl Config {
    /// Evaluates every root output, with each cluster's live REST endpoint (by cluster address)
    /// where known: the configuration is evaluated again with those values. `applied`: after
    /// apply, when `timestamp()` is the time (before, it is known only after apply).
    pub fn evaluate_outputs(
        &self,
        rest_port: PortLookup,
        applied: bool,
    ) -> Result<BTreeMap<String, OutputValue>, ConfigErrors> {
        if self.outputs.is_empty() {
            return Ok(BTreeMap::new());
        }
        let mode = if applied { library::TimestampMode::Now } else { library::TimestampMode::KnownAfterApply };
        Ok(self.evaluate_again(rest_port, mode)?.outputs)
    }

    /// The configuration evaluated again from the files as loaded (never the disk), with each
    /// cluster's REST port as `rest_port` gives it and `timestamp()` answering as `mode`.
    pub(crate) fn evaluate_again(
        &self,
        rest_port: PortLookup,
        mode: library::TimestampMode,
    ) -> Result<Config, ConfigErrors> {
        files::replay(self.files.clone());
        let again = library::with_timestamp(mode, || load_with(&self.dir, &self.inputs, Some(rest_port), &mut |_| {}));
        files::finish();
        again
    }
}

pub(crate) fn duplicate(sources: &Sources, b: &RawBlock, what: &str) -> ConfigError {
    sources.error(
        &b.loc,
        format!("{what} \"{}\" is declared twice", b.label()),
        "second declaration",
        Some("names must be unique: rename or remove one".into()),
    )
}

pub(crate) fn object(map: &BTreeMap<String, Value>) -> Value {
    Value::Object(map.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

/// What `cluster.<name>` evaluates to.
pub fn cluster_object(project: &str, c: &Cluster, live: Option<LiveRest>) -> Value {
    let port = c.jobmanager.rest_port.or(live.as_ref().map(|l| l.port));
    // The recorded URL while it is for this port; else the one the configuration implies.
    let recorded = live.and_then(|l| l.url.filter(|_| Some(l.port) == port));
    let mut o = hcl::Map::new();
    o.insert("name".into(), c.name.clone().into());
    o.insert("network".into(), crate::names::network(project, &c.name).into());
    o.insert("jobmanager_host".into(), crate::names::container(project, &c.name, "jobmanager", 0).into());
    o.insert("taskmanagers".into(), Value::from(u64::from(c.taskmanager.replicas)));
    o.insert("slots_total".into(), Value::from(u64::from(c.taskmanager.replicas * c.taskmanager.slots)));
    // Where apply writes the client certificate of a TLS cluster.
    let bundle = c.security.tls.then(|| crate::names::tls_bundle_dir(&c.name).display().to_string());
    o.insert("tls_bundle".into(), bundle.map_or(Value::Null, Value::from));
    match port {
        Some(p) => {
            o.insert("rest_port".into(), Value::from(u64::from(p)));
            let url = recorded.unwrap_or_else(|| crate::names::rest_url(&c.jobmanager.rest_bind, p, c.security.tls));
            o.insert("rest_url".into(), url.into());
        }
        None => {
            o.insert("rest_port".into(), KNOWN_AFTER_APPLY.into());
            o.insert("rest_url".into(), KNOWN_AFTER_APPLY.into());
        }
    }
    Value::Object(o)
}

fn read_settings(
    dir: &Path,
    blocks: &[RawBlock],
    var: &Value,
    sources: &Sources,
    errors: &mut Vec<ConfigError>,
) -> Settings {
    let dir_name = std::fs::canonicalize(dir)
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().to_string()))
        .unwrap_or_default();
    let mut s = Settings {
        project: crate::names::sanitize(&dir_name),
        state_path: "flinkform.state.json".into(),
        docker_host: None,
        engine: EngineKind::Docker,
        backend: BackendSettings::Local,
        policy_dir: None,
    };
    let ctx = eval::context(&[("var", var.clone())]);
    let settings: Vec<&RawBlock> = blocks.iter().filter(|b| b.ident == "flinkform").collect();
    if settings.len() > 1 {
        errors.push(sources.error(
            &settings[1].loc,
            "the `flinkform` block appears twice",
            "second block",
            Some("merge the two blocks".into()),
        ));
    }
    if let Some(b) = settings.first() {
        let ev = fields::evaluate_block(&ctx, b, sources, errors);
        let mut f = fields::Fields::new(Some(&ev), sources, errors);
        if let Some(p) = f.string("project") {
            if crate::names::is_valid(&p) {
                s.project = p;
            } else {
                let loc = f.loc("project");
                f.errors.push(sources.error(
                    &loc,
                    format!("project \"{p}\" is not a valid Docker name"),
                    "invalid name",
                    Some("use letters, digits, `_`, `.` and `-`".into()),
                ));
            }
        }
        if let Some(p) = f.string("state_path") {
            s.state_path = p;
        }
        s.docker_host = f.string("docker_host");
        if f.choice("engine", &["docker", "swarm"]).as_deref() == Some("swarm") {
            s.engine = EngineKind::Swarm;
        }
        s.policy_dir = f.string("policy_dir");
        if let Some(raw) = b.block("backend") {
            s.backend = backend(raw, ev.children.get("backend"), sources, errors);
        }
    }
    s
}

/// What the chosen engine cannot do: `placement` and `rolling_update` are a swarm's (on a
/// single engine they would silently mean nothing); a swarm service's spec has no place for a
/// sensitive command line.
fn check_engine(
    engine: EngineKind,
    clusters: &BTreeMap<String, Cluster>,
    containers: &BTreeMap<String, Container>,
    sources: &Sources,
    errors: &mut Vec<ConfigError>,
) {
    // A swarm keeps sensitive values out of a service's spec as secrets read into its
    // environment; a command line has no such place.
    for c in containers.values().filter(|c| engine == EngineKind::Swarm && c.sensitive_command) {
        errors.push(sources.error(
            &c.loc,
            format!("{}: its `command` holds a sensitive value, which a swarm service's spec would show", c.address),
            "sensitive command on a swarm",
            Some("pass the value through `env` (kept as a swarm secret) and read it in the command".into()),
        ));
    }
    if engine == EngineKind::Swarm {
        return;
    }
    for c in clusters.values() {
        let zookeeper = c.zookeeper.as_ref().map(|z| &z.placement);
        let roles = [
            ("zookeeper", zookeeper),
            ("jobmanager", Some(&c.jobmanager.placement)),
            ("taskmanager", Some(&c.taskmanager.placement)),
        ];
        for (role, placement) in roles {
            if placement.is_some_and(|p| !p.is_empty()) {
                errors.push(sources.error(
                    &c.loc,
                    format!("{}: its {role} has a `placement` block, which only a swarm uses", c.address),
                    "placement on a single engine",
                    Some("set `engine = \"swarm\"` in the `flinkform` block, or remove the `placement` block".into()),
                ));
            }
        }
        if c.taskmanager.rolling_update.is_some() {
            errors.push(sources.error(
                &c.loc,
                format!("{}: its taskmanager has a `rolling_update` block, which only a swarm uses", c.address),
                "rolling_update on a single engine",
                Some("set `engine = \"swarm\"` in the `flinkform` block, or remove the `rolling_update` block (a single engine replaces TaskManagers after their jobs are suspended)".into()),
            ));
        }
    }
}

/// The `backend "NAME" { … }` block: `local` or `postgres`.
fn backend(
    raw: &RawBlock,
    ev: Option<&fields::Evaluated>,
    sources: &Sources,
    errors: &mut Vec<ConfigError>,
) -> BackendSettings {
    let mut f = fields::Fields::new(ev, sources, errors);
    match raw.label() {
        "local" => BackendSettings::Local,
        "postgres" => {
            let schema = f.string("schema").unwrap_or_else(|| "flinkform".into());
            let valid = schema.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
                && schema.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !valid {
                let loc = f.loc("schema");
                f.errors.push(sources.error(
                    &loc,
                    format!("schema \"{schema}\" is not a plain PostgreSQL name"),
                    "invalid schema",
                    Some("use lower-case letters, digits and `_`, starting with a letter".into()),
                ));
            }
            BackendSettings::Postgres { conn_str: f.string("conn_str"), schema }
        }
        other => {
            errors.push(sources.error(
                &raw.loc,
                format!("unknown backend \"{other}\""),
                "unknown backend",
                Some("flinkform keeps its state in `local` (a file, the default) or `postgres`".into()),
            ));
            BackendSettings::Local
        }
    }
}

pub(crate) fn collect_exprs<'a>(b: &'a RawBlock, out: &mut Vec<&'a hcl::edit::expr::Expression>) {
    out.extend(b.attrs.values().map(|a| &a.expr));
    for c in &b.blocks {
        collect_exprs(c, out);
    }
}

pub(crate) fn undefined<'a>(
    sources: &Sources,
    loc: &Loc,
    what: &str,
    full: &str,
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    fallback: &str,
) -> ConfigError {
    let help =
        diag::suggest(name, candidates).map(|s| format!("did you mean `{s}`?")).unwrap_or_else(|| fallback.to_string());
    sources.error(loc, format!("reference to undefined {what} `{full}`"), "not declared", Some(help))
}

/// Two containers cannot publish the same host port (JobManager i uses `rest_port + i`).
fn check_host_ports(
    clusters: &BTreeMap<String, Cluster>,
    containers: &BTreeMap<String, Container>,
    sources: &Sources,
    errors: &mut Vec<ConfigError>,
) {
    let mut owners: BTreeMap<(u32, String), String> = BTreeMap::new();
    let mut check = |port: u32, proto: &str, address: &str, loc: &Loc, errors: &mut Vec<ConfigError>| {
        if let Some(other) = owners.insert((port, proto.to_string()), address.to_string())
            && other != address
        {
            errors.push(sources.error(
                loc,
                format!("host port {port} is published by both {other} and {address}"),
                "port conflict",
                Some("give each its own host port (JobManager i of a cluster publishes rest_port + i), or leave it out for an ephemeral one".into()),
            ));
        }
    };
    for c in clusters.values() {
        let Some(base) = c.jobmanager.rest_port else { continue };
        for i in 0..c.jobmanager.replicas {
            check(u32::from(base) + i, "tcp", &c.address, &c.loc, errors);
        }
    }
    for c in containers.values() {
        for p in &c.ports {
            if let Some(h) = p.host_port {
                check(u32::from(h), &p.protocol, &c.address, &c.loc, errors);
            }
        }
    }
}
