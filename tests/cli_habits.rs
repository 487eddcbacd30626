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

/// `flinkform console`: expressions against the configuration, one a line from stdin, printed
/// as HCL; a sensitive value stays hidden; an error is reported and the next line evaluated.
#[test]
fn console_evaluates_expressions_against_the_configuration() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("m")).unwrap();
    std::fs::write(
        dir.path().join("m/main.hcl"),
        "variable \"r\" {}\noutput \"zone\" {\n  value = \"zone-${var.r}\"\n}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("main.hcl"),
        r#"flinkform {
  project = "console"
}
variable "token" {
  sensitive = true
  default   = "hunter2"
}
variable "regions" {
  default = ["eu", "us"]
}
locals {
  greeting = "hello"
  secret   = "${var.token}-x"
}
module "zones" {
  for_each = toset(var.regions)
  source   = "./m"
  r        = each.key
}
cluster "c" {
  image = "flinkform-offline/flink:2.3.0-java17"
}
"#,
    )
    .unwrap();
    let input = "local.greeting\nvar.regions\nmodule.zones[\"eu\"].zone\nlocal.secret\ncluster.c.rest_url\nnope.x\nupper(local.greeting)\nexit\nlocal.greeting\n";
    let out = run_with_input(dir.path(), &["console"], input);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout,
        "\"hello\"\n[\n  \"eu\",\n  \"us\"\n]\n\"zone-eu\"\n(sensitive value)\n\"(known after apply)\"\n\"HELLO\"\n"
    );
    assert!(!stdout.contains("hunter2"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Error:") && stderr.contains("nope"), "{stderr}");
    assert_eq!(out.status.code(), Some(1), "a piped script with a failing line fails");
}
