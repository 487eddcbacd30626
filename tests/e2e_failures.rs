//! End to end: failures are contained and explained. A missing image fails its JobManager and
//! skips its TaskManager, while an unrelated cluster is still created; a crashing TaskManager
//! fails fast naming the container and its last log lines, and is recorded tainted (the next plan
//! replaces it); the state records what succeeded and the next apply converges.

mod common;
use common::*;

const HCL: &str = r#"
flinkform {
  project = "PROJECT"
}

variable "bad_image" {
  type    = string
  default = "flinkform-test/missing:1"
}

variable "managed_memory" {
  type    = string
  default = "4g"
}

cluster "bad" {
  image         = var.bad_image
  flink_version = "2.3"

  taskmanager {
    replicas = 1
  }
}

cluster "ok" {
  image = "flinkform-offline/flink:2.3.0-java17"

  flink_config = {
    "taskmanager.memory.managed.size" = var.managed_memory
  }

  jobmanager {
    memory = "1024m"
  }

  taskmanager {
    replicas = 1
    memory   = "1024m"
  }
}
"#;

#[test]
fn failures_skip_only_dependents_and_the_next_apply_converges() {
    if !require_docker() {
        return;
    }
    let p = Project::new("fft-fail", HCL);
    let out = p.run(&["apply", "--auto-approve"]);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");

    // The missing image: named, with how to build it; its TaskManager is skipped, not attempted.
    assert!(
        stderr.contains("Error: cluster.bad.jobmanager[0]: image flinkform-test/missing:1 is not present locally"),
        "{stderr}"
    );
    assert!(stderr.contains("images/build.sh"), "{stderr}");
    assert!(
        stdout.contains("cluster.bad.taskmanager[0]: skipped because cluster.bad.jobmanager[0] failed"),
        "{stdout}"
    );
    assert!(p.container_id("fft-fail-bad-taskmanager-0").is_none());

    // The crashing TaskManager fails fast with its container name and last log lines.
    assert!(stderr.contains("Error: cluster.ok.taskmanager[0]: container fft-fail-ok-taskmanager-0"), "{stderr}");
    assert!(stderr.contains("Last log lines:"), "{stderr}");

    // The unrelated JobManager was created, runs, and is in the state.
    assert_eq!(docker(&["inspect", "-f", "{{.State.Running}}", "fft-fail-ok-jobmanager-0"]).trim(), "true");
    let state: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p.state_path()).unwrap()).unwrap();
    let addresses: Vec<&str> =
        state["resources"].as_array().unwrap().iter().map(|r| r["address"].as_str().unwrap()).collect();
    assert!(addresses.contains(&"cluster.ok.jobmanager[0]"), "{addresses:?}");
    assert!(!addresses.contains(&"cluster.bad.jobmanager[0]"), "{addresses:?}");

    // The TaskManager that never became ready is recorded tainted: with nothing changed, the
    // next plan replaces it instead of saying "No changes." for a crash-looping container.
    let tm = state["resources"].as_array().unwrap().iter().find(|r| r["address"] == "cluster.ok.taskmanager[0]");
    assert_eq!(tm.map(|r| r["tainted"].clone()), Some(serde_json::Value::Bool(true)), "{state}");
    let plan = p.ok(&["plan"]);
    assert!(plan.contains("cluster.ok.taskmanager[0] must be replaced"), "{plan}");
    assert!(plan.contains("tainted: it was created but never became ready"), "{plan}");

    // With the causes fixed, the next apply completes the rest and the plan is clean.
    let fixed = ["--var", "bad_image=flinkform-offline/flink:2.3.0-java17", "--var", "managed_memory=128m"];
    let jm_id = p.container_id("fft-fail-ok-jobmanager-0");
    let mut args = vec!["apply", "--auto-approve"];
    args.extend(fixed);
    p.ok(&args);
    assert_eq!(p.container_id("fft-fail-ok-jobmanager-0"), jm_id, "the healthy JobManager was left alone");
    assert_eq!(overview(&p.rest_url("fft-fail-ok-jobmanager-0")).map(|o| o.0), Some(1));
    assert_eq!(overview(&p.rest_url("fft-fail-bad-jobmanager-0")).map(|o| o.0), Some(1));
    let mut args = vec!["plan"];
    args.extend(fixed);
    assert!(p.ok(&args).contains("No changes."));
}
