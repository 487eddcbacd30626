//! Evaluated blocks and typed reads of their attributes: every block kind (clusters, containers,
//! jobs, the `flinkform` block) is evaluated attribute by attribute, so an error points at its
//! attribute, and read through [`Fields`], which turns each mistake into an error naming the fix.

use super::diag::{ConfigError, Loc, Sources};
use super::eval;
use super::raw::RawBlock;
use super::types::*;
use hcl::Value;
use hcl::eval::Context;
use std::collections::{BTreeMap, BTreeSet};

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
        // A nested block takes what its parent allows (a role's `env` as the cluster's).
        for c in self.children.values() {
            c.reject_sensitive(allowed, sources, errors);
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

    /// `pull`: when the block's image is pulled.
    pub fn pull(&mut self) -> PullPolicy {
        match self.choice("pull", &["missing", "always", "never"]).as_deref() {
            Some("always") => PullPolicy::Always,
            Some("never") => PullPolicy::Never,
            _ => PullPolicy::Missing,
        }
    }

    /// A role's `placement` block (swarm's constraints and spread preference).
    pub fn placement(ev: Option<&Evaluated>, sources: &Sources, errors: &mut Vec<ConfigError>) -> Placement {
        let Some(ev) = ev.and_then(|e| e.children.get("placement")) else { return Placement::default() };
        let mut f = Fields::new(Some(ev), sources, errors);
        Placement { constraints: f.string_list("constraints").unwrap_or_default(), spread: f.string("spread") }
    }

    /// `rolling_update` of a TaskManager block: the swarm's update settings, defaults for what
    /// is not written; None when there is no such block.
    pub fn rolling_update(
        ev: Option<&Evaluated>,
        sources: &Sources,
        errors: &mut Vec<ConfigError>,
    ) -> Option<RollingUpdate> {
        let ev = ev.and_then(|e| e.children.get("rolling_update"))?;
        let mut f = Fields::new(Some(ev), sources, errors);
        let default = RollingUpdate::default();
        Some(RollingUpdate {
            parallelism: f.whole("parallelism", 0, 1000).unwrap_or(default.parallelism),
            order: match f.choice("order", &["stop-first", "start-first"]).as_deref() {
                Some("start-first") => UpdateOrder::StartFirst,
                Some(_) => UpdateOrder::StopFirst,
                None => default.order,
            },
            delay_s: f.duration("delay").unwrap_or(default.delay_s),
            monitor_s: f.duration("monitor").unwrap_or(default.monitor_s),
            failure_action: match f.choice("failure_action", &["rollback", "pause"]).as_deref() {
                Some("pause") => FailureAction::Pause,
                Some(_) => FailureAction::Rollback,
                None => default.failure_action,
            },
        })
    }

    /// `"5s"`, `"2m"`, `"500ms"` (rounded up to a second), in seconds.
    pub fn duration(&mut self, name: &str) -> Option<u64> {
        let s = self.string(name)?;
        let parsed = super::parse_duration(&s).ok().map(|d| d.as_millis().div_ceil(1000) as u64);
        if parsed.is_none() {
            let loc = self.loc(name);
            self.fail(
                &loc,
                format!("`{name}` = \"{s}\" is not a duration"),
                "write e.g. \"5s\", \"2m\" or \"500ms\"".into(),
            );
        }
        parsed
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
