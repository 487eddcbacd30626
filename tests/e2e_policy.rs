//! Policy checks at plan time: Rego policies (conftest's deny/warn rules) evaluated by the
//! embedded engine on the plan's Terraform-shaped JSON. A Terraform-style policy denies a
//! destroy on the real engine (plan exits 1, destroy refuses and the container keeps running);
//! the example policies' own tests pass; and every decision flinkform takes is the decision an
//! independent Rego implementation (rego-cpp, through its Python bindings `regopy`) takes on the
//! same policy and input.

mod common;
use common::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

const NO_DESTROY: &str = r#"package main

import rego.v1

# As written for Terraform: nothing is deleted without review.
deny contains msg if {
	some rc in input.resource_changes
	rc.change.actions[_] == "delete"
	msg := sprintf("%s would be deleted", [rc.address])
}

warn contains msg if {
	some rc in input.resource_changes
	rc.change.actions[_] == "create"
	msg := sprintf("%s is new", [rc.address])
}
"#;

fn light(project: &str) -> String {
    format!(
        "flinkform {{\n  project = \"{project}\"\n}}\n\ncontainer \"web\" {{\n  image   = \"flinkform-offline/busybox:static\"\n  command = [\"sh\", \"-c\", \"trap 'exit 0' TERM; sleep 2147483647 & wait\"]\n}}\n"
    )
}

/// `data.main`'s deny/violation/warn decisions as rego-cpp takes them: (rule, message) pairs.
fn reference_decisions(policy_dir: &Path, input: &Value) -> BTreeSet<(String, String)> {
    let script = r#"
import json, sys, glob, os, regopy
policy_dir, input_file = sys.argv[1], sys.argv[2]
r = regopy.Interpreter()
for f in sorted(glob.glob(os.path.join(policy_dir, "**", "*.rego"), recursive=True)):
    if not f.endswith("_test.rego"):
        r.add_module(f, open(f).read())
r.set_input_term(open(input_file).read())
out = r.query("x = data.main")
value = json.loads(str(out.binding("x"))) if out.ok() else {}
pairs = []
for rule, result in value.items():
    if not any(rule == p or rule.startswith(p + "_") for p in ("deny", "violation", "warn")):
        continue
    for m in (result if isinstance(result, list) else [result]):
        pairs.append([rule, m["msg"] if isinstance(m, dict) else m])
print(json.dumps(pairs))
"#;
    let input_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(input_file.path(), input.to_string()).unwrap();
    let out = Command::new("python3")
        .args(["-c", script, &policy_dir.display().to_string(), &input_file.path().display().to_string()])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "the reference Rego engine (pip package regopy, installed by scripts/test.sh) failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pairs: Vec<(String, String)> = serde_json::from_slice(&out.stdout).unwrap();
    pairs.into_iter().collect()
}

/// flinkform's decisions from `--json`'s `policy_results`, in the same (rule, message) form.
fn flinkform_decisions(doc: &Value) -> BTreeSet<(String, String)> {
    let results = &doc["policy_results"];
    ["failures", "warnings"]
        .iter()
        .flat_map(|k| results[*k].as_array().cloned().unwrap_or_default())
        .map(|f| {
            let rule = f["rule"].as_str().unwrap().trim_start_matches("data.main.").to_string();
            (rule, f["msg"].as_str().unwrap().to_string())
        })
        .collect()
}

/// The plan JSON without flinkform's policy results: the input the policies saw.
fn input_of(doc: &Value) -> Value {
    let mut input = doc.clone();
    input.as_object_mut().unwrap().remove("policy_results");
    input
}

#[test]
fn a_terraform_style_policy_denies_a_destroy_and_agrees_with_the_reference_engine() {
    assert!(require_docker());
    let p = Project::new("ffpolicy", &light("ffpolicy"));
    std::fs::create_dir(p.path().join("policies")).unwrap();
    p.write("policies/no_destroy.rego", NO_DESTROY);

    // Creating passes (a warning only), and the warning is in the plan.
    let plan = p.ok(&["plan", "-policy", "policies"]);
    assert!(plan.contains("WARN - data.main.warn - container.web is new"), "{plan}");
    assert!(plan.contains("0 warning(s), no failure") || plan.contains("1 warning(s), no failure"), "{plan}");
    p.ok(&["apply", "-auto-approve", "-policy=policies"]);
    let id = p.container_id("ffpolicy-web").expect("the container runs");

    // A destroy plan is denied: shown, exit code 1, the reason named.
    let out = p.run(&["plan", "-destroy", "-policy", "policies"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAIL - data.main.deny - container.web would be deleted"), "{stdout}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 policy failure(s)"));

    // destroy refuses, before asking and before touching anything; so does a policy_dir setting.
    let out = p.run(&["destroy", "-auto-approve", "-policy", "policies"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the plan is refused and nothing was changed"));
    assert_eq!(p.container_id("ffpolicy-web"), Some(id.clone()), "the denied destroy removed nothing");
    p.write(
        "main.hcl",
        &light("ffpolicy").replace("project = \"ffpolicy\"", "project = \"ffpolicy\"\n  policy_dir = \"policies\""),
    );
    let out = p.run(&["destroy", "-auto-approve"]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(p.container_id("ffpolicy-web"), Some(id), "the denied destroy removed nothing");

    // The JSON and the Markdown comment carry the results; the reference engine agrees.
    let out = p.run(&["plan", "-destroy", "-json"]);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["policy_results"]["failures"][0]["msg"], "container.web would be deleted");
    assert_eq!(flinkform_decisions(&doc), reference_decisions(&p.path().join("policies"), &input_of(&doc)));
    let md = String::from_utf8_lossy(&p.run(&["plan", "-destroy", "-markdown"]).stdout).to_string();
    assert!(
        md.contains("### Policy checks") && md.contains("**FAIL** `data.main.deny`: container.web would be deleted"),
        "{md}"
    );

    // Without the policy the destroy goes through.
    p.write("main.hcl", &light("ffpolicy"));
    p.ok(&["destroy", "-auto-approve"]);
    assert!(p.containers().is_empty());
}

/// The example policies on plans that break each rule (planned from the state alone: no engine
/// needed), against the reference engine, and their own tests.
#[test]
fn the_example_policies_decide_as_the_reference_engine_does() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/policies");
    let out = run_in(Path::new(env!("CARGO_MANIFEST_DIR")), &["test", "policy", "examples/policies"], &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("PASS: 7/7"), "{text}");

    let cases = [
        // A production cluster with one JobManager and no ZooKeeper, its REST API on every
        // interface, a moving image tag, a TaskManager above the ceiling.
        r#"cluster "prod-eu" {
  image = "apache/flink:latest"
  flink_version = "2.3"
  jobmanager { rest_bind = "0.0.0.0" }
  taskmanager {
    replicas = 1
    memory = "12g"
  }
}"#,
        // The repository's HA example: passes.
        &std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ha/main.hcl")).unwrap(),
    ];
    let mut denied = Vec::new();
    for (i, hcl) in cases.iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("main.hcl"), hcl).unwrap();
        let policies = examples.display().to_string();
        let out = run_in(dir.path(), &["plan", "-refresh=false", "-json", "-policy", &policies], &[]);
        let doc: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|_| panic!("case {i}: {}", String::from_utf8_lossy(&out.stderr)));
        let ours = flinkform_decisions(&doc);
        assert_eq!(ours, reference_decisions(&examples, &input_of(&doc)), "case {i}");
        assert_eq!(out.status.code(), Some(if ours.is_empty() { 0 } else { 1 }), "case {i}");
        denied.push(ours);
    }
    let rules: BTreeSet<&str> = denied[0].iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(rules, ["deny_ha", "deny_image", "deny_memory", "deny_public_port"].into(), "{:?}", denied[0]);
    assert!(denied[1].is_empty(), "{:?}", denied[1]);
}
