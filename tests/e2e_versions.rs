//! End to end: the version matrix. Flink 2.3 runs the quickstart (e2e_quickstart), HA failover
//! (e2e_ha) and savepoint upgrades (e2e_jobs, e2e_application); here the same three on Flink
//! 1.20, the last 1.x line, from the offline image `images/build.sh --flink 1.20` builds, with
//! the example job compiled against that release's jars.

mod common;
use common::*;
use serde_json::Value;
use std::process::Command;
use std::time::Duration;

const FLINK_1_20: &str = "flinkform-offline/flink:1.20.5-java17";

const HCL: &str = r#"
flinkform {
  project = "PROJECT"
}

variable "parallelism" {
  type    = number
  default = 2
}

cluster "v120" {
  image = "IMAGE"
  flink_config = {
    "state.savepoints.dir"  = "file:///flink-data/savepoints"
    "state.checkpoints.dir" = "file:///flink-data/checkpoints"
  }
  zookeeper {
    replicas = 1
    image    = "flinkform-offline/zookeeper:3.8"
  }
  jobmanager {
    replicas = 2
    memory   = "1024m"
  }
  taskmanager {
    replicas = 2
    slots    = 2
    memory   = "1024m"
  }
}

job "counter" {
  cluster      = cluster.v120.name
  jar          = "stateful-counter.jar"
  entry_class  = "org.flinkform.examples.StatefulCounter"
  args         = ["20"]
  parallelism  = var.parallelism
  upgrade_mode = "savepoint"
}
"#;

fn recorded_job(p: &Project) -> (String, Option<String>) {
    let state: Value = serde_json::from_str(&std::fs::read_to_string(p.state_path()).unwrap()).unwrap();
    let r = state["resources"].as_array().unwrap().iter().find(|r| r["address"] == "job.counter").unwrap().clone();
    (r["id"].as_str().unwrap().to_string(), r["savepoint"].as_str().map(str::to_string))
}

#[test]
fn flink_1_20_runs_the_quickstart_fails_over_and_upgrades_through_a_savepoint() {
    if !require_docker() {
        return;
    }
    let built = Command::new("docker").args(["image", "inspect", FLINK_1_20]).output().unwrap();
    assert!(built.status.success(), "image {FLINK_1_20} is missing: run images/build.sh --flink 1.20");
    let p = Project::new("fft-v120", &HCL.replace("IMAGE", FLINK_1_20));
    let jar = p.path().join("stateful-counter.jar");
    let ok = Command::new("bash")
        .arg("examples/jobs/build.sh")
        .env("FLINK_IMAGE", FLINK_1_20)
        .env("JAR", &jar)
        .status()
        .unwrap();
    assert!(ok.success(), "the example job compiles against Flink 1.20's jars");

    // Quickstart: the cluster up, Flink 1.20 reporting every TaskManager, the job running.
    let plan = p.ok(&["plan"]);
    assert!(plan.contains("high-availability.type: zookeeper"), "1.20 reads the 1.15+ key: {plan}");
    p.ok(&["apply", "--auto-approve"]);
    let (jm0, jm1) = ("fft-v120-v120-jobmanager-0", "fft-v120-v120-jobmanager-1");
    let urls = [p.rest_url(jm0), p.rest_url(jm1)];
    let o = get_json(&format!("{}/overview", urls[0]));
    assert_eq!(o["flink-version"], "1.20.5", "{o}");
    assert_eq!((o["taskmanagers"].as_u64(), o["slots-total"].as_u64()), (Some(2), Some(4)));
    let (j1, _) = recorded_job(&p);
    assert_eq!(job_state(&urls[0], &j1).as_deref(), Some("RUNNING"));

    // HA failover: the leader dies; the standby takes over and the job runs on.
    let leader = [jm0, jm1]
        .into_iter()
        .find(|jm| docker_logs(jm).contains("was granted leadership"))
        .expect("one JobManager logged that it leads");
    let other_url = if leader == jm0 { &urls[1] } else { &urls[0] };
    let pid = docker(&["inspect", "-f", "{{.State.Pid}}", leader]);
    assert!(Command::new("kill").args(["-9", pid.trim()]).status().unwrap().success());
    eventually("the standby serving with both TaskManagers", Duration::from_secs(150), || {
        overview(other_url).filter(|o| *o == (2, 4))
    });
    eventually("the job running again after the failover", Duration::from_secs(120), || {
        (job_state(other_url, &j1).as_deref() == Some("RUNNING")).then_some(())
    });
    eventually("the dead JobManager back (restart policy)", Duration::from_secs(60), || {
        (docker(&["inspect", "-f", "{{.State.Running}}", leader]).trim() == "true").then_some(())
    });
    assert!(p.ok(&["plan"]).contains("No changes."));

    // A savepoint upgrade: parallelism 2 → 4, restored from the savepoint flinkform recorded.
    p.ok(&["apply", "--auto-approve", "-var", "parallelism=4"]);
    let (j2, savepoint) = recorded_job(&p);
    let savepoint = savepoint.expect("the savepoint is recorded");
    assert_ne!(j1, j2);
    let url = eventually("a JobManager answering", Duration::from_secs(30), || {
        urls.iter().find(|u| job_state(u, &j2).as_deref() == Some("RUNNING")).cloned()
    });
    let restored = get_json(&format!("{url}/jobs/{j2}/checkpoints"))["latest"]["restored"]["external_path"].clone();
    assert_eq!(restored.as_str(), Some(savepoint.as_str()), "Flink 1.20 restored the recorded savepoint");
    assert!(p.ok(&["plan", "-var", "parallelism=4"]).contains("No changes."));
}
