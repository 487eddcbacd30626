//! End to end: saved plans as CI applies them (issue 3). A fresh plan applies without asking;
//! the same plan twice is refused; a plan is refused when the state, the configuration or a
//! live object changed since it was made.

mod common;
use common::*;

const HCL: &str = r#"
flinkform {
  project = "PROJECT"
}

variable "taskmanagers" {
  type    = number
  default = 0
}

cluster "sp" {
  image = "flinkform-offline/flink:2.3.0-java17"

  jobmanager {
    memory = "1024m"
  }

  taskmanager {
    replicas = var.taskmanagers
    memory   = "1024m"
  }
}
"#;

fn refused(p: &Project, file: &str, why: &str) {
    let out = p.run(&["apply", file]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(why), "expected `{why}` in:\n{err}");
}

#[test]
fn saved_plans_apply_once_and_only_while_fresh() {
    if !require_docker() {
        return;
    }
    let p = Project::new("fft-saved", HCL);

    // A fresh plan applies exactly as saved, without a prompt (there is no terminal here).
    let out = p.ok(&["plan", "--out", "first.plan"]);
    assert!(out.contains("Plan: 3 to add, 0 to change, 0 to destroy."), "{out}");
    assert!(out.contains("flinkform apply first.plan"), "{out}");
    let shown = p.ok(&["show", "first.plan"]);
    assert!(shown.contains("Plan: 3 to add, 0 to change, 0 to destroy."), "{shown}");
    let md = p.ok(&["show", "--markdown", "first.plan"]);
    assert!(md.starts_with("### flinkform plan: 3 to add, 0 to change, 0 to destroy"), "{md}");
    let json: serde_json::Value = serde_json::from_str(&p.ok(&["show", "--json", "first.plan"])).unwrap();
    assert_eq!(json["summary"]["add"], 3);
    let out = p.ok(&["apply", "first.plan"]);
    assert!(out.contains("Apply complete! Resources: 3 added, 0 changed, 0 destroyed."), "{out}");
    assert!(p.container_id("fft-saved-sp-jobmanager-0").is_some());

    // The same plan twice: refused.
    refused(&p, "first.plan", "already applied");

    // The state moved since the plan was made.
    p.ok(&["plan", "--out", "state.plan", "--var", "taskmanagers=1"]);
    p.ok(&["apply", "--auto-approve", "--var", "taskmanagers=1"]);
    refused(&p, "state.plan", "the state changed since it was made");

    // The configuration changed since the plan was made (vars saved in the plan are reused).
    p.ok(&["plan", "--out", "config.plan", "--var", "taskmanagers=1"]);
    let hcl = std::fs::read_to_string(p.path().join("main.hcl")).unwrap();
    p.write("main.hcl", &hcl.replace("default = 0", "default = 1"));
    refused(&p, "config.plan", "the configuration changed");

    // A live object changed since planning.
    p.ok(&["plan", "--out", "live.plan"]);
    docker(&["stop", "fft-saved-sp-taskmanager-0"]);
    refused(&p, "live.plan", "live objects changed since planning");

    // A plan made now sees the stopped TaskManager and repairs it.
    let out = p.run(&["plan", "--out", "repair.plan", "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(2), "changes present");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("stopped outside flinkform"), "{text}");
    p.ok(&["apply", "repair.plan"]);
    let code = p.run(&["plan", "--detailed-exitcode"]).status.code();
    assert_eq!(code, Some(0), "no changes after the repair");
}
