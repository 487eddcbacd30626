//! Machine-readable plans (`plan --json`), shaped like Terraform's: `format_version`,
//! `resource_changes[]` with `address`, `actions`, `before`, `after`, `reasons`, plus
//! `output_changes`. Deterministic: sorted by address, no timestamps.

use super::{Action, Plan};
use serde_json::{Value, json};

pub const FORMAT_VERSION: &str = "1.0";

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
    let resource_changes: Vec<Value> = plan
        .changes
        .iter()
        .map(|c| {
            json!({
                "address": c.address,
                "type": c.kind.as_str(),
                "name": c.name,
                "actions": actions(c.action),
                "before": c.before.as_ref().map(crate::model::sensitive::display_map),
                "after": c.after.as_ref().map(crate::model::sensitive::display_map),
                "reasons": c.reasons,
            })
        })
        .collect();
    let output_changes: serde_json::Map<String, Value> = plan
        .outputs
        .iter()
        .map(|o| {
            let hide = |v: &Option<Value>| if o.sensitive { v.as_ref().map(|_| json!("(sensitive value)")) } else { v.clone() };
            (
                o.name.clone(),
                json!({
                    "actions": actions(o.action()),
                    "before": hide(&o.before),
                    "after": if o.after_unknown { Value::Null } else { hide(&Some(o.after.clone())).unwrap_or(Value::Null) },
                    "after_unknown": o.after_unknown,
                    "sensitive": o.sensitive,
                }),
            )
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
