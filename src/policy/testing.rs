//! `flinkform test policy DIR`: a policy directory's own tests, as `opa test` and `conftest
//! verify` run them: every rule whose name starts with `test_`, in any package of the
//! directory's `*_test.rego` files, must evaluate to true with the policies loaded beside it.

use super::{PolicyError, add, rego_files};
use serde_json::Value;
use std::path::Path;

/// One test's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// `data.main.test_deny_destroy`
    pub name: String,
    pub passed: bool,
    /// Why it failed: undefined, false, or the error it raised.
    pub detail: String,
}

/// Loads every `*.rego` file of `dir` (policies and tests) and runs each `test_*` rule.
pub fn run(dir: &Path) -> Result<Vec<Outcome>, PolicyError> {
    let mut engine = regorus::Engine::new();
    for file in rego_files(dir)? {
        add(&mut engine, &file)?;
    }
    let ast: Value = engine
        .get_ast_as_json()
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .ok_or_else(|| PolicyError::Eval("cannot list the tests".into()))?;
    let mut outcomes = Vec::new();
    for name in test_rules(&ast) {
        let (passed, detail) = match engine.eval_query(name.clone(), false) {
            Ok(r) => match r.result.first().and_then(|r| r.expressions.first()).map(|e| &e.value) {
                Some(v) if *v == regorus::Value::from(true) => (true, String::new()),
                Some(v) => (false, format!("evaluated to {v}")),
                None => (false, "undefined: a condition of the test did not hold".into()),
            },
            Err(e) => (false, e.to_string()),
        };
        outcomes.push(Outcome { name, passed, detail });
    }
    outcomes.sort_by(|a, b| a.name.cmp(&b.name));
    outcomes.dedup_by(|a, b| a.name == b.name);
    Ok(outcomes)
}

/// `data.<package>.<rule>` of every rule named `test_*`, from the engine's syntax tree.
fn test_rules(ast: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for module in ast.as_array().into_iter().flatten() {
        let source = module.pointer("/source/contents").and_then(Value::as_str).unwrap_or_default();
        let Some(tree) = module.get("ast") else { continue };
        let Some(package) = package_path(tree, source) else { continue };
        for rule in tree.get("rules").and_then(Value::as_array).into_iter().flatten() {
            if let Some(name) = rule_name(rule).filter(|n| n.starts_with("test_")) {
                out.push(format!("data.{package}.{name}"));
            }
        }
    }
    out
}

/// The package's dotted path (`main`, `flinkform.ha`), read from the source at its span.
fn package_path(tree: &Value, source: &str) -> Option<String> {
    let span = tree.pointer("/package/span")?;
    let (start, end) = (span.get("start")?.as_u64()? as usize, span.get("end")?.as_u64()? as usize);
    let text = source.get(start..end)?;
    Some(text.trim().trim_start_matches("package").trim().to_string())
}

/// A rule's name: the variable its head names (`test_x if …`, `test_x := …`).
fn rule_name(rule: &Value) -> Option<String> {
    let head = rule.pointer("/Spec/head")?;
    ["Compr", "Set", "Func"]
        .iter()
        .find_map(|kind| head.pointer(&format!("/{kind}/refr/Var/value")))
        .and_then(Value::as_str)
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_each_test_rule_and_reports_failures() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("p.rego"),
            "package main\nimport rego.v1\ndeny contains \"no\" if { input.bad }\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("p_test.rego"),
            "package main\nimport rego.v1\n\
             test_denies_bad if { count(deny) == 1 with input as {\"bad\": true} }\n\
             test_allows_good if { count(deny) == 0 with input as {\"bad\": false} }\n\
             test_wrong if { count(deny) == 5 with input as {\"bad\": true} }\n",
        )
        .unwrap();
        let got: Vec<(String, bool)> = run(dir.path()).unwrap().into_iter().map(|o| (o.name, o.passed)).collect();
        assert_eq!(
            got,
            vec![
                ("data.main.test_allows_good".to_string(), true),
                ("data.main.test_denies_bad".to_string(), true),
                ("data.main.test_wrong".to_string(), false),
            ]
        );
    }
}
