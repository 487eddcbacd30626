//! Machine-readable plans (`plan --json`, `show --json FILE`) in Terraform's plan JSON shape, so
//! the tools teams already run on Terraform plans (policy engines, review and cost bots) read
//! them: `resource_changes[]` with `address`, `module_address`, `mode`, `type`, `name`, `index`
//! and `change: {actions, before, after, after_unknown, before_sensitive, after_sensitive}`,
//! `output_changes`. Values are structured (`env`, `label`, `port`, `mount` objects; `command` a
//! list); a sensitive value is `null` and marked in `*_sensitive`. flinkform adds `reasons` and
//! `docker_name` per change, and a `summary`. Deterministic: sorted by address, no timestamps.

use super::{Action, Change, Plan};
use crate::address::{Address, Key};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

pub const FORMAT_VERSION: &str = "1.2";

/// Attribute families kept as dotted keys (`env.TOKEN`) and nested in the JSON.
const FAMILIES: &[&str] = &["env", "label", "port", "mount"];

/// Terraform's action lists: a replace is `["delete", "create"]`; a start or a job upgrade is an update.
pub fn actions(a: Action) -> Vec<&'static str> {
    match a {
        Action::NoOp => vec!["no-op"],
        Action::Create => vec!["create"],
        Action::Start | Action::Update => vec!["update"],
        Action::Replace => vec!["delete", "create"],
        Action::Delete => vec!["delete"],
    }
}

pub fn render(plan: &Plan) -> Value {
    let (add, change, destroy) = plan.counts();
    let resource_changes = crate::cores::map(&plan.changes, |c| resource_change(c, plan.previous_address(&c.address)));
    let output_changes: Map<String, Value> = plan
        .outputs
        .iter()
        .map(|o| {
            let hide = |v: &Option<Value>| if o.sensitive { v.as_ref().map(|_| Value::Null) } else { v.clone() };
            let after = if o.after_unknown { Value::Null } else { hide(&Some(o.after.clone())).unwrap_or(Value::Null) };
            let change = json!({
                "actions": actions(o.action()),
                "before": hide(&o.before),
                "after": after,
                "after_unknown": o.after_unknown,
                "before_sensitive": o.sensitive,
                "after_sensitive": o.sensitive,
            });
            (o.name.clone(), change)
        })
        .collect();
    let resource_drift: Vec<Value> = plan.changes.iter().filter_map(drift).collect();
    object([
        ("format_version", FORMAT_VERSION.into()),
        ("flinkform_version", env!("CARGO_PKG_VERSION").into()),
        ("resource_drift", resource_drift.into()),
        ("resource_changes", resource_changes.into()),
        ("output_changes", output_changes.into()),
        ("summary", json!({ "add": add, "change": change, "destroy": destroy })),
    ])
}

/// The attributes whose change forces a replacement (a container's every attribute does: Docker
/// changes none in place), as Terraform's paths: `["slots"]`, `["env", "TOKEN"]`.
fn replace_paths(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>) -> Value {
    let paths = super::attributes::changed_keys(before, after).into_iter().map(|k| {
        match k.split_once('.').filter(|(family, _)| FAMILIES.contains(family)) {
            Some((family, name)) => json!([family, name]),
            None => json!([k]),
        }
    });
    Value::Array(paths.collect())
}

/// An object of `fields`, moved in (`json!` would copy each value through serde: a thousand
/// resources' values twice).
fn object<const N: usize>(fields: [(&str, Value); N]) -> Value {
    Value::Object(fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

/// One change as Terraform writes a resource change.
fn resource_change(c: &Change, previous_address: Option<&str>) -> Value {
    let parsed = Address::parse(&c.address).ok();
    let (before, before_sensitive) = values(c.before.as_ref());
    let (after, after_sensitive) = values(c.after.as_ref());
    let mut out = identity(c, parsed.as_ref());
    if let Some(previous) = previous_address {
        out.insert("previous_address".into(), previous.into());
    }
    let mut change = object([
        ("actions", actions(c.action).into()),
        ("before", before),
        ("after", after),
        ("after_unknown", Value::Object(Map::new())),
        ("before_sensitive", before_sensitive),
        ("after_sensitive", after_sensitive),
    ]);
    if c.action == Action::Replace
        && let (Some(b), Some(a), Some(fields)) = (&c.before, &c.after, change.as_object_mut())
    {
        fields.insert("replace_paths".into(), replace_paths(b, a));
    }
    out.insert("change".into(), change);
    if c.action == Action::Replace {
        out.insert("action_reason".into(), "replace_because_cannot_update".into());
    }
    out.insert("reasons".into(), c.reasons.clone().into());
    Value::Object(out)
}

/// What names a resource in Terraform's JSON: address, module, mode, type, name, index (and
/// flinkform's Docker name).
fn identity(c: &Change, parsed: Option<&Address>) -> Map<String, Value> {
    resource_identity(&c.address, c.kind, &c.name, parsed)
}

fn resource_identity(
    address: &str,
    kind: crate::model::Kind,
    docker_name: &str,
    parsed: Option<&Address>,
) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("address".into(), address.into());
    if let Some(module) = parsed.and_then(module_address) {
        out.insert("module_address".into(), module.into());
    }
    out.insert("mode".into(), "managed".into());
    out.insert("type".into(), parsed.map_or_else(|| format!("flinkform_{}", kind.as_str()), type_of).into());
    if let Some(a) = parsed {
        let step = a.resource();
        out.insert("name".into(), step.map(|s| s.name.clone()).unwrap_or_default().into());
        let key = a.part.as_ref().map_or_else(|| step.and_then(|s| s.key.clone()), |p| p.key.clone());
        match key {
            Some(Key::Index(i)) => out.insert("index".into(), i.into()),
            Some(Key::Name(k)) => out.insert("index".into(), k.into()),
            None => None,
        };
    }
    out.insert("docker_name".into(), docker_name.into());
    out
}

/// Recorded outputs as Terraform writes them (`output -json`, `show -json`, `apply -json`):
/// `{name: {value, sensitive}}`, a sensitive value `null`.
pub fn outputs(outputs: &BTreeMap<String, crate::state::StateOutput>) -> Value {
    let shown = outputs.iter().map(|(k, o)| {
        let value = if o.sensitive { Value::Null } else { o.value.clone() };
        (k.clone(), json!({ "value": value, "sensitive": o.sensitive }))
    });
    Value::Object(shown.collect())
}

/// `show --json`: the state in Terraform's shape (`values.outputs`, `values.root_module.resources[]`
/// and `child_modules[]`, each resource's `values` and `sensitive_values`); never the salt, the
/// key's id or anything in flight.
pub fn state(state: &crate::state::State) -> Value {
    let outputs = outputs(&state.outputs);
    let mut modules: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for r in &state.resources {
        let parsed = Address::parse(&r.address).ok();
        let mut out = resource_identity(&r.address, r.kind, &r.name, parsed.as_ref());
        let (mut values, sensitive) = values(Some(&r.attributes));
        if let Some(v) = values.as_object_mut() {
            v.insert("id".into(), r.id.clone().into());
        }
        out.insert("values".into(), values);
        out.insert("sensitive_values".into(), sensitive);
        let module = parsed.as_ref().and_then(module_address).unwrap_or_default();
        modules.entry(module).or_default().push(Value::Object(out));
    }
    let resources = modules.remove("").unwrap_or_default();
    let child_modules: Vec<Value> = modules
        .into_iter()
        .map(|(address, resources)| object([("address", address.into()), ("resources", resources.into())]))
        .collect();
    let mut root = Map::new();
    root.insert("resources".into(), resources.into());
    if !child_modules.is_empty() {
        root.insert("child_modules".into(), child_modules.into());
    }
    object([
        ("format_version", "1.0".into()),
        ("flinkform_version", env!("CARGO_PKG_VERSION").into()),
        ("values", object([("outputs", outputs), ("root_module", root.into())])),
    ])
}

/// Terraform's `resource_drift` entry: what changed outside flinkform since the state was
/// written, as a change from the recorded values to what is live (unknown beyond its kind).
fn drift(c: &Change) -> Option<Value> {
    let kind = c.drift?;
    let mut out = identity(c, Address::parse(&c.address).ok().as_ref());
    let (before, before_sensitive) = values(c.before.as_ref());
    let (actions, after) = match kind {
        super::Drift::Removed => (vec!["delete"], Value::Null),
        _ => (vec!["update"], Value::Null),
    };
    out.insert(
        "change".into(),
        object([
            ("actions", actions.into()),
            ("before", before),
            ("after", after),
            ("after_unknown", (kind != super::Drift::Removed).into()),
            ("before_sensitive", before_sensitive),
            ("after_sensitive", false.into()),
        ]),
    );
    out.insert("drift".into(), serde_json::to_value(kind).unwrap_or_default());
    Some(Value::Object(out))
}

/// `module.m["eu"]` of an address inside a module.
fn module_address(a: &Address) -> Option<String> {
    let modules: Vec<String> = a
        .steps
        .iter()
        .take_while(|s| s.kind == "module")
        .map(|s| format!("module.{}{}", s.name, s.key.as_ref().map(ToString::to_string).unwrap_or_default()))
        .collect();
    (!modules.is_empty()).then(|| modules.join("."))
}

/// `flinkform_container`, `flinkform_job`…; a cluster's parts: `flinkform_cluster_taskmanager`.
fn type_of(a: &Address) -> String {
    let kind = a.resource().map(|s| s.kind.as_str()).unwrap_or("resource");
    match a.role() {
        Some(role) => format!("flinkform_{kind}_{role}"),
        None => format!("flinkform_{kind}"),
    }
}

/// Attributes as structured values (dotted families nested, lists parsed) and, mirroring them,
/// which are sensitive (their value is then `null`). None (nothing recorded / deleted): `null`
/// and `false`, as Terraform writes them.
fn values(attributes: Option<&BTreeMap<String, String>>) -> (Value, Value) {
    let Some(attributes) = attributes else { return (Value::Null, Value::Bool(false)) };
    let (mut values, mut sensitive) = (Map::new(), Map::new());
    for (key, raw) in attributes {
        let hidden = crate::model::sensitive::is_masked(raw);
        let value = if hidden { Value::Null } else { typed(key, raw) };
        match key.split_once('.').filter(|(family, _)| FAMILIES.contains(family)) {
            Some((family, name)) => {
                insert(&mut values, family, name, value);
                if hidden {
                    insert(&mut sensitive, family, name, Value::Bool(true));
                }
            }
            None => {
                values.insert(key.clone(), value);
                if hidden {
                    sensitive.insert(key.clone(), Value::Bool(true));
                }
            }
        }
    }
    (Value::Object(values), Value::Object(sensitive))
}

fn insert(map: &mut Map<String, Value>, family: &str, name: &str, value: Value) {
    let entry = map.entry(family.to_string()).or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(m) = entry {
        m.insert(name.to_string(), value);
    }
}

/// An attribute's value as JSON: lists (`command`, `entrypoint`) as lists, the rest as text.
fn typed(key: &str, raw: &str) -> Value {
    if matches!(key, "command" | "entrypoint" | "args")
        && let Ok(list @ Value::Array(_)) = serde_json::from_str::<Value>(raw)
    {
        return list;
    }
    Value::String(raw.to_string())
}
