//! Module evaluation: the blocks of one module (the root configuration is a module too) → typed
//! resources with module-prefixed addresses, expanded by `count`/`for_each` ([`super::repeat`]),
//! plus the module's outputs. Blocks are evaluated in reference order ([`super::order`]); a
//! `module` block recurses into its source directory with its own variables ([`super::calls`]).
//!
//! Sensitivity is tracked beside values (hcl-rs values carry no marks): a name (`var.x`,
//! `local.y`, `module.m.out`) is sensitive when declared so or when its expression refers to a
//! sensitive name; an attribute (or one key of a map attribute) is sensitive by the same rule.

use super::application;
use super::cluster;
use super::diag::{ConfigError, Loc, Sources};
use super::fields::{self, Evaluated};
use super::raw::{RawAttr, RawBlock};
use super::types::*;
use super::{container, eval, job};
use hcl::Value;
use hcl::edit::expr::Expression;
use hcl::eval::Context;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// Block kinds that become resources, in the order their namespaces are listed in messages.
pub const RESOURCE_KINDS: &[&str] = &["cluster", "container", "job", "network", "volume"];
/// How deep modules may nest (a module that calls itself is caught here).
pub(super) const MAX_DEPTH: usize = 16;

/// Everything the configuration declares, across all modules, by address.
#[derive(Default)]
pub struct Collected {
    pub clusters: BTreeMap<String, Cluster>,
    pub containers: BTreeMap<String, Container>,
    pub networks: BTreeMap<String, Infra>,
    pub volumes: BTreeMap<String, Infra>,
    pub jobs: BTreeMap<String, Job>,
    pub moves: Vec<Move>,
    /// What the root module's expressions saw, once it is evaluated.
    pub root: super::console::RootScope,
    /// Docker name → address, to report two resources wanting one name.
    names: BTreeMap<String, String>,
}

impl Collected {
    /// Every declared block instance's address.
    pub fn declared(&self) -> impl Iterator<Item = &str> {
        (self.clusters.keys().chain(self.containers.keys()))
            .chain(self.networks.keys().chain(self.volumes.keys()).chain(self.jobs.keys()))
            .map(String::as_str)
    }
}

pub struct Loader<'p> {
    pub sources: Sources,
    pub errors: Vec<ConfigError>,
    pub project: String,
    pub root: PathBuf,
    /// A cluster's live REST host port by cluster address (outputs after apply).
    pub ports: Option<super::PortLookup<'p>>,
    pub out: Collected,
}

/// Where a module sits: its address prefix, its Docker-name stem, its directory.
#[derive(Clone)]
pub struct Scope {
    /// `""` or `module.staging.`
    pub prefix: String,
    /// `""` or `staging-`
    pub stem: String,
    pub dir: PathBuf,
    /// Dependencies every resource inside inherits (the module block's references and depends_on).
    pub inherited: Vec<String>,
    pub depth: usize,
    /// The module directories that called this one, outermost first (a module calling itself,
    /// directly or through others, is found by its path, before it is expanded again).
    pub callers: Vec<PathBuf>,
}

/// A module's variables with their values and which are sensitive.
pub struct Inputs {
    pub variables: BTreeMap<String, Variable>,
    pub values: BTreeMap<String, Value>,
    pub sensitive: BTreeSet<String>,
}

pub(super) type Key = (String, String);

pub(super) enum Node<'b> {
    Local(&'b RawAttr),
    Block(&'b RawBlock),
}

impl<'b> Node<'b> {
    /// Every expression the node evaluates.
    pub(super) fn exprs(&self) -> Vec<&'b Expression> {
        match self {
            Node::Local(a) => vec![&a.expr],
            Node::Block(b) => {
                let mut all = Vec::new();
                super::collect_exprs(b, &mut all);
                all
            }
        }
    }
}

/// The context one node evaluates in: of each namespace, only the names its expressions refer
/// to. Declaring every local for every node made a module's evaluation quadratic in its size.
fn node_context(node: &Node, env: &Env, vars: &BTreeMap<String, Value>, path: &Value) -> Context<'static> {
    let mut wanted: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for e in node.exprs() {
        for r in eval::references(e) {
            wanted.entry(r.namespace).or_default().insert(r.name);
        }
    }
    let pick = |ns: &str, values: &BTreeMap<String, Value>| -> Value {
        let names = wanted.get(ns);
        let picked: hcl::Map<String, Value> =
            names.into_iter().flatten().filter_map(|n| values.get(n).map(|v| (n.clone(), v.clone()))).collect();
        Value::Object(picked)
    };
    let mut ctx = eval::context(&[("var", pick("var", vars)), ("path", path.clone())]);
    for (ns, values) in &env.ns {
        ctx.declare_var(*ns, pick(ns, values));
    }
    ctx
}

/// Per-block evaluation results the rest of the module reads.
#[derive(Default)]
pub(super) struct Env {
    /// Namespace → name → value: `local`, `cluster`, `container`, …, `module`.
    pub(super) ns: BTreeMap<&'static str, BTreeMap<String, Value>>,
    /// `var.x`, `local.y`, `module.m.out` that are sensitive.
    pub(super) sensitive: BTreeSet<String>,
    /// For each local: the resource address prefixes its value derives from.
    pub(super) local_refs: BTreeMap<String, BTreeSet<String>>,
}

impl Loader<'_> {
    pub(super) fn error(&mut self, loc: &Loc, message: impl Into<String>, label: &str, help: String) {
        self.errors.push(self.sources.error(loc, message, label, Some(help)));
    }

    /// Evaluates one module; returns its outputs.
    pub fn module(&mut self, scope: &Scope, blocks: &[RawBlock], inputs: &Inputs) -> BTreeMap<String, OutputValue> {
        for b in blocks.iter().filter(|b| b.ident == "moved") {
            self.moved(scope, b);
        }
        let nodes = self.nodes(blocks);
        let mut cyclic = BTreeSet::new();
        let order = self.order(&nodes, &inputs.variables, &mut cyclic);

        let mut env = Env::default();
        env.sensitive.extend(inputs.sensitive.iter().map(|v| format!("var.{v}")));
        let path = Value::Object(
            [
                ("module".to_string(), Value::from(scope.dir.display().to_string())),
                ("root".to_string(), Value::from(self.root.display().to_string())),
            ]
            .into_iter()
            .collect(),
        );
        let mut outputs = BTreeMap::new();
        for key in order {
            let mut ctx = node_context(&nodes[&key], &env, &inputs.values, &path);
            if cyclic.contains(&key) {
                if key.0 == "local" {
                    env.ns.entry("local").or_default().insert(key.1.clone(), Value::Null);
                }
                continue;
            }
            match &nodes[&key] {
                Node::Local(attr) => {
                    let v = eval::eval_attr(&ctx, attr, &self.sources).unwrap_or_else(|e| {
                        self.errors.push(e);
                        Value::Null
                    });
                    if eval::is_sensitive(&attr.expr, &env.sensitive) {
                        env.sensitive.insert(format!("local.{}", key.1));
                    }
                    let refs = self.resource_refs(scope, std::slice::from_ref(&&attr.expr), &env);
                    env.local_refs.insert(key.1.clone(), refs);
                    env.ns.entry("local").or_default().insert(key.1.clone(), v);
                }
                Node::Block(b) if b.ident == "output" => {
                    if let Some(value) = self.output(b, &ctx, &env) {
                        outputs.insert(key.1.clone(), value);
                    }
                }
                Node::Block(b) if b.ident == "module" => {
                    let deps = self.block_deps(scope, b, &env);
                    let (value, sensitive) = self.call(scope, b, &mut ctx, &env, deps);
                    for k in &sensitive {
                        env.sensitive.insert(format!("module.{}.{k}", key.1));
                    }
                    // `module.x[0].out` / `module.x["eu"].out` name no output after the module:
                    // a repeated module with a sensitive output is sensitive as a whole.
                    if !sensitive.is_empty() && (b.attrs.contains_key("count") || b.attrs.contains_key("for_each")) {
                        env.sensitive.insert(format!("module.{}", key.1));
                    }
                    env.ns.entry("module").or_default().insert(key.1.clone(), value);
                }
                Node::Block(b) => {
                    let deps = self.block_deps(scope, b, &env);
                    let value = self.resource(scope, b, &mut ctx, &env, deps);
                    let ns = RESOURCE_KINDS.iter().find(|k| **k == b.ident).copied().unwrap_or("cluster");
                    env.ns.entry(ns).or_default().insert(key.1.clone(), value);
                }
            }
        }
        if scope.depth == 0 {
            let namespaces = env.ns.into_iter().map(|(ns, m)| (ns.to_string(), Value::Object(m.into_iter().collect())));
            self.out.root = super::console::RootScope { namespaces: namespaces.collect(), sensitive: env.sensitive };
        }
        outputs
    }

    /// The module's locals and blocks by (namespace, name); duplicates and invalid names reported.
    fn nodes<'b>(&mut self, blocks: &'b [RawBlock]) -> BTreeMap<Key, Node<'b>> {
        let mut nodes: BTreeMap<Key, Node> = BTreeMap::new();
        for b in blocks {
            match b.ident.as_str() {
                "locals" => {
                    for (name, attr) in &b.attrs {
                        let key = ("local".to_string(), name.clone());
                        if nodes.contains_key(&key) {
                            self.error(
                                &attr.key_loc,
                                format!("local `{name}` is defined twice"),
                                "second definition",
                                "rename or remove one".into(),
                            );
                            continue;
                        }
                        nodes.insert(key, Node::Local(attr));
                    }
                }
                "variable" | "flinkform" | "moved" => {}
                ident => {
                    let key = (ident.to_string(), b.label().to_string());
                    if nodes.contains_key(&key) {
                        self.errors.push(super::duplicate(&self.sources, b, ident));
                        continue;
                    }
                    if ident != "output" && !crate::names::is_valid(b.label()) {
                        self.error(
                            &b.loc,
                            format!("{} name \"{}\" is not a valid name", b.ident, b.label()),
                            "invalid name",
                            "use letters, digits, `_`, `.` and `-`, starting with a letter or digit".into(),
                        );
                    }
                    nodes.insert(key, Node::Block(b));
                }
            }
        }
        nodes
    }

    /// An `output` block's value, sensitive when declared so or computed from a sensitive value.
    fn output(&mut self, b: &RawBlock, ctx: &Context, env: &Env) -> Option<OutputValue> {
        let ctx0 = eval::context(&[]);
        let read = |name: &str| b.attrs.get(name).and_then(|a| eval::eval_attr(&ctx0, a, &self.sources).ok());
        let declared = read("sensitive").and_then(|v| v.as_bool()).unwrap_or(false);
        match b.attrs.get("value") {
            Some(a) => {
                let value = super::library::in_output(|| eval::eval_attr(ctx, a, &self.sources)).unwrap_or_else(|e| {
                    self.errors.push(e);
                    Value::Null
                });
                let sensitive = declared || eval::is_sensitive(&a.expr, &env.sensitive);
                Some(OutputValue { value, sensitive })
            }
            None => {
                self.errors.push(self.sources.error(
                    &b.loc,
                    format!("output \"{}\" has no `value`", b.label()),
                    "missing value",
                    Some("add `value = …`".into()),
                ));
                None
            }
        }
    }

    /// The address prefixes a block depends on: `depends_on`, the resources and modules its
    /// expressions refer to (directly or through locals), and what its module inherits.
    fn block_deps(&mut self, scope: &Scope, b: &RawBlock, env: &Env) -> Vec<String> {
        let mut exprs = Vec::new();
        super::collect_exprs(b, &mut exprs);
        let mut deps = self.resource_refs(scope, &exprs, env);
        deps.extend(scope.inherited.iter().cloned());
        deps.into_iter().collect()
    }

    fn resource_refs(&self, scope: &Scope, exprs: &[&Expression], env: &Env) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for e in exprs {
            for r in eval::references(e) {
                match r.namespace.as_str() {
                    "local" => out.extend(env.local_refs.get(&r.name).into_iter().flatten().cloned()),
                    "module" => {
                        out.insert(format!("{}module.{}", scope.prefix, r.name));
                    }
                    ns if RESOURCE_KINDS.contains(&ns) => {
                        out.insert(format!("{}{ns}.{}", scope.prefix, r.name));
                    }
                    _ => {}
                }
            }
        }
        out
    }

    /// A resource block: expanded by `count`/`for_each`, each instance converted and collected.
    /// Returns the value `<kind>.<name>` has in expressions (an object, a list, or a map).
    fn resource(&mut self, scope: &Scope, b: &RawBlock, ctx: &mut Context, env: &Env, deps: Vec<String>) -> Value {
        let keys = self.instance_keys(b, ctx, env);
        let meta = self.meta(scope, b, deps);
        let mut list = Vec::new();
        let mut map = hcl::Map::new();
        let Some(keys) = keys else {
            let v = self.instance(scope, b, ctx, env, &meta, &InstanceKey::None);
            return v;
        };
        for key in keys {
            key.declare(ctx);
            let v = self.instance(scope, b, ctx, env, &meta, &key);
            match key {
                InstanceKey::Each(k, _) => {
                    map.insert(k, v);
                }
                _ => list.push(v),
            }
        }
        if b.attrs.contains_key("for_each") { Value::Object(map) } else { Value::Array(list) }
    }

    /// One instance of a resource block: evaluated, converted, collected; returns its value.
    fn instance(
        &mut self,
        scope: &Scope,
        b: &RawBlock,
        ctx: &Context,
        env: &Env,
        meta: &Meta,
        key: &InstanceKey,
    ) -> Value {
        let address = format!("{}{}.{}{}", scope.prefix, b.ident, b.label(), key.address_suffix());
        let stem = format!("{}{}{}", scope.stem, b.label(), key.stem_suffix());
        let ev = fields::evaluate_block_with(ctx, b, &self.sources, &mut self.errors, &env.sensitive);
        let project = self.project.clone();
        match b.ident.as_str() {
            "cluster" => {
                let stem = self.cluster_stem(&ev).unwrap_or(stem);
                let mut c = cluster::convert(&address, &stem, &ev, meta, &self.sources, &mut self.errors);
                if let Some(app) = ev.children.get("application") {
                    let read = application::read(app, &c, &self.root, &self.sources, &mut self.errors);
                    let job = application::job(&c, &read);
                    c.application = Some(read);
                    self.out.jobs.insert(job.address.clone(), job);
                }
                self.claim(&format!("network:{}", crate::names::network(&project, &stem)), &address, &ev);
                let port = self.ports.and_then(|p| p(&address));
                let v = super::cluster_object(&project, &c, port);
                self.out.clusters.insert(address, c);
                v
            }
            "job" => {
                let j = job::convert(
                    &address,
                    &stem,
                    &ev,
                    meta,
                    &self.out.clusters,
                    &self.root,
                    &self.sources,
                    &mut self.errors,
                );
                let v = Value::Object(
                    [
                        ("name".to_string(), Value::from(stem.clone())),
                        ("cluster".to_string(), Value::from(j.as_ref().map(|j| j.cluster.clone()).unwrap_or_default())),
                    ]
                    .into_iter()
                    .collect(),
                );
                if let Some(j) = j {
                    self.out.jobs.insert(address, j);
                }
                v
            }
            "container" => {
                let c = container::convert(
                    &address,
                    &format!("{project}-{stem}"),
                    &ev,
                    meta,
                    &self.sources,
                    &mut self.errors,
                );
                self.claim(&format!("container:{}", c.name), &address, &ev);
                let v = container::object(&c);
                self.out.containers.insert(address, c);
                v
            }
            kind => {
                let i = container::convert_infra(
                    kind,
                    &address,
                    &format!("{project}-{stem}"),
                    &ev,
                    meta,
                    &self.sources,
                    &mut self.errors,
                );
                self.claim(&format!("{kind}:{}", i.name), &address, &ev);
                let v = Value::Object([("name".to_string(), Value::from(i.name.clone()))].into_iter().collect());
                if kind == "network" {
                    self.out.networks.insert(address, i);
                } else {
                    self.out.volumes.insert(address, i);
                }
                v
            }
        }
    }

    /// A cluster's `name`: the stem of its Docker names (`<project>-<name>-jobmanager-0`) in
    /// place of the one its address gives, so a cluster moved to another address (a `moved`
    /// block) keeps its containers and its volumes, which Docker cannot rename.
    fn cluster_stem(&mut self, ev: &Evaluated) -> Option<String> {
        let (value, loc) = ev.values.get("name")?;
        match value.as_str() {
            Some(n) if crate::names::is_valid(n) => Some(n.to_string()),
            _ => {
                self.error(
                    loc,
                    format!("a cluster's `name` must be a valid Docker name, got {}", eval::describe(value)),
                    "invalid name",
                    "use letters, digits, `_`, `.` and `-`, starting with a letter or digit".into(),
                );
                None
            }
        }
    }

    /// Two resources cannot want one Docker name.
    fn claim(&mut self, name: &str, address: &str, ev: &Evaluated) {
        if let Some(other) = self.out.names.insert(name.to_string(), address.to_string())
            && other != address
        {
            self.error(
                &ev.loc,
                format!(
                    "{address} and {other} both want the Docker name \"{}\"",
                    name.rsplit(':').next().unwrap_or(name)
                ),
                "name taken",
                "rename one of the blocks (or set a different `name`)".into(),
            );
        }
    }
}
