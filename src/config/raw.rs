//! Files → raw blocks: parses every `*.hcl` file with hcl-edit (which keeps byte spans) and checks
//! each block and attribute against the schema, suggesting the closest valid name on a typo.
//! Nothing is evaluated here.

use super::diag::{ConfigError, Loc, Sources, suggest};
use hcl::edit::Span;
use hcl::edit::structure::{BlockLabel, Body, Structure};
use std::collections::BTreeMap;

/// An attribute as written: its expression and where it is.
#[derive(Debug, Clone)]
pub struct RawAttr {
    pub name: String,
    pub expr: hcl::edit::expr::Expression,
    pub key_loc: Loc,
    pub value_loc: Loc,
}

/// A block as written, with its nested blocks.
#[derive(Debug, Clone)]
pub struct RawBlock {
    pub ident: String,
    pub labels: Vec<String>,
    pub attrs: BTreeMap<String, RawAttr>,
    pub blocks: Vec<RawBlock>,
    pub loc: Loc,
}

impl RawBlock {
    pub fn label(&self) -> &str {
        self.labels.first().map(String::as_str).unwrap_or("")
    }
    pub fn block(&self, ident: &str) -> Option<&RawBlock> {
        self.blocks.iter().find(|b| b.ident == ident)
    }
}

/// What a block may contain. `attrs: None` means any attribute name (as in `locals`).
pub struct Schema {
    pub ident: &'static str,
    pub labels: usize,
    pub attrs: Option<&'static [&'static str]>,
    /// Attributes several block kinds share (what users add to Flink containers), beside `attrs`.
    pub shared: &'static [&'static str],
    pub blocks: &'static [Schema],
    pub repeatable: bool,
}

impl Schema {
    /// Every attribute name the block accepts, when it is a fixed set.
    fn attribute_names(&self) -> Option<Vec<&'static str>> {
        self.attrs.map(|a| a.iter().chain(self.shared).copied().collect())
    }
}

const fn block(
    ident: &'static str,
    labels: usize,
    attrs: &'static [&'static str],
    blocks: &'static [Schema],
) -> Schema {
    Schema { ident, labels, attrs: Some(attrs), shared: &[], blocks, repeatable: true }
}

const fn single(ident: &'static str, attrs: &'static [&'static str]) -> Schema {
    Schema { ident, labels: 0, attrs: Some(attrs), shared: &[], blocks: &[], repeatable: false }
}

/// What a cluster and its Flink role blocks accept for their containers (read by `extras.rs`).
const FLINK_CONTAINER_ATTRIBUTES: &[&str] =
    &["env", "volumes", "ports", "labels", "user", "plugins", "allow_host_access"];

/// A Flink role block: its own attributes and what users add to its containers.
const fn flink_role(ident: &'static str, attrs: &'static [&'static str]) -> Schema {
    Schema { shared: FLINK_CONTAINER_ATTRIBUTES, blocks: &[PLACEMENT], ..single(ident, attrs) }
}

/// Where a role's tasks run on a swarm.
const PLACEMENT: Schema = single("placement", &["constraints", "spread"]);

/// How a swarm rolls the TaskManagers' service onto a new configuration.
const ROLLING_UPDATE: Schema =
    single("rolling_update", &["parallelism", "order", "delay", "monitor", "failure_action"]);

const LIFECYCLE: Schema = single("lifecycle", &["prevent_destroy", "ignore_changes"]);

/// The top-level language: the block kinds a configuration file may hold.
pub static TOP_LEVEL: &[Schema] = &[
    Schema {
        ident: "flinkform",
        labels: 0,
        attrs: Some(&["project", "state_path", "docker_host", "engine", "policy_dir"]),
        shared: &[],
        blocks: &[Schema {
            ident: "backend",
            labels: 1,
            attrs: Some(&["conn_str", "schema"]),
            shared: &[],
            blocks: &[],
            repeatable: false,
        }],
        repeatable: false,
    },
    block(
        "variable",
        1,
        &["type", "default", "description", "sensitive", "nullable"],
        &[block("validation", 0, &["condition", "error_message"], &[])],
    ),
    Schema { ident: "locals", labels: 0, attrs: None, shared: &[], blocks: &[], repeatable: true },
    block("moved", 0, &["from", "to"], &[]),
    Schema {
        shared: FLINK_CONTAINER_ATTRIBUTES,
        ..block(
            "cluster",
            1,
            &["name", "image", "pull", "flink_version", "flink_config", "count", "for_each", "depends_on"],
            &[
                Schema { blocks: &[PLACEMENT], ..single("zookeeper", &["replicas", "image", "pull", "memory"]) },
                flink_role("jobmanager", &["replicas", "memory", "rest_port", "rest_bind"]),
                Schema {
                    blocks: &[PLACEMENT, ROLLING_UPDATE],
                    ..flink_role("taskmanager", &["replicas", "slots", "memory"])
                },
                single("high_availability", &["storage_dir", "cluster_id", "session_timeout"]),
                single("security", &["hardened", "pids_limit", "tls"]),
                single(
                    "application",
                    &[
                        "jar",
                        "entry_class",
                        "args",
                        "parallelism",
                        "upgrade_mode",
                        "state",
                        "allow_non_restored_state",
                        "savepoint_dir",
                    ],
                ),
                LIFECYCLE,
            ],
        )
    },
    block(
        "container",
        1,
        &[
            "name",
            "image",
            "pull",
            "command",
            "entrypoint",
            "env",
            "ports",
            "volumes",
            "network",
            "networks",
            "restart",
            "memory",
            "user",
            "hostname",
            "labels",
            "allow_host_access",
            "count",
            "for_each",
            "depends_on",
        ],
        &[single("healthcheck", &["test", "interval", "timeout", "retries", "start_period"]), LIFECYCLE],
    ),
    block("network", 1, &["name", "driver", "count", "for_each", "depends_on"], &[LIFECYCLE]),
    block("volume", 1, &["name", "driver", "count", "for_each", "depends_on"], &[LIFECYCLE]),
    Schema { ident: "module", labels: 1, attrs: None, shared: &[], blocks: &[], repeatable: true },
    block("output", 1, &["value", "description", "sensitive", "depends_on"], &[]),
    block(
        "job",
        1,
        &[
            "cluster",
            "jar",
            "entry_class",
            "args",
            "parallelism",
            "flink_config",
            "upgrade_mode",
            "state",
            "allow_non_restored_state",
            "savepoint_dir",
            "count",
            "for_each",
            "depends_on",
        ],
        &[LIFECYCLE],
    ),
];

/// Parses one file; a syntax error is returned as a diagnostic at its position.
pub fn parse_file(sources: &Sources, file: usize) -> Result<Body, ConfigError> {
    let text = &sources.files[file].text;
    hcl::edit::parser::parse_body(text).map_err(|e| {
        let offset = e.location().offset();
        let loc = Loc::new(file, Some(offset..(offset + 1).min(text.len())));
        let mut help = None;
        if e.message().contains("expected") && offset >= text.trim_end().len() {
            help = Some("a block is not closed: check that every `{` has its `}`".to_string());
        }
        sources.error(
            &loc,
            format!("syntax error: {}", e.message()),
            "here",
            help.or(Some("fix the HCL syntax at this position".into())),
        )
    })
}

/// Converts a parsed body into raw blocks, checking them against `schema`.
pub fn collect(
    sources: &Sources,
    file: usize,
    body: &Body,
    schema: &[Schema],
    errors: &mut Vec<ConfigError>,
) -> Vec<RawBlock> {
    let mut out = Vec::new();
    for structure in body.iter() {
        match structure {
            Structure::Attribute(attr) => {
                let loc = Loc::new(file, attr.key.span());
                errors.push(sources.error(
                    &loc,
                    format!("unexpected attribute `{}` at the top level", attr.key.as_str()),
                    "not inside a block",
                    Some("put it inside a block, e.g. `locals { … }`".into()),
                ));
            }
            Structure::Block(b) => {
                let ident = b.ident.as_str();
                let loc = Loc::new(file, b.ident.span());
                match schema.iter().find(|s| s.ident == ident) {
                    None => {
                        let names = schema.iter().map(|s| s.ident);
                        let help = match suggest(ident, names) {
                            Some(s) => format!("did you mean `{s}`?"),
                            None => format!(
                                "valid blocks here: {}",
                                schema.iter().map(|s| s.ident).collect::<Vec<_>>().join(", ")
                            ),
                        };
                        errors.push(sources.error(
                            &loc,
                            format!("unknown block `{ident}`"),
                            "unknown block",
                            Some(help),
                        ));
                    }
                    Some(s) => {
                        if let Some(raw) = collect_block(sources, file, b, s, errors) {
                            out.push(raw);
                        }
                    }
                }
            }
        }
    }
    out
}

fn collect_block(
    sources: &Sources,
    file: usize,
    b: &hcl::edit::structure::Block,
    schema: &Schema,
    errors: &mut Vec<ConfigError>,
) -> Option<RawBlock> {
    let loc = Loc::new(file, b.ident.span());
    let labels: Vec<String> = b
        .labels
        .iter()
        .map(|l| match l {
            BlockLabel::Ident(i) => i.as_str().to_string(),
            BlockLabel::String(s) => s.as_str().to_string(),
        })
        .collect();
    if labels.len() != schema.labels {
        let want = if schema.labels == 0 {
            format!("`{} {{ … }}` takes no label", schema.ident)
        } else {
            format!("write `{} \"name\" {{ … }}`", schema.ident)
        };
        errors.push(sources.error(
            &loc,
            format!("block `{}` needs {} label(s), found {}", schema.ident, schema.labels, labels.len()),
            "wrong number of labels",
            Some(want),
        ));
        return None;
    }
    let mut raw = RawBlock { ident: schema.ident.to_string(), labels, attrs: BTreeMap::new(), blocks: Vec::new(), loc };
    for structure in b.body.iter() {
        match structure {
            Structure::Attribute(attr) => add_attribute(&mut raw, sources, file, attr, schema, errors),
            Structure::Block(inner) => add_block(&mut raw, sources, file, inner, schema, errors),
        }
    }
    Some(raw)
}

/// One attribute of a block: known to its schema, set once.
fn add_attribute(
    raw: &mut RawBlock,
    sources: &Sources,
    file: usize,
    attr: &hcl::edit::structure::Attribute,
    schema: &Schema,
    errors: &mut Vec<ConfigError>,
) {
    let name = attr.key.as_str().to_string();
    let key_loc = Loc::new(file, attr.key.span());
    if let Some(allowed) = schema.attribute_names()
        && !allowed.contains(&name.as_str())
    {
        let mut help = match suggest(&name, allowed.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("valid attributes: {}", allowed.join(", ")),
        };
        if let Some(s) = schema.blocks.iter().find(|s| s.ident == name) {
            help = format!("`{}` is a block: write `{} {{ … }}`", s.ident, s.ident);
        }
        errors.push(sources.error(
            &key_loc,
            format!("unknown attribute `{name}` in `{}`", describe(raw)),
            "unknown attribute",
            Some(help),
        ));
        return;
    }
    if raw.attrs.contains_key(&name) {
        errors.push(sources.error(
            &key_loc,
            format!("attribute `{name}` is set twice"),
            "second definition",
            Some("remove one of the two definitions".into()),
        ));
        return;
    }
    raw.attrs.insert(
        name.clone(),
        RawAttr { name, expr: attr.value.clone(), key_loc, value_loc: Loc::new(file, attr.value.span()) },
    );
}

/// One nested block: known to its schema, repeated only where it may be.
fn add_block(
    raw: &mut RawBlock,
    sources: &Sources,
    file: usize,
    inner: &hcl::edit::structure::Block,
    schema: &Schema,
    errors: &mut Vec<ConfigError>,
) {
    let ident = inner.ident.as_str();
    let inner_loc = Loc::new(file, inner.ident.span());
    match schema.blocks.iter().find(|s| s.ident == ident) {
        None => {
            let help = if schema.attribute_names().is_some_and(|a| a.contains(&ident)) {
                format!("`{ident}` is an attribute: write `{ident} = …`")
            } else {
                match suggest(ident, schema.blocks.iter().map(|s| s.ident)) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None if schema.blocks.is_empty() => {
                        format!("`{}` has no nested blocks", schema.ident)
                    }
                    None => format!(
                        "valid blocks: {}",
                        schema.blocks.iter().map(|s| s.ident).collect::<Vec<_>>().join(", ")
                    ),
                }
            };
            errors.push(sources.error(
                &inner_loc,
                format!("unknown block `{ident}` in `{}`", describe(raw)),
                "unknown block",
                Some(help),
            ));
        }
        Some(s) => {
            if !s.repeatable && raw.blocks.iter().any(|x| x.ident == ident) {
                errors.push(sources.error(
                    &inner_loc,
                    format!("block `{ident}` appears twice"),
                    "second definition",
                    Some("merge the two blocks into one".into()),
                ));
                return;
            }
            if let Some(child) = collect_block(sources, file, inner, s, errors) {
                raw.blocks.push(child);
            }
        }
    }
}

fn describe(b: &RawBlock) -> String {
    match b.labels.first() {
        Some(l) => format!("{} \"{l}\"", b.ident),
        None => b.ident.clone(),
    }
}
