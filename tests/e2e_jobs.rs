//! End to end: a stateful Flink job declared next to its cluster (issue 5). Submit, upgrade in
//! savepoint mode (restored from the savepoint flinkform recorded, the count carries on), a
//! job cancelled outside flinkform resubmitted from the last savepoint, suspend/resume, and
//! destroy leaving the final savepoint on the data volume. Checked through Flink's REST API.

mod common;
use common::*;
use serde_json::Value;
use std::process::Command;
use std::time::Duration;

const HCL: &str = r#"
flinkform {
  project = "PROJECT"
}

variable "parallelism" {
  type    = number
  default = 2
}

variable "job_state" {
  type    = string
  default = "running"
}

variable "jm_memory" {
  type    = string
  default = "1024m"
}

cluster "jobs" {
  image = "flinkform-offline/flink:2.3.0-java17"

  flink_config = {
    "metrics.fetcher.update-interval" = "1000"
  }

  jobmanager {
    memory = var.jm_memory
  }

  taskmanager {
    replicas = 2
    slots    = 2
    memory   = "1024m"
  }
}

job "counter" {
  cluster      = cluster.jobs.name
  jar          = "stateful-counter.jar"
  entry_class  = "org.flinkform.examples.StatefulCounter"
  args         = ["20"]
  parallelism  = var.parallelism
  upgrade_mode = "savepoint"
  state        = var.job_state
}
"#;

/// (job id, savepoint) of job.counter as the state records them.
fn recorded(p: &Project) -> (String, Option<String>, String) {
    let state: Value = serde_json::from_str(&std::fs::read_to_string(p.state_path()).unwrap()).unwrap();
    let job = state["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["address"] == "job.counter")
        .expect("job.counter in state")
        .clone();
    (
        job["id"].as_str().unwrap().to_string(),
        job["savepoint"].as_str().map(str::to_string),
        job["attributes"]["state"].as_str().unwrap().to_string(),
    )
}

fn parallelism(url: &str, jid: &str) -> u64 {
    get_json(&format!("{url}/jobs/{jid}"))["vertices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["parallelism"].as_u64().unwrap())
        .max()
        .unwrap()
}

/// A project `name` with the job example applied: (project, REST URL, job id).
fn submitted(name: &str) -> (Project, String, String) {
    let build = Command::new("bash").arg("examples/jobs/build.sh").status().unwrap();
    assert!(build.success(), "examples/jobs/build.sh compiles the job");
    let p = Project::new(name, HCL);
    std::fs::copy("examples/jobs/stateful-counter.jar", p.path().join("stateful-counter.jar")).unwrap();
    p.ok(&["apply", "--auto-approve"]);
    let url = p.rest_url(&format!("{name}-jobs-jobmanager-0"));
    let (jid, _, _) = recorded(&p);
    (p, url, jid)
}

#[test]
fn stateful_job_upgrades_through_savepoints() {
    if !require_docker() {
        return;
    }
    // Submit: RUNNING with the declared parallelism.
    let (p, url, j1) = submitted("fft-jobs");
    assert_eq!(get_json(&format!("{url}/jobs/{j1}"))["state"], "RUNNING");
    assert_eq!(parallelism(&url, &j1), 2);
    assert!(p.ok(&["plan"]).contains("No changes."));

    // Upgrade in savepoint mode: the plan says how; the new job restores from the recorded savepoint.
    let before =
        eventually("the counter to count", Duration::from_secs(90), || max_count(&url, &j1).filter(|c| *c >= 300));

    // `status` (issue 18): the cluster's health as Flink reports it, without a browser.
    let status: Value = serde_json::from_str(&p.ok(&["status", "--json"])).unwrap();
    let cluster = &status[0];
    assert_eq!(cluster["cluster"], "cluster.jobs", "{status}");
    assert_eq!((cluster["taskmanagers"].as_u64(), cluster["slots_total"].as_u64()), (Some(2), Some(4)), "{status}");
    assert_eq!(cluster["slots_available"].as_u64(), Some(2), "parallelism 2 of 4 slots: {status}");
    let job = &cluster["jobs"][0];
    assert_eq!((job["address"].as_str(), job["state"].as_str()), (Some("job.counter"), Some("RUNNING")), "{status}");
    assert_eq!(job["jid"].as_str(), Some(j1.as_str()));
    assert_eq!(job["restarts"].as_u64(), Some(0), "{status}");
    let human = p.ok(&["status"]);
    assert!(human.contains("TaskManagers: 2 registered (2 configured); slots: 2 of 4 free"), "{human}");
    assert!(
        human.contains("Containers: jobmanager[0] running, taskmanager[0] running, taskmanager[1] running"),
        "{human}"
    );
    assert_eq!(cluster["containers"][0]["state"], "running", "{status}");
    assert_eq!(cluster["taskmanagers_expected"].as_u64(), Some(2), "{status}");
    assert!(job["duration_ms"].as_u64().is_some_and(|d| d > 0), "{status}");
    assert!(human.contains("job.counter: RUNNING; restarts: 0; checkpoints:"), "{human}");

    let plan = p.ok(&["plan", "--var", "parallelism=4"]);
    assert!(plan.contains("# job.counter will be updated in-place"), "{plan}");
    assert!(plan.contains("parallelism: 2 → 4"), "{plan}");
    assert!(plan.contains("stop with savepoint → restart from it"), "{plan}");
    assert!(plan.contains("Plan: 0 to add, 1 to change, 0 to destroy."), "{plan}");
    let out = p.ok(&["apply", "--auto-approve", "--var", "parallelism=4"]);
    assert!(out.contains("Resources: 0 added, 1 changed, 0 destroyed."), "{out}");
    let (j2, savepoint, _) = recorded(&p);
    let savepoint = savepoint.expect("the savepoint is recorded");
    assert_ne!(j1, j2);
    assert_eq!(get_json(&format!("{url}/jobs/{j2}"))["state"], "RUNNING");
    assert_eq!(parallelism(&url, &j2), 4);
    assert_eq!(restored_from(&url, &j2).as_deref(), Some(savepoint.as_str()), "Flink restored the recorded savepoint");
    let after = eventually("the upgraded counter to report", Duration::from_secs(60), || {
        max_count(&url, &j2).filter(|c| *c > 0)
    });
    assert!(after >= before, "the count carried on across the upgrade ({before} before, {after} right after)");

    // Cancelled outside flinkform: the plan says so and apply resubmits from the last savepoint.
    http("PATCH", &format!("{url}/jobs/{j2}?mode=cancel")).expect("cancel accepted");
    eventually("the job to be cancelled", Duration::from_secs(60), || {
        (get_json(&format!("{url}/jobs/{j2}"))["state"] == "CANCELED").then_some(())
    });
    let plan = p.ok(&["plan", "--var", "parallelism=4"]);
    assert!(plan.contains("job.counter will be created"), "{plan}");
    assert!(plan.contains("job is CANCELED outside flinkform"), "{plan}");
    assert!(plan.contains(&format!("restored from the last savepoint {savepoint}")), "{plan}");
    p.ok(&["apply", "--auto-approve", "--var", "parallelism=4"]);
    let (j3, _, _) = recorded(&p);
    assert_eq!(get_json(&format!("{url}/jobs/{j3}"))["state"], "RUNNING");
    assert_eq!(restored_from(&url, &j3).as_deref(), Some(savepoint.as_str()));

    // Suspend (stop with a savepoint), then resume from it.
    let plan = p.ok(&["plan", "--var", "parallelism=4", "--var", "job_state=suspended"]);
    assert!(plan.contains("state: running → suspended (stop with a savepoint)"), "{plan}");
    p.ok(&["apply", "--auto-approve", "--var", "parallelism=4", "--var", "job_state=suspended"]);
    let (_, suspended_at, st) = recorded(&p);
    assert_eq!(st, "suspended");
    let suspended_at = suspended_at.expect("suspending records a savepoint");
    assert_ne!(suspended_at, savepoint);
    assert_ne!(job_state(&url, &j3).as_deref(), Some("RUNNING"));
    p.ok(&["apply", "--auto-approve", "--var", "parallelism=4"]);
    let (j4, _, st) = recorded(&p);
    assert_eq!(st, "running");
    assert_eq!(get_json(&format!("{url}/jobs/{j4}"))["state"], "RUNNING");
    assert_eq!(restored_from(&url, &j4).as_deref(), Some(suspended_at.as_str()));

    // Replacing the JobManager under the running job: suspended with a savepoint, restored after.
    let jm = ["--var", "parallelism=4", "--var", "jm_memory=1100m"];
    let plan = p.ok(&[&["plan"][..], &jm].concat());
    assert!(plan.contains("cluster.jobs.jobmanager[0] must be replaced"), "{plan}");
    assert!(
        plan.contains(
            "cluster.jobs.jobmanager[0] is replaced: suspended with a savepoint before, restored from it after"
        ),
        "{plan}"
    );
    let before =
        eventually("the counter to count", Duration::from_secs(60), || max_count(&url, &j4).filter(|c| *c > 0));
    p.ok(&[&["apply", "--auto-approve"][..], &jm].concat());
    let url = p.rest_url("fft-jobs-jobs-jobmanager-0");
    let (j5, restored, _) = recorded(&p);
    assert_eq!(get_json(&format!("{url}/jobs/{j5}"))["state"], "RUNNING");
    assert_eq!(restored_from(&url, &j5), restored, "the new JobManager runs the job from the savepoint taken before");
    let after =
        eventually("the counter to report", Duration::from_secs(60), || max_count(&url, &j5).filter(|c| *c > 0));
    assert!(after >= before, "the count carried on across the JobManager replacement ({before} → {after})");

    // Destroy: a final savepoint, its path printed, the file kept on the data volume.
    let out = p.ok(&[&["destroy", "--auto-approve"][..], &jm].concat());
    let final_path = out
        .lines()
        .find_map(|l| l.split_once("final savepoint: ").map(|(_, p)| p.trim().to_string()))
        .unwrap_or_else(|| panic!("destroy prints the final savepoint:\n{out}"));
    let in_volume = final_path.trim_start_matches("file:").replace("/flink-data/", "/data/");
    let ls = docker(&["run", "--rm", "-v", "fft-jobs-jobs-data:/data", "--entrypoint", "ls", FLINK_IMAGE, &in_volume]);
    assert!(ls.contains("_metadata"), "the final savepoint {final_path} is on the volume: {ls}");
    assert!(
        docker(&["ps", "-aq", "--filter", "label=io.flinkform.project=fft-jobs"]).trim().is_empty(),
        "no container remains"
    );
}

/// The latest completed savepoint of a job, as Flink reports it.
fn latest_savepoint(url: &str, jid: &str) -> Option<String> {
    get_json(&format!("{url}/jobs/{jid}/checkpoints"))["latest"]["savepoint"]["external_path"]
        .as_str()
        .map(str::to_string)
}

#[test]
fn a_stop_with_savepoint_cut_short_by_sigkill_is_recorded_and_restored_from() {
    use std::process::Stdio;
    if !require_docker() {
        return;
    }
    let (p, url, j1) = submitted("fft-jobkill");
    assert_eq!(recorded(&p).1, None, "no savepoint yet");
    eventually("the counter to count", Duration::from_secs(90), || max_count(&url, &j1).filter(|c| *c >= 100));

    // The upgrade's stop-with-savepoint is sent; flinkform is killed while Flink takes it.
    let mut child = Command::new(bin())
        .arg("--chdir")
        .arg(p.path())
        .args(["apply", "--auto-approve", "--var", "parallelism=4"])
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Killed once the stop is recorded as in flight (the request goes out right after that
    // write) and before flinkform, which asks for the savepoint's status every 500 ms, can
    // record its result.
    let asked = std::time::Instant::now();
    while !std::fs::read_to_string(p.state_path()).unwrap_or_default().contains("\"stop-job\"") {
        assert!(asked.elapsed() < Duration::from_secs(120), "the stop was never recorded as in flight");
        std::thread::sleep(Duration::from_millis(2));
    }
    std::thread::sleep(Duration::from_millis(100));
    child.kill().unwrap();
    let _ = child.wait();
    let state = std::fs::read_to_string(p.state_path()).unwrap();
    assert!(state.contains("\"stop-job\""), "the stop was recorded as in flight before it was sent:\n{state}");

    // Flink finishes the stop on its own; the savepoint it took is the one to restore from.
    eventually("the job to finish", Duration::from_secs(60), || {
        (get_json(&format!("{url}/jobs/{j1}"))["state"] == "FINISHED").then_some(())
    });
    // Flink serves checkpoint statistics from a short-lived cache.
    let taken = eventually("the stop's savepoint", Duration::from_secs(30), || latest_savepoint(&url, &j1));
    let plan = p.ok(&["plan", "--var", "parallelism=4"]);
    assert!(plan.contains("its stop with a savepoint was interrupted"), "{plan}");
    let out = p.ok(&["apply", "--auto-approve", "--var", "parallelism=4"]);
    assert!(out.contains(&format!("its interrupted stop completed with the savepoint {taken}")), "{out}");
    let (j2, recorded_savepoint, _) = recorded(&p);
    assert_eq!(recorded_savepoint.as_deref(), Some(taken.as_str()), "the interrupted stop's savepoint is recorded");
    assert_eq!(get_json(&format!("{url}/jobs/{j2}"))["state"], "RUNNING");
    assert_eq!(parallelism(&url, &j2), 4);
    assert_eq!(restored_from(&url, &j2).as_deref(), Some(taken.as_str()), "nothing the job counted is lost");
    assert!(p.ok(&["plan", "--var", "parallelism=4"]).contains("No changes."));
    p.ok(&["destroy", "--auto-approve", "--var", "parallelism=4"]);
}

/// Issue 15, item 9: the jar the plan hashed is the jar submitted. Swapped while apply creates
/// the cluster (before the job is uploaded), it is refused at upload: nothing runs on Flink,
/// the error says why, and a new plan submits the jar as it is now.
#[test]
fn a_jar_swapped_during_apply_is_not_submitted() {
    if !require_docker() {
        return;
    }
    let build = Command::new("bash").arg("examples/jobs/build.sh").status().unwrap();
    assert!(build.success(), "examples/jobs/build.sh compiles the job");
    let p = Project::new("fft-jarswap", HCL);
    let jar = p.path().join("stateful-counter.jar");
    std::fs::copy("examples/jobs/stateful-counter.jar", &jar).unwrap();
    let apply = Command::new(bin())
        .arg("--chdir")
        .arg(p.path())
        .args(["apply", "--auto-approve"])
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // As soon as the JobManager exists, the jar on disk is no longer the one planned.
    eventually("the JobManager to be created", Duration::from_secs(60), || {
        p.container_id("fft-jarswap-jobs-jobmanager-0")
    });
    let mut bytes = std::fs::read(&jar).unwrap();
    bytes.extend_from_slice(b"appended after planning");
    std::fs::write(&jar, bytes).unwrap();
    let out = apply.wait_with_output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("changed since it was planned") && text.contains("nothing was submitted"), "{text}");
    let url = p.rest_url("fft-jarswap-jobs-jobmanager-0");
    assert_eq!(get_json(&format!("{url}/jobs/overview"))["jobs"].as_array().map(Vec::len), Some(0), "no job runs");
    assert_eq!(get_json(&format!("{url}/jars"))["files"].as_array().map(Vec::len), Some(0), "no jar is left uploaded");
}
