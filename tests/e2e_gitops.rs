//! End to end: the examples/gitops pipeline runs as shipped (issue 3).

mod common;
use common::*;
use std::process::Command;

#[test]
fn gitops_pipeline_plans_publishes_and_applies_the_saved_plan() {
    if !require_docker() {
        return;
    }
    let hcl = std::fs::read_to_string("examples/gitops/main.hcl")
        .unwrap()
        .replace("project = \"gitops\"", "project = \"PROJECT\"");
    let p = Project::new("fft-gitops", &hcl);
    std::fs::copy("examples/gitops/ci.sh", p.path().join("ci.sh")).unwrap();
    let run = |stage: &str| {
        Command::new("bash")
            .arg(p.path().join("ci.sh"))
            .env("FLINKFORM", bin())
            .env("STAGE", stage)
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };

    let out = run("plan");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let md = std::fs::read_to_string(p.path().join(".flinkform-ci/plan.md")).unwrap();
    assert!(md.starts_with("### flinkform plan: 4 to add, 0 to change, 0 to destroy"), "{md}");
    assert!(md.contains("<details><summary><code>cluster.streaming.jobmanager[0]</code>: create</summary>"), "{md}");
    assert!(p.containers().is_empty(), "the plan stage changes nothing");

    let out = run("all");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("Apply complete! Resources: 4 added"), "{stdout}");
    assert_eq!(overview(&p.rest_url("fft-gitops-streaming-jobmanager-0")), Some((1, 2)));

    // Unformatted configuration fails the pipeline before anything is planned.
    let messy = std::fs::read_to_string(p.path().join("main.hcl"))
        .unwrap()
        .replace("  image = var.flink_image", "image=var.flink_image");
    p.write("main.hcl", &messy);
    let out = run("plan");
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stdout));
}
