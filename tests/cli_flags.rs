//! Terraform's single-dash long flags on `plan`, `apply` and `destroy`, one case per flag and
//! command, each checked by its effect on the real engine (light busybox containers).

mod common;
use common::*;

const HCL: &str = r#"
flinkform {
  project = "PROJECT"
}

variable "n" {
  type    = number
  default = 1
}

container "c" {
  count   = var.n
  image   = "flinkform-offline/busybox:static"
  command = ["sh", "-c", "trap 'exit 0' TERM; sleep 2147483647 & wait"]
}
"#;

fn fresh(name: &str) -> Project {
    let p = Project::new(name, HCL);
    p.write("two.tfvars", "n = 2\n");
    p
}

fn text(out: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// Runs from `/` (so only `-chdir` finds the configuration).
fn elsewhere(args: &[&str]) -> std::process::Output {
    std::process::Command::new(bin()).current_dir("/").args(args).env("NO_COLOR", "1").output().unwrap()
}

fn ids(p: &Project) -> Vec<String> {
    p.containers().into_iter().map(|(_, id)| id).collect()
}

#[test]
fn plan_takes_each_terraform_flag() {
    assert!(require_docker());
    let p = fresh("ffflags-plan");
    let chdir = format!("-chdir={}", p.path().display());
    let cases: &[(&[&str], &str)] = &[
        (&["plan", "-var", "n=2"], "Plan: 2 to add"),
        (&["plan", "-var=n=2"], "Plan: 2 to add"),
        (&["plan", "-var-file=two.tfvars"], "Plan: 2 to add"),
        (&["plan", "-var-file", "two.tfvars", "-target=container.c[1]"], "Plan: 1 to add"),
        (&["plan", "-lock-timeout=5s"], "Plan: 1 to add"),
        (&["plan", "-refresh=false"], "Plan: 1 to add"),
        (&["plan", "-destroy"], "No changes."),
    ];
    for (args, want) in cases {
        let out = p.run(args);
        assert!(out.status.success() && text(&out).contains(want), "{args:?}: {}", text(&out));
    }
    // -chdir: from elsewhere.
    let out = elsewhere(&[&chdir, "plan"]);
    assert!(text(&out).contains("Plan: 1 to add"), "-chdir: {}", text(&out));
    // -out=FILE
    p.ok(&["plan", "-out=tfplan"]);
    assert!(p.path().join("tfplan").exists(), "-out=FILE");
    // -json
    let doc: serde_json::Value = serde_json::from_slice(&p.run(&["plan", "-json"]).stdout).unwrap();
    assert_eq!(doc["resource_changes"][0]["change"]["actions"][0], "create", "-json");
    // -detailed-exitcode
    assert_eq!(p.run(&["plan", "-detailed-exitcode"]).status.code(), Some(2), "-detailed-exitcode");
    // -no-color, against colour forced on
    let colour = |args: &[&str]| {
        let out = std::process::Command::new(bin())
            .arg(&chdir)
            .args(args)
            .env_remove("NO_COLOR")
            .env("CLICOLOR_FORCE", "1")
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).contains('\u{1b}')
    };
    assert!(colour(&["plan"]), "CLICOLOR_FORCE=1 colours the plan");
    assert!(!colour(&["plan", "-no-color"]), "-no-color");
    // -replace=ADDRESS, once something exists.
    p.ok(&["apply", "-auto-approve"]);
    let out = p.ok(&["plan", "-replace=container.c[0]"]);
    assert!(
        out.contains("replacement requested with --replace") && out.contains("1 to add, 0 to change, 1 to destroy"),
        "{out}"
    );
}

#[test]
fn apply_and_destroy_take_each_terraform_flag() {
    assert!(require_docker());
    let p = fresh("ffflags-apply");
    let chdir = format!("-chdir={}", p.path().display());
    // apply: -auto-approve, -var, -var-file, -target, -lock-timeout, -no-color, -chdir, -replace
    p.ok(&["apply", "-auto-approve", "-no-color", "-lock-timeout=5s"]);
    assert_eq!(ids(&p).len(), 1, "-auto-approve");
    p.ok(&["apply", "-auto-approve", "-var", "n=2", "-target=container.c[1]"]);
    assert_eq!(ids(&p).len(), 2, "-var and -target");
    p.ok(&["apply", "-auto-approve", "-var-file=two.tfvars"]);
    assert_eq!(ids(&p).len(), 2, "-var-file: nothing left to do");
    let before = p.container_id("ffflags-apply-c-0").unwrap();
    p.ok(&["apply", "-auto-approve", "-var-file", "two.tfvars", "-replace=container.c[0]"]);
    assert_ne!(p.container_id("ffflags-apply-c-0").unwrap(), before, "-replace");
    let out = elsewhere(&[&chdir, "apply", "-auto-approve", "-var=n=2"]);
    assert!(text(&out).contains("Apply complete! Resources: 0 added"), "-chdir: {}", text(&out));
    // A saved plan: plan -out=FILE, apply FILE.
    p.ok(&["plan", "-var", "n=3", "-out=three"]);
    p.ok(&["apply", "three"]);
    assert_eq!(ids(&p).len(), 3, "apply FILE");

    // -json: Terraform's machine-readable UI, one JSON object a line; needs -auto-approve.
    let out = p.run(&["apply", "-json", "-var", "n=4"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("-json needs -auto-approve"), "{}", text(&out));
    let out = p.ok(&["apply", "-json", "-auto-approve", "-var", "n=4"]);
    let lines: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    let kinds: Vec<&str> = lines.iter().map(|l| l["type"].as_str().unwrap()).collect();
    assert_eq!(kinds.first(), Some(&"version"), "{kinds:?}");
    assert!(lines.iter().any(|l| l["type"] == "planned_change" && l["change"]["resource"]["addr"] == "container.c[3]"));
    assert!(lines.iter().any(|l| l["type"] == "apply_progress" && l["hook"]["resource"]["addr"] == "container.c[3]"));
    let summary = lines.iter().rfind(|l| l["type"] == "change_summary").unwrap();
    assert_eq!(summary["changes"], serde_json::json!({"add": 1, "change": 0, "remove": 0, "operation": "apply"}));
    assert!(lines.iter().all(|l| l["@timestamp"].is_string() && l["@level"].is_string()));
    assert_eq!(ids(&p).len(), 4, "-json");
    let out = p.ok(&["destroy", "-json", "-auto-approve", "-var", "n=4", "-target=container.c[3]"]);
    assert!(out.lines().all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()), "{out}");
    assert!(out.contains("\"operation\":\"destroy\""), "{out}");
    assert_eq!(ids(&p).len(), 3, "destroy -json");

    // destroy: -target, -var, -var-file, -lock-timeout, -no-color, -chdir, -auto-approve
    p.ok(&["destroy", "-auto-approve", "-var", "n=3", "-target=container.c[2]", "-no-color"]);
    assert_eq!(ids(&p).len(), 2, "destroy -target");
    p.ok(&["destroy", "-auto-approve", "-var-file=two.tfvars", "-target=container.c[1]", "-lock-timeout=5s"]);
    assert_eq!(ids(&p).len(), 1, "destroy -var-file");
    let out = elsewhere(&[&chdir, "destroy", "-auto-approve"]);
    assert!(text(&out).contains("Destroy complete!"), "-chdir: {}", text(&out));
    assert!(ids(&p).is_empty());
}
