//! P8: the downtime of a savepoint upgrade of the example job (issue 18's "P5"; P5 here is the
//! PostgreSQL state), for a session cluster's job and an application cluster.
//!
//! - flinkform: the wall time of `apply` that upgrades a running job through a savepoint (plan,
//!   stop with a savepoint, resubmit or restart the application, until every task runs): an
//!   upper bound of the time the job does not run.
//! - The floor, measured in the same run by the bench's own REST calls and docker commands on an
//!   idle cluster of its own: stop-with-savepoint of the same job until it has ended, plus, for
//!   the session job, uploading and running the jar from that savepoint until every task runs;
//!   for the application, `docker run` of a JobManager (`standalone-job --fromSavepoint`) and
//!   two TaskManagers from the same image and settings until every task runs.

use super::{Report, ff, run, stats};
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const ENTRY: &str = "org.flinkform.examples.StatefulCounter";
const RAW_LABEL: &str = "io.flinkform.bench=p8";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn sh(args: &[&str]) -> String {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

async fn get(http: &reqwest::Client, url: &str) -> Option<Value> {
    http.get(url).send().await.ok()?.json().await.ok()
}

/// A job of `/jobs/overview` runs: RUNNING, every task running or finished (a source subtask
/// with no split finishes at once: `fromSequence` at parallelism 3 has one).
fn runs(j: &Value) -> bool {
    let t = &j["tasks"];
    let (running, finished, total) = (t["running"].as_u64(), t["finished"].as_u64(), t["total"].as_u64());
    j["state"] == "RUNNING" && running.is_some_and(|r| r > 0) && running.zip(finished).map(|(r, f)| r + f) == total
}

/// Waits until some job runs every task; its id.
async fn until_running(http: &reqwest::Client, url: &str) -> String {
    let start = Instant::now();
    loop {
        if let Some(o) = get(http, &format!("{url}/jobs/overview")).await {
            for j in o["jobs"].as_array().into_iter().flatten() {
                if runs(j) {
                    return j["jid"].as_str().unwrap_or_default().to_string();
                }
            }
        }
        assert!(start.elapsed() < Duration::from_secs(180), "no job ran at {url}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Stop-with-savepoint until the job has ended; the savepoint's path.
async fn stop_with_savepoint(http: &reqwest::Client, url: &str, jid: &str) -> String {
    let body = serde_json::json!({ "targetDirectory": "file:///flink-data/savepoints", "drain": false });
    let r: Value = http.post(format!("{url}/jobs/{jid}/stop")).json(&body).send().await.unwrap().json().await.unwrap();
    let trigger = r["request-id"].as_str().unwrap().to_string();
    let path = loop {
        let v = get(http, &format!("{url}/jobs/{jid}/savepoints/{trigger}")).await.unwrap_or_default();
        if v["status"]["id"] == "COMPLETED" {
            break v["operation"]["location"].as_str().expect("a savepoint").to_string();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // The overview, which Flink answers afresh (`/jobs/<id>` is cached for up to 3 s).
    loop {
        let o = get(http, &format!("{url}/jobs/overview")).await.unwrap_or_default();
        let ended = o["jobs"].as_array().into_iter().flatten().any(|j| j["jid"] == jid && j["state"] != "RUNNING");
        if ended {
            return path;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Uploads the jar and runs it from `savepoint` (as flinkform submits: upload, run).
async fn submit(http: &reqwest::Client, url: &str, jar: &Path, savepoint: Option<&str>, parallelism: u32) {
    let part = reqwest::multipart::Part::bytes(std::fs::read(jar).unwrap()).file_name("stateful-counter.jar");
    let form = reqwest::multipart::Form::new().part("jarfile", part);
    let up: Value = http.post(format!("{url}/jars/upload")).multipart(form).send().await.unwrap().json().await.unwrap();
    let id = up["filename"].as_str().unwrap().rsplit('/').next().unwrap().to_string();
    let body = serde_json::json!({
        "entryClass": ENTRY, "programArgsList": ["20"], "parallelism": parallelism, "savepointPath": savepoint,
    });
    let r = http.post(format!("{url}/jars/{id}/run")).json(&body).send().await.unwrap();
    assert!(r.status().is_success(), "run: {}", r.text().await.unwrap_or_default());
}

/// While an upgrade runs: from the moment the running job leaves RUNNING to the moment another
/// job runs every task (polled every 50 ms), the time no job ran.
async fn downtime(http: reqwest::Client, url: String) -> Duration {
    let running = |o: &Value| -> Option<String> {
        o["jobs"].as_array()?.iter().find_map(|j| runs(j).then(|| j["jid"].as_str().unwrap_or_default().to_string()))
    };
    let before = loop {
        if let Some(o) = get(&http, &format!("{url}/jobs/overview")).await
            && let Some(j) = running(&o)
        {
            break j;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let left = loop {
        let o = get(&http, &format!("{url}/jobs/overview")).await.unwrap_or_default();
        if running(&o).as_deref() != Some(before.as_str()) {
            break Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    loop {
        let o = get(&http, &format!("{url}/jobs/overview")).await.unwrap_or_default();
        if running(&o).is_some_and(|j| j != before) {
            return left.elapsed();
        }
        assert!(left.elapsed() < Duration::from_secs(180), "no job ran again");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn rest_url(container: &str) -> String {
    format!(
        "http://{}",
        sh(&["docker", "port", container, "8081/tcp"]).lines().next().unwrap().replace("0.0.0.0", "127.0.0.1")
    )
}

fn project(example: &str, name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let hcl = std::fs::read_to_string(repo().join("examples").join(example).join("main.hcl")).unwrap();
    let hcl = hcl.replacen(&format!("project = \"{example}\""), &format!("project = \"{name}\""), 1);
    std::fs::write(dir.path().join("main.hcl"), hcl).unwrap();
    dir
}

/// The application started by hand: one JobManager from `savepoint` and two TaskManagers, the
/// settings flinkform gives them, on the floor cluster's network and data volume.
fn raw_application(image: &str, network: &str, volume: &str, savepoint: &str) -> Vec<String> {
    let jm = "ffbenchp8raw-jobmanager";
    let common = "execution.checkpointing.interval: 2s\nstate.checkpoints.dir: file:///flink-data/checkpoints\nstate.savepoints.dir: file:///flink-data/savepoints\n";
    let jm_props = format!(
        "{common}jobmanager.rpc.address: {jm}\njobmanager.memory.process.size: 1024m\nparallelism.default: 2\nrest.port: 8081\n"
    );
    let mut ids = vec![sh(&[
        "docker",
        "run",
        "-d",
        "--name",
        jm,
        "--hostname",
        jm,
        "--label",
        RAW_LABEL,
        "--network",
        network,
        "-v",
        &format!("{volume}:/flink-data"),
        "-p",
        "127.0.0.1::8081",
        "-m",
        "1024m",
        "-e",
        &format!("FLINK_PROPERTIES={jm_props}"),
        "-e",
        &format!("JOB_MANAGER_RPC_ADDRESS={jm}"),
        image,
        "standalone-job",
        "--fromSavepoint",
        savepoint,
        "--job-classname",
        ENTRY,
        "20",
    ])];
    for i in 0..2 {
        let tm = format!("ffbenchp8raw-taskmanager-{i}");
        let props = format!(
            "{common}jobmanager.rpc.address: {jm}\ntaskmanager.memory.process.size: 1024m\ntaskmanager.numberOfTaskSlots: 2\ntaskmanager.resource-id: {tm}\ncluster.registration.error-delay: 500\n"
        );
        ids.push(sh(&[
            "docker",
            "run",
            "-d",
            "--name",
            &tm,
            "--hostname",
            &tm,
            "--label",
            RAW_LABEL,
            "--network",
            network,
            "-v",
            &format!("{volume}:/flink-data"),
            "-m",
            "1024m",
            "-e",
            &format!("FLINK_PROPERTIES={props}"),
            "-e",
            &format!("JOB_MANAGER_RPC_ADDRESS={jm}"),
            image,
            "taskmanager",
        ]));
    }
    ids
}

fn remove_raw() {
    let ids = sh(&["docker", "ps", "-aq", "--filter", &format!("label={RAW_LABEL}")]);
    for id in ids.lines() {
        let _ = Command::new("docker").args(["rm", "-f", "-v", id]).output();
    }
}

pub async fn p8(report: &mut Report, reps: usize) {
    for (script, arg) in [
        ("examples/jobs/build.sh", None),
        ("examples/application/build.sh", Some("1")),
        ("examples/application/build.sh", Some("2")),
    ] {
        let mut c = Command::new("bash");
        c.arg(repo().join(script)).args(arg);
        assert!(c.status().unwrap().success(), "{script}");
    }
    let jar = repo().join("examples/jobs/stateful-counter.jar");
    // reqwest is built without a default TLS provider (flinkform installs its own).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    remove_raw();

    // The floor's own idle cluster: the jobs example without its job, driven by REST.
    let floor = project("jobs", "ffbenchp8floor");
    let hcl = std::fs::read_to_string(floor.path().join("main.hcl")).unwrap();
    let hcl = hcl[..hcl.find("job \"counter\"").unwrap()].to_string();
    std::fs::write(floor.path().join("main.hcl"), hcl).unwrap();
    run(&mut ff(floor.path(), &["apply", "--auto-approve"]));
    let floor_url = rest_url("ffbenchp8floor-jobs-jobmanager-0");
    submit(&http, &floor_url, &jar, None, 2).await;
    let mut floor_jid = until_running(&http, &floor_url).await;

    // flinkform's session job and application cluster.
    let session = project("jobs", "ffbenchp8");
    std::fs::copy(&jar, session.path().join("stateful-counter.jar")).unwrap();
    run(&mut ff(session.path(), &["apply", "--auto-approve"]));
    let session_url = rest_url("ffbenchp8-jobs-jobmanager-0");
    let app = project("application", "ffbenchp8app");
    run(&mut ff(app.path(), &["apply", "--auto-approve"]));

    let (mut ff_session, mut ff_app, mut stops, mut submits, mut starts) = (vec![], vec![], vec![], vec![], vec![]);
    let mut downs = vec![];
    for rep in 0..=reps {
        // Let each job run (and checkpoint) a little, as a job being upgraded does.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let parallelism = if rep % 2 == 0 { "parallelism=3" } else { "parallelism=2" };
        let watch = tokio::spawn(downtime(http.clone(), session_url.clone()));
        let s = run(&mut ff(session.path(), &["apply", "--auto-approve", "-var", parallelism]));
        let down = watch.await.unwrap();
        let version = if rep % 2 == 0 { "app_version=2" } else { "app_version=1" };
        let a = run(&mut ff(app.path(), &["apply", "--auto-approve", "-var", version]));

        let t = Instant::now();
        let savepoint = stop_with_savepoint(&http, &floor_url, &floor_jid).await;
        let stop = t.elapsed();
        let t = Instant::now();
        // The same parallelism as flinkform's job gets in this round.
        submit(&http, &floor_url, &jar, Some(&savepoint), if rep % 2 == 0 { 3 } else { 2 }).await;
        floor_jid = until_running(&http, &floor_url).await;
        let resubmit = t.elapsed();
        // The application by hand, from the same savepoint, on the floor cluster's network and volume.
        let image = if rep % 2 == 0 { "flinkform-example/counter-app:2" } else { "flinkform-example/counter-app:1" };
        let t = Instant::now();
        raw_application(image, "ffbenchp8floor-jobs", "ffbenchp8floor-jobs-data", &savepoint);
        until_running(&http, &rest_url("ffbenchp8raw-jobmanager")).await;
        let start = t.elapsed();
        remove_raw();
        if rep > 0 {
            downs.push(down);
            ff_session.push(s);
            ff_app.push(a);
            stops.push(stop);
            submits.push(resubmit);
            starts.push(start);
        }
    }
    let session_floor: Vec<Duration> = stops.iter().zip(&submits).map(|(a, b)| *a + *b).collect();
    let app_floor: Vec<Duration> = stops.iter().zip(&starts).map(|(a, b)| *a + *b).collect();
    let (s, sf, a, af) = (stats(ff_session), stats(session_floor), stats(ff_app), stats(app_floor));
    let d = stats(downs);
    report.row(
        "P8 savepoint upgrade",
        "session job: downtime under flinkform apply (old job left RUNNING → new job's every task RUNNING)",
        &d,
        &format!("{:.2}x the floor (target: within 1.2x)", d.median / sf.median),
    );
    report.row(
        "P8 savepoint upgrade",
        "session job: flinkform apply, wall time (parallelism 2 ↔ 3)",
        &s,
        "the job runs on while its savepoint is taken",
    );
    report.row(
        "P8 savepoint upgrade",
        "session floor: stop-with-savepoint + upload and run until every task runs",
        &sf,
        "",
    );
    report.row(
        "P8 savepoint upgrade",
        "application: flinkform apply (image 1 ↔ 2)",
        &a,
        &format!("{:.2}x the floor (target: within 1.2x)", a.median / af.median),
    );
    report.row(
        "P8 savepoint upgrade",
        "application floor: stop-with-savepoint + docker run of JobManager and 2 TaskManagers until every task runs",
        &af,
        "",
    );
    report.row("P8 savepoint upgrade", "floor part: stop-with-savepoint until the job ended", &stats(stops), "");
    for dir in [session.path(), app.path(), floor.path()] {
        let _ = Command::new(super::flinkform()).arg("--chdir").arg(dir).args(["destroy", "--auto-approve"]).output();
    }
    // Destroy keeps a data volume that received a final savepoint: these are the bench's own.
    for volume in ["ffbenchp8-jobs-data", "ffbenchp8app-counter-data", "ffbenchp8floor-jobs-data"] {
        let _ = Command::new("docker").args(["volume", "rm", volume]).output();
    }
}
