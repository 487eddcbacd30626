//! Configuration: every `*.hcl` file of a directory → a typed, validated [`Config`].
//!
//! Pipeline: read and parse files ([`raw`]) → declare variables and resolve their values
//! ([`vars`]) → find references between `locals`, `cluster` and `output` blocks and order them
//! (a cycle is an error naming every member) → evaluate in that order ([`eval`]) → convert and
//! validate ([`cluster`]). All errors are collected and returned together.

// Config errors carry their source snippet; they are collected on a cold path, so their size
// does not matter.
#![allow(clippy::result_large_err)]

pub mod cluster;
pub mod diag;
pub mod eval;
pub mod format;
pub mod functions;
pub mod job;
pub mod raw;
pub mod types;
pub mod vars;

pub use diag::{ConfigError, ConfigErrors, Loc, Sources};
pub use types::*;
pub use vars::VarInputs;

use diag::SourceFile;
use hcl::Value;
use petgraph::graph::{DiGraph, NodeIndex};
use raw::RawBlock;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Attributes of `cluster.<name>` available to expressions.
pub const CLUSTER_ATTRIBUTES: &[&str] =
    &["jobmanager_host", "name", "network", "rest_port", "rest_url", "slots_total", "taskmanagers"];

/// A loaded, evaluated and validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub dir: PathBuf,
    pub sources: Sources,
    pub settings: Settings,
    pub variables: BTreeMap<String, Variable>,
    pub var_values: BTreeMap<String, Value>,
    pub locals: BTreeMap<String, Value>,
    pub clusters: BTreeMap<String, Cluster>,
    pub jobs: BTreeMap<String, Job>,
    pub outputs: Vec<Output>,
}

/// Loads the configuration in `dir`.
pub fn load(dir: &Path, inputs: &VarInputs) -> Result<Config, ConfigErrors> {
    let mut errors = Vec::new();
    let mut sources = Sources::default();
    let mut paths: Vec<PathBuf> =
        std::fs::read_dir(dir).map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect()).unwrap_or_default();
    paths.retain(|p| p.extension().is_some_and(|e| e == "hcl") && p.is_file());
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
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        sources.files.push(SourceFile { name, path: path.clone(), text });
    }
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
    let var_object = object(&var_values);

    let settings = read_settings(dir, &blocks, &var_object, &sources, &mut errors);

    // Locals, clusters and outputs: nodes of a reference graph.
    let mut nodes: BTreeMap<(String, String), Node> = BTreeMap::new();
    for b in &blocks {
        match b.ident.as_str() {
            "locals" => {
                for (name, attr) in &b.attrs {
                    let key = ("local".to_string(), name.clone());
                    if nodes.contains_key(&key) {
                        errors.push(sources.error(
                            &attr.key_loc,
                            format!("local `{name}` is defined twice"),
                            "second definition",
                            Some("rename or remove one".into()),
                        ));
                        continue;
                    }
                    nodes.insert(key, Node::Local(attr.clone()));
                }
            }
            "cluster" | "output" | "job" => {
                let key = (b.ident.clone(), b.label().to_string());
                if nodes.contains_key(&key) {
                    errors.push(duplicate(&sources, b, &b.ident));
                    continue;
                }
                if b.ident != "output" && !crate::names::is_valid(b.label()) {
                    errors.push(sources.error(
                        &b.loc,
                        format!("{} name \"{}\" is not a valid name", b.ident, b.label()),
                        "invalid name",
                        Some("use letters, digits, `_`, `.` and `-`, starting with a letter or digit".into()),
                    ));
                }
                nodes.insert(key, Node::Block(b.clone()));
            }
            _ => {}
        }
    }
    let mut cyclic = BTreeSet::new();
    let mut order = order_nodes(&nodes, &variables, &sources, &mut errors, &mut cyclic);
    // Jobs last: they read the typed clusters (a job may name its cluster with a plain string).
    order.sort_by_key(|k| k.0 == "job");

    let mut locals = BTreeMap::new();
    let mut clusters = BTreeMap::new();
    let mut cluster_objects = BTreeMap::new();
    let mut outputs = Vec::new();
    let mut jobs = BTreeMap::new();
    for key in order {
        let ctx = eval::context(&[
            ("var", var_object.clone()),
            ("local", object(&locals)),
            ("cluster", object(&cluster_objects)),
        ]);
        match &nodes[&key] {
            Node::Local(_) if cyclic.contains(&key) => {
                locals.insert(key.1.clone(), Value::Null);
            }
            Node::Block(_) if cyclic.contains(&key) => {}
            Node::Local(attr) => {
                let v = eval::eval_attr(&ctx, attr, &sources).unwrap_or_else(|e| {
                    errors.push(e);
                    Value::Null
                });
                locals.insert(key.1.clone(), v);
            }
            Node::Block(b) if b.ident == "cluster" => {
                let ev = cluster::evaluate_block(&ctx, b, &sources, &mut errors);
                let c = cluster::convert(&key.1, &ev, &sources, &mut errors);
                cluster_objects.insert(key.1.clone(), cluster_object(&settings.project, &c, None));
                clusters.insert(key.1.clone(), c);
            }
            Node::Block(b) if b.ident == "job" => {
                let ev = cluster::evaluate_block(&ctx, b, &sources, &mut errors);
                if let Some(j) = job::convert(&key.1, &ev, &clusters, dir, &sources, &mut errors) {
                    jobs.insert(key.1.clone(), j);
                }
            }
            Node::Block(b) => {
                let ctx0 = eval::context(&[]);
                let read = |name: &str| b.attrs.get(name).and_then(|a| eval::eval_attr(&ctx0, a, &sources).ok());
                let description = read("description").and_then(|v| v.as_str().map(str::to_string));
                let sensitive = read("sensitive").and_then(|v| v.as_bool()).unwrap_or(false);
                match b.attrs.get("value") {
                    Some(value) => outputs.push(Output {
                        name: key.1.clone(),
                        expr: value.expr.clone(),
                        loc: value.value_loc.clone(),
                        description,
                        sensitive,
                    }),
                    None => errors.push(sources.error(
                        &b.loc,
                        format!("output \"{}\" has no `value`", key.1),
                        "missing value",
                        Some("add `value = …`".into()),
                    )),
                }
            }
        }
    }
    check_host_ports(&clusters, &sources, &mut errors);

    if !errors.is_empty() {
        return Err(ConfigErrors { errors: diag::dedupe(errors) });
    }
    Ok(Config { dir: dir.to_path_buf(), sources, settings, variables, var_values, locals, clusters, jobs, outputs })
}

impl Config {
    /// Evaluates every output. `rest_port` gives a cluster's live REST host port when known.
    pub fn evaluate_outputs(
        &self,
        rest_port: &dyn Fn(&str) -> Option<u16>,
    ) -> Result<BTreeMap<String, OutputValue>, ConfigErrors> {
        let clusters: BTreeMap<String, Value> = self
            .clusters
            .values()
            .map(|c| (c.name.clone(), cluster_object(&self.settings.project, c, rest_port(&c.name))))
            .collect();
        let ctx = eval::context(&[
            ("var", object(&self.var_values)),
            ("local", object(&self.locals)),
            ("cluster", object(&clusters)),
        ]);
        let mut errors = Vec::new();
        let mut out = BTreeMap::new();
        for o in &self.outputs {
            let refs_sensitive = eval::references(&o.expr)
                .iter()
                .any(|r| r.namespace == "var" && self.variables.get(&r.name).is_some_and(|v| v.sensitive));
            match eval::eval_expr(&ctx, &o.expr, &o.loc, &self.sources) {
                Ok(value) => {
                    out.insert(o.name.clone(), OutputValue { value, sensitive: o.sensitive || refs_sensitive });
                }
                Err(e) => errors.push(e),
            }
        }
        if errors.is_empty() { Ok(out) } else { Err(ConfigErrors { errors }) }
    }

    /// The state file's path (relative paths are relative to the configuration directory).
    pub fn state_path(&self) -> PathBuf {
        self.dir.join(&self.settings.state_path)
    }
}

enum Node {
    Local(raw::RawAttr),
    Block(RawBlock),
}

fn duplicate(sources: &Sources, b: &RawBlock, what: &str) -> ConfigError {
    sources.error(
        &b.loc,
        format!("{what} \"{}\" is declared twice", b.label()),
        "second declaration",
        Some("names must be unique: rename or remove one".into()),
    )
}

fn object(map: &BTreeMap<String, Value>) -> Value {
    Value::Object(map.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

/// What `cluster.<name>` evaluates to.
pub fn cluster_object(project: &str, c: &Cluster, live_port: Option<u16>) -> Value {
    let port = c.jobmanager.rest_port.or(live_port);
    let mut o = hcl::Map::new();
    o.insert("name".into(), c.name.clone().into());
    o.insert("network".into(), crate::names::network(project, &c.name).into());
    o.insert("jobmanager_host".into(), crate::names::container(project, &c.name, "jobmanager", 0).into());
    o.insert("taskmanagers".into(), Value::from(u64::from(c.taskmanager.replicas)));
    o.insert("slots_total".into(), Value::from(u64::from(c.taskmanager.replicas * c.taskmanager.slots)));
    match port {
        Some(p) => {
            o.insert("rest_port".into(), Value::from(u64::from(p)));
            o.insert("rest_url".into(), crate::names::rest_url(&c.jobmanager.rest_bind, p).into());
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
        let ev = cluster::evaluate_block(&ctx, b, sources, errors);
        let mut f = cluster::Fields::new(Some(&ev), sources, errors);
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
    }
    s
}

/// Checks references and returns an evaluation order; cycles and undefined names are errors.
fn order_nodes(
    nodes: &BTreeMap<(String, String), Node>,
    variables: &BTreeMap<String, Variable>,
    sources: &Sources,
    errors: &mut Vec<ConfigError>,
    cyclic: &mut BTreeSet<(String, String)>,
) -> Vec<(String, String)> {
    let mut graph: DiGraph<(String, String), ()> = DiGraph::new();
    let index: BTreeMap<(String, String), NodeIndex> =
        nodes.keys().map(|k| (k.clone(), graph.add_node(k.clone()))).collect();
    let mut locs: BTreeMap<(String, String), Loc> = BTreeMap::new();
    for (key, node) in nodes {
        let (file, exprs): (usize, Vec<&hcl::edit::expr::Expression>) = match node {
            Node::Local(a) => {
                locs.insert(key.clone(), a.key_loc.clone());
                (a.key_loc.file, vec![&a.expr])
            }
            Node::Block(b) => {
                locs.insert(key.clone(), b.loc.clone());
                let mut all = Vec::new();
                collect_exprs(b, &mut all);
                (b.loc.file, all)
            }
        };
        for expr in exprs {
            for r in eval::references(expr) {
                let loc = Loc { file, range: r.range.clone() };
                let target = match r.namespace.as_str() {
                    "var" => {
                        if !variables.contains_key(&r.name) {
                            errors.push(undefined(
                                sources,
                                &loc,
                                "variable",
                                &format!("var.{}", r.name),
                                &r.name,
                                variables.keys().map(String::as_str),
                                &format!("declare it: `variable \"{}\" {{}}`", r.name),
                            ));
                        }
                        continue;
                    }
                    "local" => ("local".to_string(), r.name.clone()),
                    _ => ("cluster".to_string(), r.name.clone()),
                };
                if !index.contains_key(&target) {
                    let names: Vec<&str> = nodes.keys().filter(|k| k.0 == target.0).map(|k| k.1.as_str()).collect();
                    let help = if target.0 == "local" {
                        format!("define it in a `locals {{ {} = … }}` block", r.name)
                    } else {
                        format!("declare it: `cluster \"{}\" {{ … }}`", r.name)
                    };
                    errors.push(undefined(
                        sources,
                        &loc,
                        &target.0,
                        &format!("{}.{}", r.namespace, r.name),
                        &r.name,
                        names,
                        &help,
                    ));
                    continue;
                }
                if target.0 == "cluster"
                    && let Some(a) = &r.attribute
                    && !CLUSTER_ATTRIBUTES.contains(&a.as_str())
                {
                    let help = diag::suggest(a, CLUSTER_ATTRIBUTES.iter().copied())
                        .map(|s| format!("did you mean `{s}`?"))
                        .unwrap_or_else(|| format!("available: {}", CLUSTER_ATTRIBUTES.join(", ")));
                    errors.push(sources.error(
                        &loc,
                        format!("cluster \"{}\" has no attribute `{a}`", r.name),
                        "unknown attribute",
                        Some(help),
                    ));
                }
                graph.update_edge(index[key], index[&target], ());
            }
        }
    }
    // Tarjan yields components in reverse topological order of "refers to" edges: what is
    // referred to comes first, which is the evaluation order. A component with more than one
    // member (or a self-reference) is a cycle: reported, and its members evaluate to null so
    // the rest of the configuration is still checked.
    let mut order = Vec::new();
    for scc in petgraph::algo::tarjan_scc(&graph) {
        let is_cycle = scc.len() > 1 || graph.contains_edge(scc[0], scc[0]);
        if !is_cycle {
            order.push(graph[scc[0]].clone());
            continue;
        }
        let mut members: Vec<&(String, String)> = scc.iter().map(|i| &graph[*i]).collect();
        members.sort();
        let names: Vec<String> = members.iter().map(|(k, n)| format!("{k}.{n}")).collect();
        let places: Vec<String> =
            members.iter().map(|m| format!("{}.{} at {}", m.0, m.1, sources.position(&locs[*m]))).collect();
        errors.push(sources.error(
            &locs[members[0]],
            format!("reference cycle: {} refer to each other", names.join(", ")),
            "part of the cycle",
            Some(format!("break the cycle; its members are: {}", places.join("; "))),
        ));
        cyclic.extend(members.into_iter().cloned());
    }
    order
}

fn collect_exprs<'a>(b: &'a RawBlock, out: &mut Vec<&'a hcl::edit::expr::Expression>) {
    out.extend(b.attrs.values().map(|a| &a.expr));
    for c in &b.blocks {
        collect_exprs(c, out);
    }
}

fn undefined<'a>(
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

/// Two JobManagers cannot publish the same host port (replica i uses `rest_port + i`).
fn check_host_ports(clusters: &BTreeMap<String, Cluster>, sources: &Sources, errors: &mut Vec<ConfigError>) {
    let mut seen: BTreeMap<u32, &str> = BTreeMap::new();
    for c in clusters.values() {
        let Some(base) = c.jobmanager.rest_port else { continue };
        for i in 0..c.jobmanager.replicas {
            let port = u32::from(base) + i;
            if let Some(other) = seen.insert(port, &c.name) {
                errors.push(sources.error(
                    &c.loc,
                    format!("host port {port} is used by clusters \"{other}\" and \"{}\"", c.name),
                    "port conflict",
                    Some("give each cluster its own `rest_port` (JobManager i publishes rest_port + i), or leave it out for an ephemeral port".into()),
                ));
            }
        }
    }
}
