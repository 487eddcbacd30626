//! Policy checks: Rego policies evaluated on the plan's JSON (Terraform's shape, so a policy
//! written for Terraform's plans reads flinkform's) by an embedded engine (regorus), with
//! conftest's conventions: rules named `deny`, `violation` (failures) and `warn` (warnings), or
//! prefixed so (`deny_ha`), in `package main` unless told otherwise; a rule's values are
//! messages (strings) or objects with a `msg`. `*_test.rego` files are the policies' own tests
//! ([`testing`]), never loaded as policies. Owns nothing of flinkform's model: it sees JSON only.

pub mod testing;

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The package conftest evaluates by default.
pub const DEFAULT_NAMESPACE: &str = "main";

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum PolicyError {
    #[error("cannot read {}: {source}", path.display())]
    #[diagnostic(help("give a directory of *.rego files: `--policy policies/` or `policy_dir = \"policies\"`"))]
    Read { path: PathBuf, source: std::io::Error },
    #[error("no policy (*.rego, tests aside) in {}", dir.display())]
    #[diagnostic(help("a policy directory holds *.rego files with `deny`, `violation` or `warn` rules"))]
    Empty { dir: PathBuf },
    #[error("the policy {} does not compile: {message}", file.display())]
    #[diagnostic(help("check it with `flinkform test policy {}`", file.parent().map(|p| p.display().to_string()).unwrap_or_default()))]
    Compile { file: PathBuf, message: String },
    #[error("evaluating the policies failed: {0}")]
    #[diagnostic(help(
        "a rule raised an error on this plan; `flinkform test policy DIR` runs the policies' own tests"
    ))]
    Eval(String),
}

/// How a rule's result counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// `deny`, `violation`: the plan is refused.
    Failure,
    /// `warn`: shown, not refused.
    Warning,
}

impl Severity {
    fn tag(self) -> &'static str {
        match self {
            Severity::Failure => "FAIL",
            Severity::Warning => "WARN",
        }
    }
}

/// A message as a terminal may show it: control characters (escape sequences) dropped; a
/// message is the policy author's text with values from the configuration in it.
fn printable(msg: &str) -> String {
    msg.chars().filter(|c| !c.is_control() || *c == '\n').collect()
}

/// One message a rule produced.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    pub severity: Severity,
    /// `data.main.deny`
    pub rule: String,
    pub msg: String,
}

/// What the policies said about one plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// The directories the policies were read from, as given.
    pub dirs: Vec<PathBuf>,
    pub namespace: String,
    /// Sorted: failures first, then by rule and message.
    pub findings: Vec<Finding>,
}

impl Report {
    pub fn denied(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Failure)
    }

    fn of(&self, severity: Severity) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(move |f| f.severity == severity)
    }

    /// conftest's result shape, beside the plan in `--json`.
    pub fn to_json(&self) -> Value {
        let list = |s: Severity| -> Vec<Value> {
            self.of(s).map(|f| serde_json::json!({ "msg": f.msg, "rule": f.rule })).collect()
        };
        serde_json::json!({
            "namespace": self.namespace,
            "policies": self.dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>(),
            "failures": list(Severity::Failure),
            "warnings": list(Severity::Warning),
        })
    }

    /// Lines for the human plan: one per finding, then a verdict.
    pub fn human(&self) -> String {
        let mut out = format!("\nPolicy checks ({}):\n", self.sources());
        if self.findings.is_empty() {
            out.push_str("  All policies pass.\n");
            return out;
        }
        for f in &self.findings {
            out.push_str(&format!("  {} - {} - {}\n", f.severity.tag(), f.rule, printable(&f.msg)));
        }
        out.push_str(&self.verdict());
        out
    }

    /// A section of the pull-request comment.
    pub fn markdown(&self) -> String {
        let mut out = format!("\n### Policy checks\n\n_{}_\n\n", self.sources());
        if self.findings.is_empty() {
            out.push_str("All policies pass.\n");
            return out;
        }
        for f in &self.findings {
            let tag = if f.severity == Severity::Failure { "**FAIL**" } else { f.severity.tag() };
            let msg: String = printable(&f.msg)
                .chars()
                .map(|c| match c {
                    '<' => "&lt;".to_string(),
                    '>' => "&gt;".to_string(),
                    '`' | '|' | '*' | '_' | '[' | ']' => format!("\\{c}"),
                    '\n' => " ".to_string(),
                    c => c.to_string(),
                })
                .collect();
            out.push_str(&format!("- {tag} `{}`: {msg}\n", f.rule.replace('`', "")));
        }
        out.push('\n');
        out.push_str(&self.verdict());
        out
    }

    fn verdict(&self) -> String {
        let (f, w) = (self.of(Severity::Failure).count(), self.of(Severity::Warning).count());
        if f > 0 {
            format!("  {f} failure(s), {w} warning(s): this plan cannot be applied.\n")
        } else {
            format!("  {w} warning(s), no failure.\n")
        }
    }

    fn sources(&self) -> String {
        let dirs: Vec<String> = self.dirs.iter().map(|d| d.display().to_string()).collect();
        format!("{}, package {}", dirs.join(", "), self.namespace)
    }
}

/// Policies read from one or more directories, compiled once.
pub struct Policies {
    engine: regorus::Engine,
    dirs: Vec<PathBuf>,
    namespace: String,
}

impl Policies {
    /// Reads every `*.rego` file under `dirs` (recursively, sorted; `*_test.rego` skipped).
    /// `base` resolves relative directories; `dirs` are shown as given.
    pub fn load(base: &Path, dirs: &[PathBuf], namespace: &str) -> Result<Policies, PolicyError> {
        let mut engine = regorus::Engine::new();
        for dir in dirs {
            let files = rego_files(&base.join(dir))?;
            let policies: Vec<&PathBuf> = files.iter().filter(|f| !is_test(f)).collect();
            if policies.is_empty() {
                return Err(PolicyError::Empty { dir: dir.clone() });
            }
            for file in policies {
                add(&mut engine, file)?;
            }
        }
        Ok(Policies { engine, dirs: dirs.to_vec(), namespace: namespace.to_string() })
    }

    /// Evaluates the namespace's `deny*`, `violation*` and `warn*` rules on `input`.
    pub fn evaluate(&mut self, input: Value) -> Result<Report, PolicyError> {
        self.engine.set_input(input_value(input));
        tracing::debug!("policy input ready");
        let package = format!("data.{}", self.namespace);
        let results = self.engine.eval_query(package.clone(), false).map_err(|e| PolicyError::Eval(e.to_string()))?;
        let value = results.result.first().and_then(|r| r.expressions.first()).map(|e| &e.value);
        let json = value.map(serde_json::to_value).transpose().map_err(|e| PolicyError::Eval(e.to_string()))?;
        let findings = findings(&package, json.as_ref());
        Ok(Report { dirs: self.dirs.clone(), namespace: self.namespace.clone(), findings })
    }
}

/// The plan's JSON as the engine's value; its resource changes converted on every core.
fn input_value(mut input: Value) -> regorus::Value {
    let changes = input.get_mut("resource_changes").map(Value::take);
    let mut converted = match rego_value(input) {
        regorus::Value::Object(o) => std::sync::Arc::unwrap_or_clone(o),
        other => return other,
    };
    if let Some(Value::Array(changes)) = changes {
        let items = crate::cores::map_owned(changes, rego_value);
        converted.insert(regorus::Value::from("resource_changes"), regorus::Value::from(items));
    }
    regorus::Value::from(converted)
}

/// The plan's JSON as the engine's value, moved piece by piece (regorus's own conversion goes
/// through serde's visitors, several times slower on a plan of a thousand resources).
fn rego_value(v: Value) -> regorus::Value {
    match v {
        Value::Null => regorus::Value::Null,
        Value::Bool(b) => regorus::Value::Bool(b),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => regorus::Value::from(i),
            (None, Some(u)) => regorus::Value::from(u),
            _ => regorus::Value::from(n.as_f64().unwrap_or_default()),
        },
        Value::String(s) => regorus::Value::from(s),
        Value::Array(items) => regorus::Value::from(items.into_iter().map(rego_value).collect::<Vec<_>>()),
        Value::Object(fields) => regorus::Value::from(
            fields
                .into_iter()
                .map(|(k, v)| (regorus::Value::from(k), rego_value(v)))
                .collect::<std::collections::BTreeMap<_, _>>(),
        ),
    }
}

/// The findings in a package's value (`data.main` evaluated): conftest's rule names.
pub fn findings(package: &str, value: Option<&Value>) -> Vec<Finding> {
    let mut out = BTreeSet::new();
    let Some(Value::Object(rules)) = value else { return Vec::new() };
    for (name, result) in rules {
        let Some(severity) = severity_of(name) else { continue };
        let rule = format!("{package}.{name}");
        for msg in messages(name, result) {
            out.insert(Finding { severity, rule: rule.clone(), msg });
        }
    }
    out.into_iter().collect()
}

/// conftest's names: `deny`, `violation`, `warn`, alone or followed by `_something`.
fn severity_of(rule: &str) -> Option<Severity> {
    let is = |prefix: &str| rule == prefix || rule.strip_prefix(prefix).is_some_and(|r| r.starts_with('_'));
    if is("deny") || is("violation") {
        Some(Severity::Failure)
    } else if is("warn") {
        Some(Severity::Warning)
    } else {
        None
    }
}

/// A rule's messages: a set of strings or of objects with `msg`, or `true` (the rule's name).
fn messages(rule: &str, result: &Value) -> Vec<String> {
    let one = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => {
            Some(o.get("msg").and_then(Value::as_str).map(str::to_string).unwrap_or_else(|| v.to_string()))
        }
        Value::Bool(false) | Value::Null => None,
        other => Some(other.to_string()),
    };
    match result {
        Value::Array(items) => items.iter().filter_map(one).collect(),
        Value::Bool(true) => vec![rule.to_string()],
        other => one(other).into_iter().collect(),
    }
}

fn is_test(file: &Path) -> bool {
    file.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.ends_with("_test.rego"))
}

/// Every `*.rego` file under `dir`, sorted (a deterministic load order).
pub(crate) fn rego_files(dir: &Path) -> Result<Vec<PathBuf>, PolicyError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|source| PolicyError::Read { path: d.clone(), source })?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rego") {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

pub(crate) fn add(engine: &mut regorus::Engine, file: &Path) -> Result<(), PolicyError> {
    let text =
        std::fs::read_to_string(file).map_err(|source| PolicyError::Read { path: file.to_path_buf(), source })?;
    engine
        .add_policy(file.display().to_string(), text)
        .map(|_| ())
        .map_err(|e| PolicyError::Compile { file: file.to_path_buf(), message: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(policy: &str, input: Value) -> Report {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("p.rego"), policy).unwrap();
        std::fs::write(dir.path().join("p_test.rego"), "this is not rego and is never loaded as a policy").unwrap();
        let mut p = Policies::load(dir.path(), &[PathBuf::from(".")], DEFAULT_NAMESPACE).unwrap();
        p.evaluate(input).unwrap()
    }

    #[test]
    fn conftest_rule_names_and_message_shapes() {
        let policy = r#"package main
import rego.v1
deny contains msg if { input.n > 1; msg := "too many" }
deny_named contains {"msg": "as an object"} if { true }
violation contains {"msg": "a violation", "details": 1} if { true }
warn_small contains "a warning" if { true }
other contains "not a conftest rule" if { true }
"#;
        let r = report(policy, serde_json::json!({"n": 2}));
        let got: Vec<(Severity, &str, &str)> =
            r.findings.iter().map(|f| (f.severity, f.rule.as_str(), f.msg.as_str())).collect();
        assert_eq!(
            got,
            vec![
                (Severity::Failure, "data.main.deny", "too many"),
                (Severity::Failure, "data.main.deny_named", "as an object"),
                (Severity::Failure, "data.main.violation", "a violation"),
                (Severity::Warning, "data.main.warn_small", "a warning"),
            ]
        );
        assert!(r.denied());
        let r = report(policy, serde_json::json!({"n": 1}));
        assert_eq!(r.findings.len(), 3);
    }

    #[test]
    fn the_input_converts_as_regorus_reads_json() {
        let json = serde_json::json!({"a": [1, -2, 2.5, "x", null, true], "b": {"c": {}}, "big": u64::MAX});
        assert_eq!(rego_value(json.clone()), regorus::Value::from_json_str(&json.to_string()).unwrap());
    }

    #[test]
    fn messages_cannot_drive_the_terminal_or_the_comment() {
        let policy = "package main\nimport rego.v1\ndeny contains \"x \\u001b[2J <script> `a|b`\" if { true }\n";
        let r = report(policy, serde_json::json!({}));
        assert!(!r.human().contains('\u{1b}'), "{}", r.human());
        let md = r.markdown();
        assert!(!md.contains("<script>") && md.contains("&lt;script&gt;") && md.contains("\\`a\\|b\\`"), "{md}");
    }

    #[test]
    fn a_policy_that_does_not_compile_names_its_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("bad.rego"), "package main\ndeny contains msg if {").unwrap();
        let e = Policies::load(dir.path(), &[PathBuf::from(".")], "main").err().unwrap();
        assert!(matches!(e, PolicyError::Compile { ref file, .. } if file.ends_with("bad.rego")), "{e}");
        let empty = tempfile::tempdir().unwrap();
        assert!(matches!(Policies::load(empty.path(), &[PathBuf::from(".")], "main"), Err(PolicyError::Empty { .. })));
    }
}
