//! End to end on the real engine with real Flink: apply, no-op plan, scale, slots change,
//! destroy (issue 2, tests 1, 2, 3, 6).

mod common;
use common::*;
use std::time::Duration;

const HCL: &str = r#"
flinkform {
  project = "PROJECT"
}

variable "taskmanagers" {
  type    = number
  default = 2
}

variable "slots" {
  type    = number
  default = 2
}

cluster "qs" {
  image = "flinkform-offline/flink:2.3.0-java17"

  jobmanager {
    memory = "1024m"
  }

  taskmanager {
    replicas = var.taskmanagers
    slots    = var.slots
    memory   = "1024m"
  }
}

output "rest_url" {
  value = cluster.qs.rest_url
}
"#;

#[test]
fn apply_scale_change_slots_and_destroy() {
    if !require_docker() {
        return;
    }
    let p = Project::new("fft-lifecycle", HCL);
    let jm = "fft-lifecycle-qs-jobmanager-0";

    // 1. apply → Flink reports 2 TaskManagers and 4 slots; a second plan has nothing to do.
    let out = p.ok(&["apply", "--auto-approve"]);
    assert!(out.contains("Apply complete! Resources: 5 added, 0 changed, 0 destroyed."), "{out}");
    let url = p.rest_url(jm);
    assert!(out.contains(&format!("rest_url = \"{url}\"")), "the output names the REST URL Docker published:\n{out}");
    assert_eq!(overview(&url), Some((2, 4)));
    // TaskManagers start alongside the JobManager; none sat out Flink's 10 s error delay.
    for tm in ["fft-lifecycle-qs-taskmanager-0", "fft-lifecycle-qs-taskmanager-1"] {
        let logs = docker_logs(tm);
        assert!(!logs.contains("retrying in 10000 ms"), "{tm} waited Flink's default 10 s:\n{logs}");
    }
    // The offline image's class-data sharing archives were mapped (the JVM warns when it cannot).
    for c in ["fft-lifecycle-qs-jobmanager-0", "fft-lifecycle-qs-taskmanager-0"] {
        let logs = docker_logs(c);
        assert!(logs.contains("-XX:SharedArchiveFile=/opt/flink/cds/"), "{c} started without its archive:\n{logs}");
        assert!(!logs.contains("Unable to use shared archive"), "{c} could not map its archive:\n{logs}");
    }
    let plan = p.ok(&["plan"]);
    assert!(plan.contains("No changes."), "{plan}");
    assert_eq!(p.ok(&["output", "--raw", "rest_url"]).trim(), url);
    // The console sees the configuration with the state's port, as the output does.
    let out = run_with_input(p.path(), &["console"], "cluster.qs.rest_url\ncluster.qs.slots_total\nvar.slots * 10\n");
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("\"{url}\"\n4\n20\n"));
    let show = p.ok(&["show"]);
    let jm_id = p.container_id(jm).expect("the JobManager container exists");
    assert!(show.contains("# cluster.qs.jobmanager[0]:"), "{show}");
    assert!(show.contains(&jm_id), "show names the container id Docker reports:\n{show}");
    let jm_id = p.container_id(jm).expect("the JobManager container exists");

    // 2. replicas 2 → 3 adds exactly one TaskManager and leaves the JobManager alone.
    let plan = p.ok(&["plan", "--var", "taskmanagers=3"]);
    assert!(plan.contains("Plan: 1 to add, 0 to change, 0 to destroy."), "{plan}");
    assert!(plan.contains("cluster.qs.taskmanager[2] will be created"), "{plan}");
    p.ok(&["apply", "--auto-approve", "--var", "taskmanagers=3"]);
    assert_eq!(overview(&url), Some((3, 6)));
    assert_eq!(p.container_id(jm).as_deref(), Some(jm_id.as_str()), "the JobManager was not recreated");

    // 3. slots 2 → 4 replaces the TaskManagers only, with the reason.
    let plan = p.ok(&["plan", "--var", "taskmanagers=3", "--var", "slots=4"]);
    for i in 0..3 {
        assert!(plan.contains(&format!("cluster.qs.taskmanager[{i}] must be replaced")), "{plan}");
    }
    assert!(plan.contains("-/+ container \"fft-lifecycle-qs-taskmanager-0\""), "{plan}");
    assert!(plan.contains("slots: 2 → 4"), "{plan}");
    assert!(plan.contains("forces replacement: a TaskManager reads its configuration only at start"), "{plan}");
    assert!(!plan.contains("jobmanager[0]"), "the JobManager is untouched:\n{plan}");
    assert!(plan.contains("Plan: 3 to add, 0 to change, 3 to destroy."), "{plan}");
    p.ok(&["apply", "--auto-approve", "--var", "taskmanagers=3", "--var", "slots=4"]);
    let got = eventually("Flink to report 3 TaskManagers with 12 slots", Duration::from_secs(60), || {
        overview(&url).filter(|o| *o == (3, 12))
    });
    assert_eq!(got, (3, 12));
    assert_eq!(p.container_id(jm).as_deref(), Some(jm_id.as_str()), "the JobManager was not recreated");

    // 6. destroy leaves nothing with the project's labels, and an empty state.
    let out = p.ok(&["destroy", "--auto-approve", "--var", "taskmanagers=3", "--var", "slots=4"]);
    assert!(out.contains("Destroy complete! Resources: 6 destroyed."), "{out}");
    assert_eq!(p.labelled(), Vec::<String>::new());
    let state: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p.state_path()).unwrap()).unwrap();
    assert_eq!(state["resources"].as_array().map(|r| r.len()), Some(0));
}
