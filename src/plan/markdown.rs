//! Plans as a pull-request comment (`plan --markdown`): a summary table and one collapsible
//! `<details>` section per changed resource with its diff. Deterministic.

use super::{Action, Plan};
use std::fmt::Write;

fn word(a: Action) -> &'static str {
    match a {
        Action::NoOp => "no-op",
        Action::Create => "create",
        Action::Start => "start",
        Action::Update => "update in-place",
        Action::Replace => "replace",
        Action::Delete => "destroy",
    }
}

pub fn render(plan: &Plan) -> String {
    let mut out = String::new();
    let (add, change, destroy) = plan.counts();
    if !plan.has_changes() && !plan.outputs.iter().any(|o| o.action() != Action::NoOp) {
        out.push_str("### flinkform plan: no changes\n\nThe Flink clusters match the configuration.\n");
        return out;
    }
    let _ = writeln!(out, "### flinkform plan: {add} to add, {change} to change, {destroy} to destroy\n");
    out.push_str("| | Resource | Action | Why |\n|---|---|---|---|\n");
    for c in plan.changes.iter().filter(|c| c.action != Action::NoOp) {
        let why = c.reasons.join("; ").replace('|', "\\|");
        let _ =
            writeln!(out, "| `{}` | `{}` | {} | {} |", super::render::symbol(c.action), c.address, word(c.action), why);
    }
    out.push('\n');
    for c in plan.changes.iter().filter(|c| c.action != Action::NoOp) {
        let _ = writeln!(out, "<details><summary><code>{}</code>: {}</summary>\n", c.address, word(c.action));
        out.push_str("```diff\n");
        let empty = Default::default();
        let shown_before = c.before.as_ref().map(crate::model::sensitive::display_map);
        let shown_after = c.after.as_ref().map(crate::model::sensitive::display_map);
        let before = shown_before.as_ref().unwrap_or(&empty);
        let after = shown_after.as_ref().unwrap_or(&empty);
        let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
        keys.sort();
        keys.dedup();
        for k in keys {
            let (b, a) = (
                before.get(k).filter(|_| c.action != Action::Create),
                after.get(k).filter(|_| c.action != Action::Delete),
            );
            if b == a {
                continue;
            }
            match (b, a) {
                // Multi-line values (the rendered Flink configuration): a line diff.
                (Some(b), Some(a)) if b.contains('\n') || a.contains('\n') => {
                    let diff = similar::TextDiff::from_lines(b.as_str(), a.as_str());
                    for change in diff.iter_all_changes() {
                        let sign = match change.tag() {
                            similar::ChangeTag::Delete => '-',
                            similar::ChangeTag::Insert => '+',
                            similar::ChangeTag::Equal => ' ',
                        };
                        let _ = writeln!(out, "{sign} {k}: {}", change.value().trim_end_matches('\n'));
                    }
                }
                _ => {
                    for (sign, v) in [('-', b), ('+', a)] {
                        for l in v.map(|v| v.lines().collect::<Vec<_>>()).unwrap_or_default() {
                            let _ = writeln!(out, "{sign} {k}: {l}");
                        }
                    }
                }
            }
        }
        out.push_str("```\n\n</details>\n\n");
    }
    let outputs: Vec<_> = plan.outputs.iter().filter(|o| o.action() != Action::NoOp).collect();
    if !outputs.is_empty() {
        out.push_str("**Outputs:**\n\n");
        for o in outputs {
            let _ = writeln!(out, "- `{}`: {} → {}", o.name, o.shown_before(), o.shown_after());
        }
    }
    out
}
