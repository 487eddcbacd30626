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
    let resource_changes: Vec<Value> =
        plan.changes.iter().map(|c| resource_change(c, plan.previous_address(&c.address))).collect();
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
    json!({
        "format_version": FORMAT_VERSION,
        "flinkform_version": env!("CARGO_PKG_VERSION"),
        "resource_changes": resource_changes,
        "output_changes": output_changes,
        "summary": { "add": add, "change": change, "destroy": destroy },
    })
}

/// One change as Terraform writes a resource change.
fn resource_change(c: &Change, previous_address: Option<&str>) -> Value {
    let parsed = Address::parse(&c.address).ok();
    let (before, before_sensitive) = values(c.before.as_ref());
    let (after, after_sensitive) = values(c.after.as_ref());
    let mut out = Map::new();
    out.insert("address".into(), c.address.clone().into());
    if let Some(previous) = previous_address {
        out.insert("previous_address".into(), previous.into());
    }
    if let Some(module) = parsed.as_ref().and_then(module_address) {
        out.insert("module_address".into(), module.into());
    }
    out.insert("mode".into(), "managed".into());
    out.insert("type".into(), parsed.as_ref().map_or_else(|| format!("flinkform_{}", c.kind.as_str()), type_of).into());
    if let Some(a) = &parsed {
        let step = a.resource();
        out.insert("name".into(), step.map(|s| s.name.clone()).unwrap_or_default().into());
        let key = a.part.as_ref().map_or_else(|| step.and_then(|s| s.key.clone()), |p| p.key.clone());
        match key {
            Some(Key::Index(i)) => out.insert("index".into(), i.into()),
            Some(Key::Name(k)) => out.insert("index".into(), k.into()),
            None => None,
        };
    }
    out.insert("docker_name".into(), c.name.clone().into());
    let change = json!({
        "actions": actions(c.action),
        "before": before,
        "after": after,
        "after_unknown": {},
        "before_sensitive": before_sensitive,
        "after_sensitive": after_sensitive,
    });
    out.insert("change".into(), change);
    if c.action == Action::Replace {
        out.insert("action_reason".into(), "replace_because_cannot_update".into());
    }
    out.insert("reasons".into(), c.reasons.clone().into());
    Value::Object(out)
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
        let hidden = crate::model::sensitive::display(raw) != *raw;
        let value = if hidden { Value::Null } else { typed(key, raw) };
        match key.split_once('.').filter(|(family, _)| ["env", "label", "port", "mount"].contains(family)) {
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
