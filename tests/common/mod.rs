//! Helpers for tests that drive the real `flinkform` binary against the real Docker engine.
//! Assertions go through the `docker` CLI and Flink's REST API, never flinkform's own claims.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

pub const FLINK_IMAGE: &str = "flinkform-offline/flink:2.3.0-java17";
pub const ZK_IMAGE: &str = "flinkform-offline/zookeeper:3.8";

/// Fails (never skips) when Docker or the offline images are missing, unless the explicit
/// opt-out FLINKFORM_SKIP_DOCKER_TESTS=1 is set (never in CI). Returns false when opted out.
pub fn require_docker() -> bool {
    if std::env::var("FLINKFORM_SKIP_DOCKER_TESTS").as_deref() == Ok("1") {
        eprintln!("FLINKFORM_SKIP_DOCKER_TESTS=1: skipping a Docker test on request");
        return false;
    }
    let info =
        Command::new("docker").arg("info").output().expect("the docker CLI must be installed for end-to-end tests");
    assert!(
        info.status.success(),
        "Docker is unreachable; end-to-end tests need a running engine:\n{}",
        String::from_utf8_lossy(&info.stderr)
    );
    for image in [FLINK_IMAGE, ZK_IMAGE] {
        let ok = Command::new("docker").args(["image", "inspect", image]).output().unwrap().status.success();
        assert!(ok, "image {image} is missing: run images/build.sh first");
    }
    true
}

/// A project directory for one test; its Docker objects are removed on drop, also on failure.
pub struct Project {
    pub name: String,
    pub dir: tempfile::TempDir,
    /// Environment for every flinkform run of this project (also the cleanup destroy).
    pub env: Vec<(String, String)>,
}

impl Project {
    pub fn new(name: &str, hcl: &str) -> Project {
        let p = Project { name: name.to_string(), dir: tempfile::tempdir().unwrap(), env: Vec::new() };
        p.remove_labelled();
        p.write("main.hcl", &hcl.replace("PROJECT", name));
        p
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, file: &str, text: &str) {
        std::fs::write(self.dir.path().join(file), text).unwrap();
    }

    pub fn state_path(&self) -> PathBuf {
        self.dir.path().join("flinkform.state.json")
    }

    pub fn run(&self, args: &[&str]) -> Output {
        let env: Vec<(&str, &str)> = self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        run_in(self.dir.path(), args, &env)
    }

    /// Runs and asserts success, returning stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "flinkform {args:?} failed ({:?})\nstdout:\n{stdout}\nstderr:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    /// Ids of containers carrying this project's label, by name.
    pub fn containers(&self) -> Vec<(String, String)> {
        let out = docker(&[
            "ps",
            "-a",
            "--filter",
            &format!("label=io.flinkform.project={}", self.name),
            "--format",
            "{{.Names}} {{.ID}}",
        ]);
        let mut v: Vec<(String, String)> =
            out.lines().filter_map(|l| l.split_once(' ')).map(|(n, i)| (n.to_string(), i.to_string())).collect();
        v.sort();
        v
    }

    pub fn container_id(&self, name: &str) -> Option<String> {
        self.containers().into_iter().find(|(n, _)| n == name).map(|(_, id)| id)
    }

    pub fn labelled(&self) -> Vec<String> {
        let f = format!("label=io.flinkform.project={}", self.name);
        let mut all = Vec::new();
        all.extend(services(&f).into_iter().map(|l| format!("service {l}")));
        all.extend(docker(&["ps", "-aq", "--filter", &f]).lines().map(|l| format!("container {l}")));
        all.extend(docker(&["network", "ls", "-q", "--filter", &f]).lines().map(|l| format!("network {l}")));
        all.extend(docker(&["volume", "ls", "-q", "--filter", &f]).lines().map(|l| format!("volume {l}")));
        all
    }

    /// Removes what carries this project's label (only ours, by label).
    pub fn remove_labelled(&self) {
        let f = format!("label=io.flinkform.project={}", self.name);
        let services = services(&f);
        for id in &services {
            docker(&["service", "rm", id]);
        }
        if !services.is_empty() {
            // A removed service's tasks stop after it; its network is free once they are gone.
            let task_of = |id: &String| format!("label=com.docker.swarm.service.id={id}");
            eventually("the services' tasks to stop", Duration::from_secs(60), || {
                services
                    .iter()
                    .all(|id| docker(&["ps", "-aq", "--filter", &task_of(id)]).trim().is_empty())
                    .then_some(())
            });
        }
        for id in docker(&["ps", "-aq", "--filter", &f]).lines() {
            docker(&["rm", "-f", "-v", id]);
        }
        for id in docker(&["secret", "ls", "-q", "--filter", &f]).lines() {
            docker(&["secret", "rm", id]);
        }
        for id in docker(&["network", "ls", "-q", "--filter", &f]).lines() {
            docker(&["network", "rm", id]);
        }
        for id in docker(&["volume", "ls", "-q", "--filter", &f]).lines() {
            docker(&["volume", "rm", "-f", id]);
        }
    }

    /// The host port Docker published for the container's 8081.
    pub fn rest_url(&self, container: &str) -> String {
        let out = docker(&["port", container, "8081/tcp"]);
        let addr =
            out.lines().next().unwrap_or_else(|| panic!("{container} publishes no REST port")).trim().to_string();
        format!("http://{}", addr.replace("0.0.0.0", "127.0.0.1"))
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = self.run(&["destroy", "--auto-approve"]);
        self.remove_labelled();
    }
}

/// Swarm services matching `filter` (none when the engine is in no swarm).
pub fn services(filter: &str) -> Vec<String> {
    let out = Command::new("docker").args(["service", "ls", "-q", "--filter", filter]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect()
}

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_flinkform"))
}

pub fn run_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(bin());
    cmd.arg("--chdir").arg(dir).args(args).env("NO_COLOR", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// Runs flinkform in `dir` with `input` on its stdin (`console`).
pub fn run_with_input(dir: &Path, args: &[&str], input: &str) -> Output {
    use std::process::Stdio;
    let mut child = Command::new(bin())
        .arg("--chdir")
        .arg(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

pub fn docker(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().unwrap();
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// Everything a container logged (stdout and stderr).
pub fn docker_logs(name: &str) -> String {
    let out = Command::new("docker").args(["logs", name]).output().unwrap();
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// A plain HTTP GET (the tests' own client, independent of flinkform's).
pub fn http_get(url: &str) -> Option<String> {
    http("GET", url)
}

/// A plain HTTP request without a body; the body of a 2xx answer.
pub fn http(method: &str, url: &str) -> Option<String> {
    let rest = url.strip_prefix("http://")?;
    let (hostport, path) = rest.split_once('/').map(|(h, p)| (h, format!("/{p}"))).unwrap_or((rest, "/".into()));
    let mut s = std::net::TcpStream::connect(hostport).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "{method} {path} HTTP/1.0\r\nHost: {hostport}\r\nContent-Length: 0\r\n\r\n").ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    let (head, body) = buf.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?;
    status.starts_with('2').then(|| body.to_string())
}

/// Flink's `/overview`: (taskmanagers, slots-total).
pub fn overview(url: &str) -> Option<(u64, u64)> {
    let body = http_get(&format!("{url}/overview"))?;
    let v: serde_json::Value = serde_json::from_str(&body).ok()?;
    Some((v["taskmanagers"].as_u64()?, v["slots-total"].as_u64()?))
}

/// Polls until `f` returns Some, or panics after `timeout` naming `what`.
pub fn eventually<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < timeout, "timed out after {timeout:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// A PostgreSQL server for one test, stopped on drop.
pub struct Postgres {
    pub dir: tempfile::TempDir,
    /// A libpq connection string (Unix socket, trust authentication).
    pub conn: String,
}

impl Postgres {
    /// Starts a throwaway server (scripts/postgres.sh); the test FAILS when it cannot.
    pub fn start() -> Postgres {
        let dir = tempfile::Builder::new().prefix("ffpg").tempdir().unwrap();
        let out = std::process::Command::new("bash")
            .arg("scripts/postgres.sh")
            .arg("start")
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "PostgreSQL must start for this test: {}", String::from_utf8_lossy(&out.stderr));
        let conn = String::from_utf8_lossy(&out.stdout).trim().to_string();
        Postgres { dir, conn }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = std::process::Command::new("bash").arg("scripts/postgres.sh").arg("stop").arg(self.dir.path()).status();
    }
}

/// A GET whose body is JSON; panics naming the URL when it fails.
pub fn get_json(url: &str) -> serde_json::Value {
    serde_json::from_str(&http_get(url).unwrap_or_else(|| panic!("GET {url} failed"))).unwrap()
}

/// The largest per-key count the example job reports through its `maxCount` metric.
pub fn max_count(url: &str, jid: &str) -> Option<u64> {
    let job: serde_json::Value = serde_json::from_str(&http_get(&format!("{url}/jobs/{jid}"))?).ok()?;
    let vid = job["vertices"]
        .as_array()?
        .iter()
        .find(|v| v["name"].as_str().is_some_and(|n| n.contains("count-per-key")))?["id"]
        .as_str()?
        .to_string();
    let m = get_json(&format!("{url}/jobs/{jid}/vertices/{vid}/subtasks/metrics?get=count-per-key.maxCount&agg=max"));
    m.as_array()?.first()?["max"].as_f64().map(|v| v as u64)
}

/// (id, savepoint or checkpoint, state) of the job at `address` as the project's state records them.
pub fn recorded_job(p: &Project, address: &str) -> (String, Option<String>, String) {
    let state: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p.state_path()).unwrap()).unwrap();
    let resources = state["resources"].as_array().unwrap();
    let r = resources.iter().find(|r| r["address"] == address).unwrap_or_else(|| panic!("{address} in state"));
    (
        r["id"].as_str().unwrap().to_string(),
        r["savepoint"].as_str().map(str::to_string),
        r["attributes"]["state"].as_str().unwrap_or_default().to_string(),
    )
}

/// A job's state from the jobs' overview, which Flink answers afresh (`/jobs/<id>` is served
/// from a cache refreshed every `web.refresh-interval`, 3 s).
pub fn job_state(url: &str, jid: &str) -> Option<String> {
    let jobs: serde_json::Value = serde_json::from_str(&http_get(&format!("{url}/jobs/overview"))?).ok()?;
    let job = jobs["jobs"].as_array()?.iter().find(|j| j["jid"] == jid)?.clone();
    job["state"].as_str().map(str::to_string)
}

/// The savepoint or checkpoint Flink restored job `jid` from, if any.
pub fn restored_from(url: &str, jid: &str) -> Option<String> {
    get_json(&format!("{url}/jobs/{jid}/checkpoints"))["latest"]["restored"]["external_path"]
        .as_str()
        .map(str::to_string)
}

/// Builds image `tag` from a Dockerfile's text alone (the classic builder: no registry needed
/// when every `FROM` is local).
pub fn build_image(tag: &str, dockerfile: &str) {
    let ctx = tempfile::tempdir().unwrap();
    std::fs::write(ctx.path().join("Dockerfile"), dockerfile).unwrap();
    let out = Command::new("docker")
        .args(["build", "-q", "-t", tag])
        .arg(ctx.path())
        .env("DOCKER_BUILDKIT", "0")
        .output()
        .unwrap();
    assert!(out.status.success(), "building {tag}: {}", String::from_utf8_lossy(&out.stderr));
}
