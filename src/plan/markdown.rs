//! Plans as a pull-request comment (`plan --markdown`): a summary table and one collapsible
//! `<details>` section per changed resource with its diff. Deterministic. Every value comes from
//! the configuration or the engine, so none may change the comment's structure: text outside
//! code blocks is HTML-escaped (backticks, `|` and the parentheses of a link too) and each code
//! block's fence is longer than any run of backticks inside it.

use super::render::{one_line, printable};
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
        let why = escape(&c.reasons.join("; "));
        let _ = writeln!(
            out,
            "| `{}` | <code>{}</code> | {} | {} |",
            super::render::symbol(c.action),
            escape(&c.address),
            word(c.action),
            why
        );
    }
    for m in &plan.moved {
        let _ = writeln!(out, "| | <code>{}</code> | moved | from <code>{}</code> |", escape(&m.to), escape(&m.from));
    }
    out.push('\n');
    for c in plan.changes.iter().filter(|c| c.action != Action::NoOp) {
        let _ = writeln!(out, "<details><summary><code>{}</code>: {}</summary>\n", escape(&c.address), word(c.action));
        let diff = diff(c);
        let fence = "`".repeat(3.max(longest_backtick_run(&diff) + 1));
        let _ = write!(out, "{fence}diff\n{diff}{fence}\n\n</details>\n\n");
    }
    let outputs: Vec<_> = plan.outputs.iter().filter(|o| o.action() != Action::NoOp).collect();
    if !outputs.is_empty() {
        out.push_str("**Outputs:**\n\n");
        for o in outputs {
            let _ = writeln!(
                out,
                "- <code>{}</code>: {} → {}",
                escape(&o.name),
                escape(&o.shown_before()),
                escape(&o.shown_after())
            );
        }
    }
    out
}

/// One change's attribute diff, the lines of a `diff` code block (control characters shown
/// escaped, as in the terminal).
fn diff(c: &super::Change) -> String {
    let mut out = String::new();
    {
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
                        let line = change.value().trim_end_matches('\n');
                        let _ = writeln!(out, "{sign} {}: {}", one_line(k), printable(line));
                    }
                }
                _ => {
                    for (sign, v) in [('-', b), ('+', a)] {
                        for l in v.map(|v| v.lines().collect::<Vec<_>>()).unwrap_or_default() {
                            let _ = writeln!(out, "{sign} {}: {}", one_line(k), printable(l));
                        }
                    }
                }
            }
        }
    }
    out
}

/// Text for outside a code block: nothing in it is markup.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in printable(s).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '`' => out.push_str("&#96;"),
            '|' => out.push_str("&#124;"),
            '(' => out.push_str("&#40;"),
            ')' => out.push_str("&#41;"),
            '\n' => out.push_str("\\\\n"),
            '*' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

fn longest_backtick_run(s: &str) -> usize {
    s.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use crate::plan::saved::{Reviewed, ReviewedChange};
    use crate::plan::{Action, Plan};

    /// Issue 15, item 15: a key with a line break and backticks, a value with an escape sequence.
    fn hostile() -> Plan {
        let change = ReviewedChange {
            address: "container.c[\"x\n```\n<!--\"]".into(),
            kind: crate::model::Kind::Container,
            name: "p-c-x".into(),
            action: Action::Create,
            before: None,
            after: Some(
                [
                    ("env.A\n```\n<!--".to_string(), "v\u{1b}[2J\u{1b}]0;owned\u{7}".to_string()),
                    ("flink_config".to_string(), "a: 1\n````\n</details>\nb: \u{1b}[31mred".to_string()),
                ]
                .into(),
            ),
            reasons: vec!["because | <script>alert(1)</script>".into()],
            keep_object: false,
            drift: None,
        };
        let later = ReviewedChange { address: "container.later".into(), name: "p-later".into(), ..change.clone() };
        Reviewed { changes: vec![change, later], outputs: vec![], foreign: vec![], moved: vec![] }.to_plan()
    }

    #[test]
    fn markdown_keeps_its_structure_whatever_the_values() {
        let md = super::render(&hostile());
        // Outside the code blocks nothing is markup that came from a value.
        let mut inside = false;
        let outside: String = md
            .lines()
            .filter(|l| {
                let fence = l.starts_with("```");
                inside ^= fence;
                !inside && !fence
            })
            .collect::<Vec<_>>()
            .join("\n");
        assert!(!outside.contains("<!--") && !outside.contains("<script>"), "{outside}");
        assert!(!md.contains('\u{1b}') && !md.contains('\u{7}'), "{md}");
        // Every fence opened is closed by the same fence, and both resources have their section.
        let fences: Vec<&str> = md.lines().filter(|l| l.starts_with("```")).collect();
        assert_eq!(fences.len(), 4, "{md}");
        for pair in fences.chunks(2) {
            assert_eq!(pair[0].trim_end_matches("diff"), pair[1], "{md}");
            assert!(pair[0].len() > "````".len() + "diff".len() - 1, "longer than any run inside: {md}");
        }
        assert_eq!(md.matches("</details>").count(), 2 + 2, "two sections, two escaped lines inside code");
        assert!(md.contains("<code>container.later</code>"), "{md}");
        // The table row is one row: `|` and line breaks escaped.
        let row = md.lines().find(|l| l.contains("because")).unwrap();
        assert!(row.contains("&#124;") && row.contains("&lt;script&gt;"), "{row}");
    }

    #[test]
    fn the_terminal_gets_no_smuggled_escape_sequence() {
        let text = crate::plan::render::human(&hostile());
        assert!(!text.contains("\u{1b}[2J") && !text.contains("\u{1b}]0;") && !text.contains('\u{7}'), "{text}");
        assert!(!text.contains("\u{1b}[31mred"), "{text}");
        assert!(text.contains("\\u{1b}[2J"), "shown escaped: {text}");
    }
}
