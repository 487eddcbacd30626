//! End to end (issue 18): the two ways of running the example job that the other tests do not
//! run. An application cluster on the plain Flink image whose jar is a local file mounted into
//! its containers (not baked into an image): it runs, a rebuilt jar plans the JobManager's
//! restart through a savepoint, and the new job restores from it. A session job in
//! `upgrade_mode = "last-state"`: an upgrade cancels it and restarts it from its latest retained
//! checkpoint (no savepoint taken), the count carrying on; and `status --watch` refreshing, piped
//! and on a terminal. Checked through Flink's REST API.

mod common;
use common::*;
use serde_json::Value;
use std::process::Command;
use std::time::Duration;

fn build_jar() {
    let build = Command::new("bash").arg("examples/jobs/build.sh").status().unwrap();
    assert!(build.success(), "examples/jobs/build.sh compiles the job");
}

fn running(url: &str, jid: &str) -> bool {
    job_state(url, jid).as_deref() == Some("RUNNING")
}

const APPLICATION: &str = r#"
flinkform {
  project = "PROJECT"
}

cluster "mounted" {
  image = "flinkform-offline/flink:2.3.0-java17"

  flink_config = {
    "execution.checkpointing.interval" = "2s"
    "state.checkpoints.dir"            = "file:///flink-data/checkpoints"
    "state.savepoints.dir"             = "file:///flink-data/savepoints"
    "metrics.fetcher.update-interval"  = "1000"
  }

  jobmanager {
    memory = "1024m"
  }

  taskmanager {
    replicas = 1
    slots    = 2
    memory   = "1024m"
  }

  application {
    jar         = "counter.jar"
    entry_class = "org.flinkform.examples.StatefulCounter"
    args        = ["20"]
    parallelism = 2
  }
}
"#;

#[test]
fn an_application_from_a_mounted_jar_runs_and_restarts_from_a_savepoint_when_the_jar_changes() {
    if !require_docker() {
        return;
    }
    build_jar();
    let p = Project::new("fft-mounted", APPLICATION);
    let jar = p.path().join("counter.jar");
    std::fs::copy("examples/jobs/stateful-counter.jar", &jar).unwrap();
    let jm = "fft-mounted-mounted-jobmanager-0";
    p.ok(&["apply", "--auto-approve"]);
    let url = p.rest_url(jm);
    let (j1, _, _) = recorded_job(&p, "cluster.mounted.application");
    assert!(running(&url, &j1), "the JobManager runs the application from the mounted jar");
    let jobs = get_json(&format!("{url}/jobs/overview"));
    assert_eq!(jobs["jobs"][0]["name"], "stateful-counter", "{jobs}");
    // The jar is bind-mounted read-only into the image's usrlib, where standalone-job looks.
    let mounts = docker(&["inspect", "-f", "{{json .Mounts}}", jm]);
    assert!(mounts.contains("/opt/flink/usrlib/"), "{mounts}");
    assert!(mounts.contains(&jar.canonicalize().unwrap().display().to_string()), "{mounts}");
    assert!(p.ok(&["plan"]).contains("No changes."));
    let before =
        eventually("the counter to count", Duration::from_secs(90), || max_count(&url, &j1).filter(|c| *c >= 100));

    // A rebuilt jar (other bytes) is a new application: stopped with a savepoint, restarted from it.
    let mut bytes = std::fs::read(&jar).unwrap();
    add_zip_comment(&mut bytes, b"rebuilt");
    std::fs::write(&jar, &bytes).unwrap();
    let plan = p.ok(&["plan"]);
    assert!(plan.contains("# cluster.mounted.application will be updated in-place"), "{plan}");
    assert!(plan.contains("jar_sha256"), "{plan}");
    assert!(plan.contains("stop with savepoint → restart from it"), "{plan}");
    assert!(plan.contains("# cluster.mounted.jobmanager[0] must be replaced"), "{plan}");
    p.ok(&["apply", "-auto-approve"]);
    let url = p.rest_url(jm);
    let (j2, savepoint, _) = recorded_job(&p, "cluster.mounted.application");
    let savepoint = savepoint.expect("the savepoint is recorded");
    assert_ne!(j1, j2);
    eventually("the restarted application", Duration::from_secs(90), || running(&url, &j2).then_some(()));
    assert_eq!(restored_from(&url, &j2).as_deref(), Some(savepoint.as_str()), "Flink restored the savepoint");
    // A restored job reports 0 until its first record is counted: its first count is what it carried on from.
    let after =
        eventually("the counter to count on", Duration::from_secs(60), || max_count(&url, &j2).filter(|c| *c > 0));
    assert!(after >= before, "the count carried on ({before} before, {after} after)");
    assert!(p.ok(&["plan"]).contains("No changes."));
}

/// Gives a zip (a jar) a comment in its end-of-central-directory record: the jar still opens,
/// its bytes differ, as a rebuilt jar's do.
fn add_zip_comment(bytes: &mut Vec<u8>, comment: &[u8]) {
    // A zip without a comment ends with its 22-byte end record, whose last two bytes are the
    // comment's length.
    let n = bytes.len();
    assert_eq!(&bytes[n - 22..n - 18], b"PK\x05\x06", "a jar without a comment");
    bytes[n - 2..].copy_from_slice(&(comment.len() as u16).to_le_bytes());
    bytes.extend_from_slice(comment);
}

const SESSION: &str = r#"
flinkform {
  project = "PROJECT"
}

variable "parallelism" {
  type    = number
  default = 2
}

cluster "jobs" {
  image = "flinkform-offline/flink:2.3.0-java17"

  flink_config = {
    "execution.checkpointing.interval" = "2s"
    "state.checkpoints.dir"            = "file:///flink-data/checkpoints"
    "state.savepoints.dir"             = "file:///flink-data/savepoints"
    "metrics.fetcher.update-interval"  = "1000"
  }

  jobmanager {
    memory = "1024m"
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
  upgrade_mode = "last-state"
}
"#;

#[test]
fn a_session_job_in_last_state_mode_restarts_from_its_latest_checkpoint() {
    if !require_docker() {
        return;
    }
    build_jar();
    let p = Project::new("fft-laststate", SESSION);
    std::fs::copy("examples/jobs/stateful-counter.jar", p.path().join("stateful-counter.jar")).unwrap();
    p.ok(&["apply", "--auto-approve"]);
    let url = p.rest_url("fft-laststate-jobs-jobmanager-0");
    let (j1, _, _) = recorded_job(&p, "job.counter");
    eventually("the job to run", Duration::from_secs(90), || running(&url, &j1).then_some(()));
    // Retained on cancellation, as last-state needs.
    let config = get_json(&format!("{url}/jobs/{j1}/checkpoints/config"));
    assert_eq!(config["externalization"]["enabled"], true, "{config}");
    assert_eq!(config["externalization"]["delete_on_cancellation"], false, "{config}");
    eventually("two completed checkpoints", Duration::from_secs(60), || {
        (get_json(&format!("{url}/jobs/{j1}/checkpoints"))["counts"]["completed"].as_u64() >= Some(2)).then_some(())
    });
    let before =
        eventually("the counter to count", Duration::from_secs(90), || max_count(&url, &j1).filter(|c| *c >= 100));

    watch_status(&p);

    let up = ["-var", "parallelism=3"];
    let plan = p.ok(&[&["plan"][..], &up].concat());
    assert!(plan.contains("cancel → restart from its latest checkpoint (upgrade_mode = \"last-state\")"), "{plan}");
    let out = p.ok(&[&["apply", "-auto-approve"][..], &up].concat());
    assert!(out.contains("Cancelling; it restarts from its latest checkpoint"), "{out}");
    assert!(!out.contains("Stopping with a savepoint"), "no savepoint is taken: {out}");
    let (j2, checkpoint, _) = recorded_job(&p, "job.counter");
    let checkpoint = checkpoint.expect("the checkpoint is recorded");
    assert!(checkpoint.contains("/chk-"), "a checkpoint, not a savepoint: {checkpoint}");
    assert_ne!(j1, j2);
    eventually("the upgraded job to run", Duration::from_secs(90), || running(&url, &j2).then_some(()));
    assert_eq!(restored_from(&url, &j2).as_deref(), Some(checkpoint.as_str()), "Flink restored the checkpoint");
    assert_eq!(job_state(&url, &j1).as_deref(), Some("CANCELED"), "the old job was cancelled");
    // A restored job reports 0 until its first record is counted: its first count is what it carried on from.
    let after =
        eventually("the counter to count on", Duration::from_secs(60), || max_count(&url, &j2).filter(|c| *c > 0));
    assert!(after >= before, "the count carried on ({before} before, {after} after)");
    assert!(p.ok(&[&["plan"][..], &up].concat()).contains("No changes."));
}

/// `status --watch` (issue 18): piped, one JSON document a line each refresh, and Ctrl-C ends it
/// with success; on a terminal (a pseudo-terminal, as `script` makes one) the screen is redrawn
/// in place, each refresh from the top of a cleared screen.
fn watch_status(p: &Project) {
    let dir = p.path().to_str().unwrap();
    let piped = Command::new(bin())
        .args(["--chdir", dir, "status", "--watch", "--json", "--interval", "1s"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(3500));
    Command::new("kill").args(["-INT", &piped.id().to_string()]).status().unwrap();
    let out = piped.wait_with_output().unwrap();
    assert!(out.status.success(), "Ctrl-C ends --watch with success: {:?}", out.status);
    let lines: Vec<Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(lines.len() >= 2, "a document per refresh: {lines:?}");
    assert!(lines.iter().all(|l| l[0]["taskmanagers"] == 2), "{lines:?}");

    // Ctrl-C (SIGINT) from `timeout` after three refreshes, inside the terminal.
    let command =
        format!("timeout --preserve-status -s INT 3.5 {} --chdir {dir} status --watch --interval 1s", bin().display());
    let terminal = Command::new("script").args(["-qfec", &command, "/dev/null"]).output().unwrap();
    assert!(terminal.status.success(), "Ctrl-C ends --watch with success: {:?}", terminal.status);
    let out = String::from_utf8_lossy(&terminal.stdout).to_string();
    let redraws = out.matches("\x1b[H\x1b[2JEvery 1s (Ctrl-C to stop)").count();
    assert!(redraws >= 2, "redrawn in place each refresh ({redraws}): {out:?}");
    assert!(out.contains("TaskManagers: 2 registered (2 configured)"), "{out:?}");
}
