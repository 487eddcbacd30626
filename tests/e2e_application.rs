//! End to end: application clusters (Flink's application mode, the image's `standalone-job`)
//! from an image that holds the example job, built offline (examples/application/build.sh).
//! Upgraded to a new image through a savepoint and through its latest checkpoint (last-state),
//! suspended and resumed, and, with ZooKeeper HA, running on after its leading JobManager is
//! killed. Every claim is checked through Flink's REST API and Docker.

mod common;
use common::*;
use serde_json::Value;
use std::process::Command;
use std::time::Duration;

fn build_images() {
    for version in ["1", "2"] {
        let ok = Command::new("bash").args(["examples/application/build.sh", version]).status().unwrap();
        assert!(ok.success(), "examples/application/build.sh {version}");
    }
}

fn running(url: &str, jid: &str) -> bool {
    http_get(&format!("{url}/jobs/{jid}"))
        .and_then(|b| serde_json::from_str::<Value>(&b).ok())
        .is_some_and(|v| v["state"] == "RUNNING")
}

fn example(project: &str) -> String {
    std::fs::read_to_string("examples/application/main.hcl")
        .unwrap()
        .replace("project = \"application\"", &format!("project = \"{project}\""))
}

const APP: &str = "cluster.counter.application";

/// Runs flinkform in the project for `secs` seconds (a command that does not end by itself),
/// then stops it; what it printed.
fn for_a_while(p: &Project, args: &[&str], secs: u64) -> String {
    let mut child = Command::new(bin())
        .arg("--chdir")
        .arg(p.path())
        .args(args)
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(secs));
    child.kill().unwrap();
    String::from_utf8_lossy(&child.wait_with_output().unwrap().stdout).to_string()
}

/// `logs` (one container, a role, following) and `status` (once, and `--watch`), checked
/// against Docker's own log and Flink's REST API.
fn logs_and_status(p: &Project, url: &str, jid: &str) {
    let jm_log = p.ok(&["logs", "cluster.counter.jobmanager[0]", "--tail", "2000"]);
    assert!(jm_log.contains("StandaloneApplicationClusterEntryPoint"), "the JobManager's own log");
    let tms = p.ok(&["logs", "cluster.counter.taskmanager", "--tail", "5"]);
    for tm in ["fft-app-counter-taskmanager-0 | ", "fft-app-counter-taskmanager-1 | "] {
        assert!(tms.lines().any(|l| l.starts_with(tm)), "each line named by its container: {tms}");
    }
    assert!(tms.lines().all(|l| l.starts_with("fft-app-counter-taskmanager-")), "{tms}");
    let out = p.run(&["logs", "cluster.counter.nothing"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("no container is recorded at cluster.counter.nothing"), "{err}");
    assert!(err.contains("cluster.counter.jobmanager[0]"), "the fix lists what there is: {err}");
    let followed = for_a_while(p, &["logs", "-f", "--since", "1h", "cluster.counter.jobmanager[0]"], 3);
    assert!(followed.contains("StandaloneApplicationClusterEntryPoint"), "-f prints, then keeps following");

    let overview = get_json(&format!("{url}/overview"));
    let status: Value = serde_json::from_str(&p.ok(&["status", "--json"])).unwrap();
    let c = &status[0];
    assert_eq!(c["cluster"], "cluster.counter");
    assert_eq!(c["taskmanagers"], overview["taskmanagers"], "{status}");
    assert_eq!(c["slots_total"], overview["slots-total"], "{status}");
    assert_eq!(c["slots_available"], overview["slots-available"], "{status}");
    assert_eq!(c["taskmanagers_expected"].as_u64(), Some(2));
    let states: Vec<&str> = c["containers"].as_array().unwrap().iter().map(|k| k["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["running"; 3], "{status}");
    let job = &c["jobs"][0];
    assert_eq!(
        (job["address"].as_str(), job["jid"].as_str(), job["state"].as_str()),
        (Some(APP), Some(jid), Some("RUNNING"))
    );
    let human = p.ok(&["status"]);
    assert!(
        human.contains("Containers: jobmanager[0] running, taskmanager[0] running, taskmanager[1] running"),
        "{human}"
    );
    assert!(human.contains("TaskManagers: 2 registered (2 configured)"), "{human}");
    // `restarts` appears once Flink reports the job's numRestarts metric (not at once).
    assert!(human.contains(&format!("{APP}: RUNNING; ")) && human.contains("; checkpoints: "), "{human}");
    assert!(human.contains("; up "), "{human}");

    // --watch without a terminal: one JSON document a line, refreshed.
    let watched = for_a_while(p, &["status", "--watch", "--json", "--interval", "1s"], 4);
    let docs: Vec<Value> =
        watched.lines().map(|l| serde_json::from_str(l).expect("one JSON document a line")).collect();
    assert!(docs.len() >= 2, "refreshed: {watched}");
    assert!(docs.iter().all(|d| d[0]["jobs"][0]["jid"] == jid));
}

#[test]
fn an_application_upgrades_through_a_savepoint_and_its_last_checkpoint() {
    if !require_docker() {
        return;
    }
    build_images();
    let p = Project::new("fft-app", &example("fft-app"));
    let jm = "fft-app-counter-jobmanager-0";
    p.ok(&["apply", "--auto-approve"]);
    let url = p.rest_url(jm);
    let (j1, _, _) = recorded_job(&p, APP);
    assert!(running(&url, &j1), "the JobManager runs the application");
    let jobs = get_json(&format!("{url}/jobs/overview"));
    assert_eq!(jobs["jobs"].as_array().unwrap().len(), 1, "one application, one job: {jobs}");
    assert_eq!(jobs["jobs"][0]["name"], "stateful-counter");
    let cmd = docker(&["inspect", "-f", "{{json .Config.Cmd}}", jm]);
    assert!(cmd.contains(&format!("\"standalone-job\",\"--job-id\",\"{j1}\"")), "{cmd}");
    assert!(p.ok(&["plan"]).contains("No changes."));
    logs_and_status(&p, &url, &j1);
    let before =
        eventually("the counter to count", Duration::from_secs(90), || max_count(&url, &j1).filter(|c| *c >= 200));

    // A new image: stop with a savepoint, the new JobManager starts the application from it.
    let v2 = ["-var", "app_version=2"];
    let plan = p.ok(&[&["plan"][..], &v2].concat());
    assert!(plan.contains("# cluster.counter.application will be updated in-place"), "{plan}");
    assert!(plan.contains("suspended with a savepoint before, restored from it after"), "{plan}");
    assert!(plan.contains("image: flinkform-example/counter-app:1 → flinkform-example/counter-app:2"), "{plan}");
    p.ok(&[&["apply", "-auto-approve"][..], &v2].concat());
    let url = p.rest_url(jm);
    let (j2, savepoint, _) = recorded_job(&p, APP);
    let savepoint = savepoint.expect("the savepoint is recorded");
    assert_ne!(j1, j2, "a new start of the application is a new job");
    assert!(running(&url, &j2));
    assert_eq!(restored_from(&url, &j2).as_deref(), Some(savepoint.as_str()), "Flink restored the savepoint");
    assert_eq!(docker(&["inspect", "-f", "{{.Config.Image}}", jm]).trim(), "flinkform-example/counter-app:2");
    let after = eventually("the upgraded counter", Duration::from_secs(60), || max_count(&url, &j2).filter(|c| *c > 0));
    assert!(after >= before, "the count carried on ({before} before, {after} after)");
    assert!(p.ok(&[&["plan"][..], &v2].concat()).contains("No changes."));

    // last-state: back to version 1 from the latest retained checkpoint, no savepoint taken.
    let last = ["-var", "app_version=2", "-var", "upgrade_mode=last-state"];
    p.ok(&[&["apply", "-auto-approve"][..], &last].concat());
    let url = p.rest_url(jm);
    let (j3, _, _) = recorded_job(&p, APP);
    eventually("a retained checkpoint", Duration::from_secs(60), || {
        (get_json(&format!("{url}/jobs/{j3}/checkpoints"))["counts"]["completed"].as_u64() >= Some(2)).then_some(())
    });
    let back = ["-var", "app_version=1", "-var", "upgrade_mode=last-state"];
    let plan = p.ok(&[&["plan"][..], &back].concat());
    assert!(plan.contains("cancelled before and restored from its latest checkpoint after"), "{plan}");
    let out = p.ok(&[&["apply", "-auto-approve"][..], &back].concat());
    assert!(out.contains("Cancelling; it restarts from its latest checkpoint"), "{out}");
    let url = p.rest_url(jm);
    let (j4, checkpoint, _) = recorded_job(&p, APP);
    let checkpoint = checkpoint.expect("the checkpoint is recorded");
    assert!(checkpoint.contains("/chk-"), "a checkpoint, not a savepoint: {checkpoint}");
    assert!(running(&url, &j4));
    assert_eq!(restored_from(&url, &j4).as_deref(), Some(checkpoint.as_str()), "Flink restored the checkpoint");

    // Suspended: no JobManager, no TaskManager, the savepoint kept; resumed from it.
    let suspended = ["-var", "app_version=1", "-var", "upgrade_mode=last-state", "-var", "app_state=suspended"];
    let plan = p.ok(&[&["plan"][..], &suspended].concat());
    assert!(plan.contains("state: running → suspended (stop with a savepoint)"), "{plan}");
    assert!(plan.contains("Plan: 0 to add, 1 to change, 3 to destroy."), "{plan}");
    p.ok(&[&["apply", "-auto-approve"][..], &suspended].concat());
    let names: Vec<String> = p.containers().into_iter().map(|(n, _)| n).collect();
    assert!(names.is_empty(), "a suspended application runs nothing: {names:?}");
    let (_, suspended_at, st) = recorded_job(&p, APP);
    assert_eq!(st, "suspended");
    let suspended_at = suspended_at.expect("suspending records a savepoint");
    assert!(suspended_at.contains("savepoint-"), "{suspended_at}");
    p.ok(&[&["apply", "-auto-approve"][..], &back].concat());
    let url = p.rest_url(jm);
    let (j5, _, st) = recorded_job(&p, APP);
    assert_eq!(st, "running");
    assert!(running(&url, &j5));
    assert_eq!(restored_from(&url, &j5).as_deref(), Some(suspended_at.as_str()));
    assert!(p.ok(&[&["plan"][..], &back].concat()).contains("No changes."));
}

const HA: &str = r#"
flinkform {
  project = "PROJECT"
}

cluster "app" {
  image         = "flinkform-example/counter-app:1"
  flink_version = "2.3"
  flink_config = {
    "execution.checkpointing.interval" = "1s"
    "state.checkpoints.dir"            = "file:///flink-data/checkpoints"
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
    replicas = 1
    slots    = 2
    memory   = "1024m"
  }
  application {
    entry_class = "org.flinkform.examples.StatefulCounter"
    args        = ["20"]
    parallelism = 2
  }
}
"#;

#[test]
fn an_ha_application_runs_on_after_its_leading_jobmanager_is_killed() {
    if !require_docker() {
        return;
    }
    build_images();
    let p = Project::new("fft-happ", HA);
    let jms = ["fft-happ-app-jobmanager-0", "fft-happ-app-jobmanager-1"];
    p.ok(&["apply", "--auto-approve"]);
    let (jid, _, _) = recorded_job(&p, "cluster.app.application");
    for jm in jms {
        let cmd = docker(&["inspect", "-f", "{{json .Config.Cmd}}", jm]);
        assert!(cmd.contains(&format!("\"--job-id\",\"{jid}\"")), "both JobManagers run the same job: {cmd}");
    }
    let urls: Vec<String> = jms.iter().map(|jm| p.rest_url(jm)).collect();
    let answering = || urls.iter().find(|u| running(u, &jid)).cloned();
    let url = eventually("the application running", Duration::from_secs(60), answering);
    eventually("a completed checkpoint", Duration::from_secs(60), || {
        (get_json(&format!("{url}/jobs/{jid}/checkpoints"))["counts"]["completed"].as_u64() >= Some(2)).then_some(())
    });

    // The leader (the JobManager running the job) dies as a crash or the OOM killer kills it
    // (SIGKILL from the host; `docker kill` would count as stopped by hand, and Docker would
    // not restart it): the job runs on, the same job, restored from its latest checkpoint
    // through ZooKeeper; the dead JobManager comes back by itself.
    // A standby's REST API answers for the leader: the leader is the one that started the job.
    let started = format!("({jid}) switched from state CREATED to RUNNING");
    let leader = *jms.iter().find(|jm| docker_logs(jm).contains(&started)).expect("one JobManager started the job");
    let leader_id = p.container_id(leader).unwrap();
    let pid = docker(&["inspect", "-f", "{{.State.Pid}}", leader]);
    assert!(Command::new("kill").args(["-9", pid.trim()]).status().unwrap().success());
    let again = eventually("the application running again", Duration::from_secs(120), || {
        urls.iter().find(|u| running(u, &jid) && restored_from(u, &jid).is_some()).cloned()
    });
    let restored = restored_from(&again, &jid).unwrap();
    assert!(restored.contains("/chk-"), "recovered from a checkpoint: {restored}");
    eventually("the killed JobManager back", Duration::from_secs(60), || {
        (docker(&["inspect", "-f", "{{.State.Running}}", leader]).trim() == "true").then_some(())
    });
    assert_eq!(p.container_id(leader).unwrap(), leader_id, "restarted by Docker, not replaced");
    let plan = p.ok(&["plan"]);
    assert!(plan.contains("No changes."), "{plan}");
}
