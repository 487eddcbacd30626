//! End to end (issues 3 and 16): the examples/gitops pipeline as CI runs it. The pull-request
//! job and the merge job are separate runs from separate fresh clones, sharing the state in a
//! real PostgreSQL; the saved plan is passed between them as an artifact; the sensitive variable
//! comes only from the environment, at both steps. A pull request made stale by another merge
//! is refused at apply.

mod common;
use common::*;
use std::path::Path;
use std::process::{Command, Output};

const TOKEN: &str = "alert-token-never-shown-0815";

/// A fresh clone of the repository `repo` (its files, nothing a runner left).
fn clone(repo: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in ["main.hcl", "ci.sh"] {
        std::fs::copy(repo.join(f), dir.path().join(f)).unwrap();
    }
    dir
}

fn ci(p: &Project, clone: &Path, step: &str, artifacts: &Path) -> Output {
    let mut cmd = Command::new("bash");
    cmd.arg(clone.join("ci.sh")).arg(step).env("FLINKFORM", bin()).env("PLAN_DIR", artifacts).env("NO_COLOR", "1");
    for (k, v) in &p.env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn ok(out: Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(!stdout.contains(TOKEN), "the sensitive variable is never shown");
    stdout
}

#[test]
fn pull_request_and_merge_jobs_on_separate_runners_share_the_state_and_the_reviewed_plan() {
    if !require_docker() {
        return;
    }
    let pg = Postgres::start();
    let hcl = std::fs::read_to_string("examples/gitops/main.hcl")
        .unwrap()
        .replace("project = \"gitops\"", "project = \"PROJECT\"");
    // The repository (and, through Project, the cleanup of everything labelled as its project).
    let mut repo = Project::new("fft-gitops", &hcl);
    std::fs::copy("examples/gitops/ci.sh", repo.path().join("ci.sh")).unwrap();
    repo.env = vec![
        ("FLINKFORM_PG_CONN_STR".into(), pg.conn.clone()),
        ("FLINKFORM_KEY".into(), "0123456789abcdef0123456789abcdef0123456789abcdef".into()),
        ("FLINKFORM_VAR_alert_token".into(), TOKEN.into()),
    ];

    // Pull request: plan and its Markdown, nothing changed.
    let artifacts = tempfile::tempdir().unwrap();
    let runner = clone(repo.path());
    ok(ci(&repo, runner.path(), "pr", artifacts.path()));
    let md = std::fs::read_to_string(artifacts.path().join("plan.md")).unwrap();
    assert!(md.starts_with("### flinkform plan: 4 to add, 0 to change, 0 to destroy"), "{md}");
    assert!(md.contains("<details><summary><code>cluster.streaming.jobmanager[0]</code>: create</summary>"), "{md}");
    assert!(
        !md.contains(TOKEN)
            && !std::fs::read(artifacts.path().join("plan.bin"))
                .unwrap()
                .windows(TOKEN.len())
                .any(|w| w == TOKEN.as_bytes())
    );
    assert!(repo.containers().is_empty(), "the pull-request job changes nothing");

    // Merge: another runner, another fresh clone, the artifact; no state file anywhere.
    drop(runner);
    let runner = clone(repo.path());
    let out = ok(ci(&repo, runner.path(), "merge", artifacts.path()));
    assert!(out.contains("Apply complete! Resources: 4 added"), "{out}");
    assert_eq!(overview(&repo.rest_url("fft-gitops-streaming-jobmanager-0")), Some((1, 2)));
    assert!(!runner.path().join("flinkform.state.json").exists());

    // Two pull requests planned against the same state; the second merged first makes the
    // first stale: its apply is refused and changes nothing.
    let (first, second) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let pr1 = clone(repo.path());
    std::fs::write(
        pr1.path().join("main.hcl"),
        hcl.replace("PROJECT", "fft-gitops").replace("slots    = 2", "slots    = 3"),
    )
    .unwrap();
    ok(ci(&repo, pr1.path(), "pr", first.path()));
    let pr2 = clone(repo.path());
    std::fs::write(
        pr2.path().join("main.hcl"),
        hcl.replace("PROJECT", "fft-gitops").replace("replicas = 1", "replicas = 2"),
    )
    .unwrap();
    ok(ci(&repo, pr2.path(), "pr", second.path()));
    let merged = ok(ci(&repo, pr2.path(), "merge", second.path()));
    assert!(merged.contains("Apply complete! Resources: 1 added"), "{merged}");
    let before = repo.containers();
    let out = ci(&repo, pr1.path(), "merge", first.path());
    assert!(!out.status.success(), "a stale plan is refused");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("stale") || err.contains("changed since"), "{err}");
    assert_eq!(repo.containers(), before, "nothing changed");

    // Unformatted configuration fails the pull-request job before anything is planned.
    let messy = clone(repo.path());
    let text = std::fs::read_to_string(messy.path().join("main.hcl")).unwrap();
    std::fs::write(messy.path().join("main.hcl"), text.replace("  image = var.flink_image", "image=var.flink_image"))
        .unwrap();
    let out = ci(&repo, messy.path(), "pr", tempfile::tempdir().unwrap().path());
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stdout));
    drop(repo);
}
