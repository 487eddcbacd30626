//! `apply -json` / `destroy -json`: the run as Terraform's machine-readable UI (JSON lines,
//! see `crate::ui`): the version, each planned change, the plan's summary, policy results,
//! progress (printed by the executor), errors as diagnostics, the apply's summary, the outputs.

use crate::apply::ApplyReport;
use crate::plan::{Action, Plan};
use crate::ui;
use serde_json::json;

fn action(a: Action) -> &'static str {
    match a {
        Action::NoOp => "noop",
        Action::Create => "create",
        Action::Start | Action::Update => "update",
        Action::Replace => "replace",
        Action::Delete => "delete",
    }
}

/// Everything before the executor runs.
pub fn planned(plan: &Plan, settled: &[String], policy: Option<&crate::policy::Report>) {
    ui::version();
    for note in settled {
        ui::line("info", &format!("resolved first: {note}"), "log", json!({}));
    }
    for m in &plan.moved {
        let hook = json!({ "resource": { "addr": m.to }, "previous_resource": { "addr": m.from }, "action": "move" });
        ui::line("info", &format!("{}: Plan to move", m.from), "planned_change", json!({ "change": hook }));
    }
    for c in plan.changes.iter().filter(|c| c.action != Action::NoOp) {
        let change = json!({ "resource": { "addr": c.address }, "action": action(c.action), "reasons": c.reasons });
        let message = format!("{}: Plan to {}", c.address, action(c.action));
        ui::line("info", &message, "planned_change", json!({ "change": change }));
    }
    let (add, change, remove) = plan.counts();
    let summary = json!({ "changes": { "add": add, "change": change, "remove": remove, "operation": "plan" } });
    ui::line(
        "info",
        &format!("Plan: {add} to add, {change} to change, {remove} to destroy."),
        "change_summary",
        summary,
    );
    for f in policy.map(|p| p.findings.as_slice()).unwrap_or_default() {
        let level = if f.severity == crate::policy::Severity::Failure { "error" } else { "warn" };
        let diagnostic = json!({ "severity": if level == "error" { "error" } else { "warning" }, "summary": f.msg, "detail": f.rule });
        ui::line(level, &f.msg, "diagnostic", json!({ "diagnostic": diagnostic }));
    }
}

/// Everything after: failures as diagnostics, the summary, the outputs.
pub fn applied(
    report: &ApplyReport,
    destroy: bool,
    outputs: &std::collections::BTreeMap<String, crate::state::StateOutput>,
) {
    for (address, error) in &report.failed {
        let diagnostic = json!({ "severity": "error", "summary": format!("{address}: {error}"), "address": address });
        ui::line("error", &format!("{address}: {error}"), "diagnostic", json!({ "diagnostic": diagnostic }));
    }
    let operation = if destroy { "destroy" } else { "apply" };
    let summary = json!({ "changes": {
        "add": report.added, "change": report.changed, "remove": report.destroyed, "operation": operation,
    }});
    let message = format!(
        "{} complete! Resources: {} added, {} changed, {} destroyed.",
        if destroy { "Destroy" } else { "Apply" },
        report.added,
        report.changed,
        report.destroyed
    );
    ui::line("info", &message, "change_summary", summary);
    if !destroy {
        let shown = crate::plan::json::outputs(outputs);
        ui::line("info", &format!("Outputs: {}", outputs.len()), "outputs", json!({ "outputs": shown }));
    }
}
