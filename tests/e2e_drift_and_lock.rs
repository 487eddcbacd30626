//! End to end: two applies at once (exactly one runs), then drift made outside flinkform —
//! a TaskManager removed, one stopped — shown by plan with its reason and repaired by apply
//! (issue 2, tests 5 and 8).

mod common;
use common::*;
use std::process::{Command, Stdio};

const HCL: &str = r#"
flinkform {
  project = "PROJECT"
}

cluster "dr" {
  image = "flinkform-offline/flink:2.3.0-java17"

  jobmanager {
    memory = "1024m"
  }

  taskmanager {
    replicas = 2
    slots    = 2
    memory   = "1024m"
  }
}
"#;

#[test]
fn concurrent_applies_then_drift_is_planned_and_repaired() {
    if !require_docker() {
        return;
    }
    let p = Project::new("fft-drift", HCL);

    // 8. Two applies at once on the same state: one runs, the other is refused naming the holder.
    let spawn = || {
        Command::new(bin())
            .arg("--chdir")
            .arg(p.path())
            .args(["apply", "--auto-approve"])
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let ok = [&a, &b].iter().filter(|o| o.status.success()).count();
    assert_eq!(
        ok,
        1,
        "exactly one apply runs:\nA: {}\nB: {}",
        String::from_utf8_lossy(&a.stderr),
        String::from_utf8_lossy(&b.stderr)
    );
    let refused = if a.status.success() { &b } else { &a };
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("is locked") && err.contains("apply by") && err.contains("pid"), "{err}");
    let url = p.rest_url("fft-drift-dr-jobmanager-0");
    assert_eq!(overview(&url), Some((2, 4)));

    // 5. A TaskManager removed outside flinkform is planned for creation, with that reason.
    docker(&["rm", "-f", "fft-drift-dr-taskmanager-1"]);
    let plan = p.ok(&["plan"]);
    assert!(plan.contains("cluster.dr.taskmanager[1] will be created"), "{plan}");
    assert!(plan.contains("removed outside flinkform"), "{plan}");
    assert!(plan.contains("Plan: 1 to add, 0 to change, 0 to destroy."), "{plan}");
    p.ok(&["apply", "--auto-approve"]);
    assert!(p.container_id("fft-drift-dr-taskmanager-1").is_some());
    let got = eventually("2 TaskManagers again", std::time::Duration::from_secs(60), || {
        overview(&url).filter(|o| *o == (2, 4))
    });
    assert_eq!(got, (2, 4));

    // A TaskManager stopped outside flinkform is started again, not recreated.
    let tm0 = p.container_id("fft-drift-dr-taskmanager-0").unwrap();
    docker(&["stop", "fft-drift-dr-taskmanager-0"]);
    let plan = p.ok(&["plan"]);
    assert!(plan.contains("cluster.dr.taskmanager[0] will be started"), "{plan}");
    assert!(plan.contains("stopped outside flinkform"), "{plan}");
    assert!(plan.contains("Plan: 0 to add, 1 to change, 0 to destroy."), "{plan}");
    p.ok(&["apply", "--auto-approve"]);
    assert_eq!(p.container_id("fft-drift-dr-taskmanager-0"), Some(tm0), "started, not recreated");
    assert_eq!(docker(&["inspect", "-f", "{{.State.Running}}", "fft-drift-dr-taskmanager-0"]).trim(), "true");
    assert!(p.ok(&["plan"]).contains("No changes."));
}
