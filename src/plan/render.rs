//! Human, Terraform-style rendering of a plan: `+ create`, `- destroy`, `~ start`, `-/+ replace`,
//! attribute diffs (multi-line values such as the rendered Flink configuration as a line diff),
//! and the summary line. Deterministic: sorted by address, no timestamps. Colour codes are
//! always emitted; the printer strips them off a terminal or with NO_COLOR.

use super::{Action, Change, Plan};
use owo_colors::OwoColorize;
use similar::{ChangeTag, TextDiff};
use std::collections::BTreeSet;
use std::fmt::Write;

pub fn symbol(a: Action) -> &'static str {
    match a {
        Action::Create => "+",
        Action::Delete => "-",
        Action::Start | Action::Update => "~",
        Action::Replace => "-/+",
        Action::NoOp => " ",
    }
}

fn coloured(a: Action, s: &str) -> String {
    match a {
        Action::Create => s.green().to_string(),
        Action::Delete => s.red().to_string(),
        Action::Start | Action::Update => s.yellow().to_string(),
        Action::Replace => s.magenta().to_string(),
        Action::NoOp => s.to_string(),
    }
}

fn verb(a: Action) -> &'static str {
    match a {
        Action::Create => "will be created",
        Action::Delete => "will be destroyed",
        Action::Start => "will be started",
        Action::Update => "will be updated in-place",
        Action::Replace => "must be replaced",
        Action::NoOp => "is unchanged",
    }
}

/// The plan as Terraform users read it, ending with `Plan: …` or `No changes.`.
pub fn human(plan: &Plan) -> String {
    let mut out = String::new();
    let outputs: Vec<_> = plan.outputs.iter().filter(|o| o.action() != Action::NoOp).collect();
    if !plan.has_changes() && outputs.is_empty() {
        out.push_str(&"No changes.".bold().to_string());
        out.push_str(" Your Flink clusters match the configuration.\n");
        if !plan.foreign.is_empty() {
            out.push('\n');
            foreign(&mut out, plan);
        }
        return out;
    }
    if plan.has_changes() {
        out.push_str("flinkform will perform the following actions:\n\n");
    }
    for m in &plan.moved {
        let _ = writeln!(out, "  # {} has moved to {}", m.from, m.to);
    }
    if !plan.moved.is_empty() {
        out.push('\n');
    }
    for c in plan.changes.iter().filter(|c| c.action != Action::NoOp) {
        resource(&mut out, c);
        out.push('\n');
    }
    if !outputs.is_empty() {
        out.push_str("Changes to Outputs:\n");
        for o in &outputs {
            let m = coloured(o.action(), symbol(if o.action() == Action::Update { Action::Start } else { o.action() }));
            match o.action() {
                Action::Create => {
                    let _ = writeln!(out, "  {m} {} = {}", one_line(&o.name), one_line(&o.shown_after()));
                }
                _ => {
                    let _ = writeln!(
                        out,
                        "  {m} {} = {} -> {}",
                        one_line(&o.name),
                        one_line(&o.shown_before()),
                        one_line(&o.shown_after())
                    );
                }
            }
        }
        out.push('\n');
    }
    foreign(&mut out, plan);
    let (add, change, destroy) = plan.counts();
    let _ = writeln!(out, "{} {add} to add, {change} to change, {destroy} to destroy.", "Plan:".bold());
    out
}

/// Objects another state of the same project owns: named, so nobody wonders why they stay.
fn foreign(out: &mut String, plan: &Plan) {
    if plan.foreign.is_empty() {
        return;
    }
    out.push_str(
        "Left alone: labelled as this project's, but another flinkform state owns them (another lineage):
",
    );
    for f in &plan.foreign {
        let _ = writeln!(
            out,
            "  {} \"{}\" ({}, lineage {})",
            f.kind.as_str(),
            one_line(&f.name),
            one_line(&f.address),
            one_line(&f.lineage)
        );
    }
    out.push('\n');
}

fn resource(out: &mut String, c: &Change) {
    let verb = if c.keep_object { "will be forgotten (kept on Docker)" } else { verb(c.action) };
    let _ = writeln!(out, "  # {} {verb}", one_line(&c.address).bold());
    for r in &c.reasons {
        let _ = writeln!(out, "  #   {}", one_line(r));
    }
    let sym = format!("{:>3}", symbol(c.action));
    let _ = writeln!(out, "{} {} \"{}\" {{", coloured(c.action, &sym), c.kind.as_str(), one_line(&c.name));
    let empty = Default::default();
    let shown =
        |m: &Option<std::collections::BTreeMap<String, String>>| m.as_ref().map(crate::model::sensitive::display_map);
    let (shown_before, shown_after) = (shown(&c.before), shown(&c.after));
    let before = shown_before.as_ref().unwrap_or(&empty);
    let after = shown_after.as_ref().unwrap_or(&empty);
    let keys: BTreeSet<&String> = match c.action {
        Action::Delete => before.keys().collect(),
        _ => after.keys().chain(if c.action == Action::Replace { before.keys() } else { after.keys() }).collect(),
    };
    let width = keys.iter().map(|k| k.len()).max().unwrap_or(0);
    let mut unchanged = 0;
    for k in keys {
        let (b, a) = (before.get(k), after.get(k));
        let (mark, shown): (Action, Option<(&str, Option<&str>)>) = match c.action {
            Action::Create => (Action::Create, a.map(|a| (a.as_str(), None))),
            Action::Delete => (Action::Delete, b.map(|b| (b.as_str(), None))),
            Action::Replace | Action::Start | Action::Update if c.before.is_some() => match (b, a) {
                (Some(b), Some(a)) if b == a => {
                    unchanged += 1;
                    continue;
                }
                (Some(b), Some(a)) => (Action::Start, Some((b.as_str(), Some(a.as_str())))),
                (None, Some(a)) => (Action::Create, Some((a.as_str(), None))),
                (Some(b), None) => (Action::Delete, Some((b.as_str(), None))),
                (None, None) => continue,
            },
            _ => {
                unchanged += 1;
                continue;
            }
        };
        let Some((first, second)) = shown else { continue };
        let k = &one_line(k);
        let m = match mark {
            Action::Create => "+",
            Action::Delete => "-",
            _ => "~",
        };
        let m = coloured(mark, m);
        match second {
            None if first.contains('\n') => {
                let _ = writeln!(out, "      {m} {k:width$} = <<-EOT");
                for line in first.lines() {
                    let _ = writeln!(out, "            {}", printable(line));
                }
                let _ = writeln!(out, "        EOT");
            }
            None => {
                let _ = writeln!(out, "      {m} {k:width$} = {}", quote(first));
            }
            Some(after) if first.contains('\n') || after.contains('\n') => {
                let _ = writeln!(out, "      {m} {k:width$} = <<-EOT");
                line_diff(out, first, after);
                let _ = writeln!(out, "        EOT");
            }
            Some(after) => {
                let note = if c.action == Action::Replace { " # forces replacement" } else { "" };
                let _ = writeln!(out, "      {m} {k:width$} = {} -> {}{note}", quote(first), quote(after));
            }
        }
    }
    if c.action == Action::Start {
        let _ = writeln!(out, "      {} {:width$} = false -> true", coloured(Action::Start, "~"), "running");
    }
    if unchanged > 0 && c.action != Action::Create {
        let _ = writeln!(out, "        # ({unchanged} unchanged attributes hidden)");
    }
    out.push_str("    }\n");
}

fn quote(s: &str) -> String {
    format!("{s:?}")
}

/// `s` with control characters (an escape sequence a value or key smuggled in) shown escaped,
/// as `\u{1b}`; line breaks stay for the callers that print values line by line.
pub fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(|c| c.is_control() && c != '\n') {
        return std::borrow::Cow::Borrowed(s);
    }
    s.chars()
        .map(|c| if c.is_control() && c != '\n' { c.escape_default().to_string() } else { c.to_string() })
        .collect::<String>()
        .into()
}

/// A key or name on one line: line breaks escaped too.
pub fn one_line(s: &str) -> String {
    printable(s).replace('\n', "\\n")
}

/// A line diff with one line of context, `-`/`+` marked.
fn line_diff(out: &mut String, before: &str, after: &str) {
    let diff = TextDiff::from_lines(before, after);
    for group in diff.grouped_ops(1) {
        for op in group {
            for change in diff.iter_changes(&op) {
                let line = printable(change.value().trim_end_matches('\n'));
                let _ = match change.tag() {
                    ChangeTag::Equal => writeln!(out, "            {line}"),
                    ChangeTag::Delete => writeln!(out, "          {} {line}", "-".red()),
                    ChangeTag::Insert => writeln!(out, "          {} {line}", "+".green()),
                };
            }
        }
    }
}
