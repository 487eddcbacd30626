//! What Terraform users type first (issue 17, CLI habits): single-dash long flags, `version`,
//! shell completions, `-no-color`. No Docker: plans are made from the state alone.

mod common;
use common::*;
use std::process::Command;

const HCL: &str = r#"
flinkform {
  project = "ffhabits"
}

variable "n" {
  type    = number
  default = 1
}

container "c" {
  count = var.n
  image = "flinkform-offline/busybox:static"
}
"#;

fn flinkform(args: &[&str]) -> std::process::Output {
    Command::new(bin()).args(args).env_remove("NO_COLOR").output().unwrap()
}

#[test]
fn single_dash_long_flags_work_as_in_terraform() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.hcl"), HCL).unwrap();
    let chdir = format!("-chdir={}", dir.path().display());
    let out = flinkform(&[&chdir, "plan", "-refresh=false", "-var", "n=2", "-out=tfplan", "-no-color"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("Plan: 2 to add"), "{stdout}");
    assert!(!stdout.contains('\u{1b}'), "no colour with -no-color: {stdout}");
    assert!(dir.path().join("tfplan").exists(), "-out=FILE saved the plan");
    let out = flinkform(&[&chdir, "plan", "-refresh=false", "-detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(2), "-detailed-exitcode");
    // A value that looks like a flag stays a value.
    let out = flinkform(&[&chdir, "plan", "-refresh=false", "-var", "n=-1"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("unexpected argument"), "{err}");
}

#[test]
fn version_and_completions() {
    let text = String::from_utf8_lossy(&flinkform(&["version"]).stdout).to_string();
    assert!(text.starts_with(&format!("flinkform v{}\non ", env!("CARGO_PKG_VERSION"))), "{text}");
    let json: serde_json::Value = serde_json::from_slice(&flinkform(&["version", "-json"]).stdout).unwrap();
    assert_eq!(json["flinkform_version"], env!("CARGO_PKG_VERSION"));
    for shell in ["bash", "zsh", "fish"] {
        let out = flinkform(&["completions", shell]);
        assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).contains("apply"), "{shell}");
    }
}
