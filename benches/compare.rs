//! flinkform against docker-compose and the raw Docker API, on this machine's real engine
//! (issue 6). Run with `cargo bench --bench compare` (see BENCHMARKS.md); `-- --quick` uses small
//! sizes to check the program itself. Every competitor runs in the same process run, several
//! repetitions each; the report gives median, min, max and the ratios.
//!
//! - P1 no-op: `flinkform plan` / `apply` with N running containers vs `docker-compose up -d`
//!   on as many (its own) vs one filtered list call through the API (the floor).
//! - P2 cold apply of N light containers: flinkform vs parallel create+start through the API
//!   at the same parallelism vs docker-compose.
//! - P3 offline plan (`plan --refresh=false`, empty state) of 10,000 instances: time and peak memory.
//! - P4 the quickstart cluster to every TaskManager registered vs a lone JobManager serving REST.
//! - P5 no-op `plan` of 100 containers with the state in PostgreSQL (a throwaway server from
//!   scripts/postgres.sh) vs the same plan with the local state file.
//! - P6 on a swarm (`support/swarm.rs`): no-op `plan` of 100 services vs one service list and
//!   one task list through the API; cold apply of the quickstart vs `docker stack deploy`.
//! - P7 no-op `plan` of 1,000 containers checked against the example policies
//!   (`--policy examples/policies`) vs the same plan without policies.
//! - P8 the downtime of a savepoint upgrade, session job and application cluster, vs the same
//!   steps by hand (`support/upgrade.rs`).
//!
//! Only objects this program creates are removed: by its labels, its compose project, or by
//! the flinkform projects it applies.

#[path = "support/swarm.rs"]
mod swarm;
#[path = "support/upgrade.rs"]
mod upgrade;

use bollard::Docker;
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListContainersOptionsBuilder, RemoveContainerOptionsBuilder, StatsOptionsBuilder,
};
use futures_util::StreamExt;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const IMAGE: &str = "flinkform-offline/busybox:static";
/// Idle until stopped, and stopped at once: `wait` returns on the trapped TERM. (A `sleep 1` loop
/// made a thousand containers fork a thousand times a second, load that drowned P1's floor.)
const CMD: &str = "trap 'exit 0' TERM; sleep 2147483647 & wait";
const RAW_LABEL: &str = "io.flinkform.bench";
/// Operations in flight for flinkform and the raw API: the engine's limit on this machine, where
/// a sweep of flinkform cold applies of 100 light containers levelled off (11.1 s at 4, 10.5 s at
/// 10, 10.1 s at 20, 10.2 s at 40).
const PARALLELISM: usize = 20;
/// Repetitions of the no-op cases, which take milliseconds: enough for a stable median.
const P1_REPS: usize = 15;

fn flinkform() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_flinkform"))
}

fn run(cmd: &mut Command) -> Duration {
    let start = Instant::now();
    let out = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).output().expect("runs");
    let took = start.elapsed();
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

fn ff(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(flinkform());
    c.arg("--chdir").arg(dir).args(args).env("NO_COLOR", "1");
    c
}

/// docker-compose (v1, Debian's) under a time limit. COMPOSE_PARALLEL_LIMIT is raised above
/// any service count on purpose: compose 1.29 runs a service's container operations inside the
/// parallel operation for the service, both under one limit (64 by default), so with more
/// services than the limit every slot ends up held by a service waiting for a slot for its
/// container, and `up` hangs for good (seen here at N=100 with the default and with 10). Above
/// the service count nothing waits on itself. A run that still hangs is reported, not waited
/// for forever.
const COMPOSE_LIMIT_S: u64 = 300;

fn compose(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new("timeout");
    c.arg(COMPOSE_LIMIT_S.to_string()).arg("docker-compose");
    c.arg("-p").arg("ffbenchcompose").args(args).current_dir(dir).env("COMPOSE_PARALLEL_LIMIT", "100000");
    c
}

/// Brings a compose project's services up a hundred at a time (the setup for its no-op, not a
/// measurement): one `up` of a thousand services does not finish within the limit here.
fn compose_up_in_batches(dir: &Path, n: usize) -> bool {
    let services: Vec<String> = (0..n).map(|i| format!("c{i}")).collect();
    services.chunks(100).all(|batch| {
        let mut args = vec!["up", "-d"];
        args.extend(batch.iter().map(String::as_str));
        try_run(&mut compose(dir, &args)).is_some()
    })
}

/// `docker-compose down`, then whatever of the bench's compose project is left (by its project
/// label) removed through the API.
async fn compose_down(docker: &Docker, dir: &Path) {
    try_run(&mut compose(dir, &["down", "-t", "1"]));
    remove_labelled(docker, "com.docker.compose.project=ffbenchcompose").await;
}

/// Like [`run`], but a failure (a stalled compose killed by its time limit) is None.
fn try_run(cmd: &mut Command) -> Option<Duration> {
    let start = Instant::now();
    let ok = cmd.stdout(Stdio::null()).stderr(Stdio::null()).status().map(|s| s.success()).unwrap_or(false);
    ok.then(|| start.elapsed())
}

fn stats_of(runs: Vec<Option<Duration>>) -> Option<Stats> {
    let ok: Vec<Duration> = runs.into_iter().flatten().collect();
    (!ok.is_empty()).then(|| stats(ok))
}

/// A flinkform project of `n` light containers.
fn flinkform_project(name: &str, n: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let hcl = format!(
        "flinkform {{\n  project = \"{name}\"\n}}\n\ncontainer \"c\" {{\n  count   = {n}\n  image   = \"{IMAGE}\"\n  command = [\"sh\", \"-c\", \"{CMD}\"]\n  memory  = \"16m\"\n  restart = \"no\"\n}}\n"
    );
    std::fs::write(dir.path().join("main.hcl"), hcl).unwrap();
    dir
}

/// The same containers as a compose file.
fn compose_project(n: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut y = String::from("version: \"2.4\"\nservices:\n");
    for i in 0..n {
        y += &format!(
            "  c{i}:\n    image: {IMAGE}\n    command: [\"sh\", \"-c\", \"{CMD}\"]\n    mem_limit: 16m\n    restart: \"no\"\n"
        );
    }
    std::fs::write(dir.path().join("docker-compose.yml"), y).unwrap();
    dir
}

struct Stats {
    median: f64,
    min: f64,
    max: f64,
}

fn stats(mut xs: Vec<Duration>) -> Stats {
    xs.sort();
    let s = |d: Duration| d.as_secs_f64();
    Stats { median: s(xs[xs.len() / 2]), min: s(xs[0]), max: s(xs[xs.len() - 1]) }
}

struct Report {
    rows: Vec<String>,
}

impl Report {
    fn note(&mut self, case: &str, what: &str, note: &str) {
        let line = format!("| {case} | {what} | - | - | - | {note} |");
        println!("{line}");
        self.rows.push(line);
    }

    fn row(&mut self, case: &str, what: &str, st: &Stats, note: &str) {
        let line = format!("| {case} | {what} | {:.3} | {:.3} | {:.3} | {note} |", st.median, st.min, st.max);
        println!("{line}");
        self.rows.push(line);
    }
}

async fn raw_list(docker: &Docker, project: &str) -> usize {
    let filters = HashMap::from([("label", vec![format!("io.flinkform.project={project}")])]);
    let opts = ListContainersOptionsBuilder::new().all(true).filters(&filters).build();
    docker.list_containers(Some(opts)).await.unwrap().len()
}

async fn raw_create(docker: &Docker, n: usize) {
    futures_util::stream::iter(0..n)
        .map(|i| {
            let docker = docker.clone();
            async move {
                let body = ContainerCreateBody {
                    image: Some(IMAGE.into()),
                    cmd: Some(vec!["sh".into(), "-c".into(), CMD.into()]),
                    labels: Some(HashMap::from([(RAW_LABEL.to_string(), "raw".to_string())])),
                    host_config: Some(HostConfig { memory: Some(16 << 20), ..Default::default() }),
                    ..Default::default()
                };
                let name = format!("ffbenchraw-{i}");
                let opts = CreateContainerOptionsBuilder::new().name(&name).build();
                docker.create_container(Some(opts), body).await.unwrap();
                docker.start_container(&name, None).await.unwrap();
            }
        })
        .buffer_unordered(PARALLELISM)
        .collect::<Vec<_>>()
        .await;
}

/// CPU time the containers matching `label` have used so far, in seconds (the engine's stats,
/// whatever the cgroup version).
async fn cpu_seconds(docker: &Docker, label: &str) -> f64 {
    let filters = HashMap::from([("label", vec![label.to_string()])]);
    let opts = ListContainersOptionsBuilder::new().all(true).filters(&filters).build();
    let mut total = 0u64;
    for c in docker.list_containers(Some(opts)).await.unwrap() {
        let id = c.id.unwrap_or_default();
        let opts = StatsOptionsBuilder::new().stream(false).one_shot(true).build();
        if let Some(Ok(s)) = docker.stats(&id, Some(opts)).next().await {
            total += s.cpu_stats.and_then(|c| c.cpu_usage).and_then(|u| u.total_usage).unwrap_or(0);
        }
    }
    total as f64 / 1e9
}

/// Removes every container carrying `label` (`key=value`): only what this program created.
async fn remove_labelled(docker: &Docker, label: &str) {
    let filters = HashMap::from([("label", vec![label.to_string()])]);
    let opts = ListContainersOptionsBuilder::new().all(true).filters(&filters).build();
    let ids: Vec<String> =
        docker.list_containers(Some(opts)).await.unwrap_or_default().into_iter().filter_map(|c| c.id).collect();
    futures_util::stream::iter(ids)
        .map(|id| {
            let docker = docker.clone();
            async move {
                let o = RemoveContainerOptionsBuilder::new().force(true).build();
                let _ = docker.remove_container(&id, Some(o)).await;
            }
        })
        .buffer_unordered(PARALLELISM)
        .collect::<Vec<_>>()
        .await;
}

/// Peak resident memory (MiB) and wall time of one command.
fn measure_peak(cmd: &mut Command) -> (Duration, f64) {
    let start = Instant::now();
    let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child and fills a zeroed rusage.
    unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let took = start.elapsed();
    let _ = child.try_wait();
    (took, usage.ru_maxrss as f64 / 1024.0)
}

fn median_of(reps: usize, mut f: impl FnMut() -> Duration) -> Stats {
    stats((0..reps).map(|_| f()).collect())
}

#[tokio::main]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let reps: usize = if quick { 2 } else { 3 };
    let (mut p1_sizes, mut p2_sizes, p3_size) =
        if quick { (vec![20], vec![20], 1000) } else { (vec![100, 1000], vec![100, 200], 10_000) };
    // Sizes can be narrowed for a partial re-run: FLINKFORM_BENCH_P1=100 FLINKFORM_BENCH_P2=100,200.
    let sizes = |var: &str| -> Option<Vec<usize>> {
        std::env::var(var).ok().map(|v| v.split(',').filter_map(|x| x.trim().parse().ok()).collect())
    };
    p1_sizes = sizes("FLINKFORM_BENCH_P1").unwrap_or(p1_sizes);
    p2_sizes = sizes("FLINKFORM_BENCH_P2").unwrap_or(p2_sizes);
    let only: Vec<String> = std::env::args().filter(|a| a.starts_with('P')).collect();
    let want = |p: &str| only.is_empty() || only.iter().any(|o| o == p);
    let docker = Docker::connect_with_local_defaults().unwrap();
    let version = docker.version().await.unwrap();
    println!(
        "engine {} (API {}), {} CPUs, flinkform {}",
        version.version.unwrap_or_default(),
        version.api_version.unwrap_or_default(),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        env!("CARGO_PKG_VERSION")
    );
    assert!(
        Command::new("docker").args(["image", "inspect", IMAGE]).output().unwrap().status.success(),
        "run ./images/busybox.sh first"
    );
    if Command::new("docker-compose").arg("version").output().is_err() {
        eprintln!("installing Debian's docker-compose");
        assert!(Command::new("apt-get").args(["install", "-y", "-qq", "docker-compose"]).status().unwrap().success());
    }
    let mut report = Report { rows: Vec::new() };
    println!("| case | what | median s | min s | max s | note |\n|---|---|---|---|---|---|");
    let parallelism = PARALLELISM.to_string();
    let start_cost = median_of(5, || run(Command::new(flinkform()).arg("--version")));
    report.row("-", "flinkform process start (--version)", &start_cost, "");

    if want("P1") {
        for &n in &p1_sizes {
            // Each tool's N containers alone on the engine: the engine's list cost grows with
            // every container it holds, whoever owns them.
            let ffdir = flinkform_project("ffbenchp1", n);
            run(&mut ff(ffdir.path(), &["apply", "--auto-approve", "--parallelism", &parallelism]));
            // Interleaved (after one unmeasured round), so that the engine settling after the
            // apply, or anything else drifting, weighs on flinkform and the floor alike.
            let (mut plans, mut applies, mut floors) = (Vec::new(), Vec::new(), Vec::new());
            for rep in 0..=P1_REPS {
                let plan = run(&mut ff(ffdir.path(), &["plan"]));
                let apply = run(&mut ff(ffdir.path(), &["apply", "--auto-approve"]));
                let t = Instant::now();
                assert_eq!(raw_list(&docker, "ffbenchp1").await, n);
                let floor = t.elapsed();
                if rep > 0 {
                    plans.push(plan);
                    applies.push(apply);
                    floors.push(floor);
                }
            }
            let (plan, apply, floor) = (stats(plans), stats(applies), stats(floors));
            run(&mut ff(ffdir.path(), &["destroy", "--auto-approve", "--parallelism", &parallelism]));

            let cdir = compose_project(n);
            let up = if compose_up_in_batches(cdir.path(), n) {
                stats_of((0..reps).map(|_| try_run(&mut compose(cdir.path(), &["up", "-d"]))).collect())
            } else {
                None
            };
            compose_down(&docker, cdir.path()).await;

            let up_median = up.as_ref().map(|u| u.median).unwrap_or(f64::NAN);
            let budget = floor.median + start_cost.median;
            report.row(
                &format!("P1 N={n}"),
                "flinkform plan (no changes)",
                &plan,
                &format!(
                    "{:.1}x faster than compose; {:.2}x of floor+start",
                    up_median / plan.median,
                    plan.median / budget
                ),
            );
            report.row(
                &format!("P1 N={n}"),
                "flinkform apply (no changes)",
                &apply,
                &format!(
                    "{:.1}x faster than compose; {:.2}x of floor+start",
                    up_median / apply.median,
                    apply.median / budget
                ),
            );
            match &up {
                Some(up) => report.row(&format!("P1 N={n}"), "docker-compose up -d (no changes)", up, ""),
                None => report.note(
                    &format!("P1 N={n}"),
                    "docker-compose up -d (no changes)",
                    "not measured: compose could not bring the services up (killed after its time limit)",
                ),
            }
            report.row(&format!("P1 N={n}"), "raw filtered list call (floor)", &floor, "");
        }
    }

    if want("P2") {
        for &n in &p2_sizes {
            let ffdir = flinkform_project("ffbenchp2", n);
            let cdir = compose_project(n);
            let mut ffs = Vec::new();
            let mut raws = Vec::new();
            let mut ups = Vec::new();
            for _ in 0..reps {
                ffs.push(run(&mut ff(ffdir.path(), &["apply", "--auto-approve", "--parallelism", &parallelism])));
                run(&mut ff(ffdir.path(), &["destroy", "--auto-approve", "--parallelism", &parallelism]));
                let t = Instant::now();
                raw_create(&docker, n).await;
                raws.push(t.elapsed());
                remove_labelled(&docker, &format!("{RAW_LABEL}=raw")).await;
                ups.push(try_run(&mut compose(cdir.path(), &["up", "-d"])));
                compose_down(&docker, cdir.path()).await;
            }
            let stalled = ups.iter().filter(|u| u.is_none()).count();
            let (f, r, u) = (stats(ffs), stats(raws), stats_of(ups));
            let u_median = u.as_ref().map(|u| u.median).unwrap_or(f64::NAN);
            report.row(
                &format!("P2 N={n}"),
                "flinkform apply (cold)",
                &f,
                &format!("{:.2}x of raw; {:.2}x faster than compose", f.median / r.median, u_median / f.median),
            );
            // The engine bounds what any client can gain over compose: the raw API's own lead.
            report.row(
                &format!("P2 N={n}"),
                &format!("raw create+start, parallelism {PARALLELISM}"),
                &r,
                &format!("{:.2}x faster than compose", u_median / r.median),
            );
            let note = if stalled > 0 {
                format!("{stalled} of {reps} runs stalled (killed after {COMPOSE_LIMIT_S} s), not counted")
            } else {
                String::new()
            };
            match &u {
                Some(u) => report.row(&format!("P2 N={n}"), "docker-compose up -d (cold)", u, &note),
                None => report.note(&format!("P2 N={n}"), "docker-compose up -d (cold)", &note),
            }
        }
    }

    if want("P3") {
        let dir = tempfile::tempdir().unwrap();
        let per = p3_size / 10;
        let mut hcl = String::from("flinkform {\n  project = \"ffbenchp3\"\n}\n");
        for b in 0..10 {
            hcl += &format!(
                "container \"c{b}\" {{\n  count   = {per}\n  image   = \"{IMAGE}\"\n  command = [\"sleep\", \"${{count.index}}\"]\n  env     = {{ INDEX = count.index, BLOCK = \"{b}\" }}\n}}\n"
            );
        }
        std::fs::write(dir.path().join("main.hcl"), hcl).unwrap();
        let mut times = Vec::new();
        let mut peak: f64 = 0.0;
        for _ in 0..reps {
            let (t, m) = measure_peak(&mut ff(dir.path(), &["plan", "--refresh=false"]));
            times.push(t);
            peak = peak.max(m);
        }
        report.row(
            &format!("P3 {p3_size} instances"),
            "plan --refresh=false",
            &stats(times),
            &format!("peak RSS {peak:.0} MiB"),
        );
    }

    if want("P4") {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        let qs = tempfile::tempdir().unwrap();
        let hcl = std::fs::read_to_string(repo.join("examples/quickstart/main.hcl")).unwrap();
        let hcl = hcl.replacen("project = \"quickstart\"", "project = \"ffbenchp4\"", 1);
        std::fs::write(qs.path().join("main.hcl"), hcl).unwrap();
        let (mut ffs, mut lones, mut ff_cpu, mut lone_cpu) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..reps {
            ffs.push(run(&mut ff(qs.path(), &["apply", "--auto-approve"])));
            ff_cpu.push(cpu_seconds(&docker, "io.flinkform.project=ffbenchp4").await);
            run(&mut ff(qs.path(), &["destroy", "--auto-approve"]));
            let t = Instant::now();
            let out = Command::new("docker")
                .args(["run", "-d", "--label", &format!("{RAW_LABEL}=raw"), "-p", "127.0.0.1::8081"])
                .args(["flinkform-offline/flink:2.3.0-java17", "jobmanager"])
                .output()
                .unwrap();
            let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
            let port =
                String::from_utf8_lossy(&Command::new("docker").args(["port", &id, "8081"]).output().unwrap().stdout)
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_string();
            let url = format!("http://{port}/overview");
            while reqwest::get(&url).await.map(|r| !r.status().is_success()).unwrap_or(true) {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            lones.push(t.elapsed());
            lone_cpu.push(cpu_seconds(&docker, &format!("{RAW_LABEL}=raw")).await);
            remove_labelled(&docker, &format!("{RAW_LABEL}=raw")).await;
        }
        let (f, l) = (stats(ffs), stats(lones));
        // The cluster's containers' CPU time by the moment the last TaskManager registered, spread
        // over every core, is a floor no scheduling can beat.
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) as f64;
        let median = |mut v: Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let (fc, lc) = (median(ff_cpu), median(lone_cpu));
        report.row(
            "P4 quickstart",
            "flinkform apply until every TaskManager is registered",
            &f,
            &format!(
                "{:.2}x of a lone JobManager; containers used {fc:.1} CPU-s, at least {:.2} s on {cores} cores ({:.2}x)",
                f.median / l.median,
                fc / cores,
                fc / cores / l.median
            ),
        );
        report.row(
            "P4 quickstart",
            "docker run of one JobManager until REST answers",
            &l,
            &format!("the container used {lc:.1} CPU-s"),
        );
    }
    if want("P5") {
        p5(&mut report, if quick { 20 } else { 100 });
    }
    if want("P6") {
        swarm::p6(&mut report, &docker, if quick { 20 } else { 100 }, reps).await;
    }
    if want("P7") {
        p7(&mut report, if quick { 50 } else { 1000 });
    }
    if want("P8") {
        upgrade::p8(&mut report, if quick { 1 } else { 5 }).await;
    }
    println!("\n{}", report.rows.join("\n"));
}

/// P5: the same no-op plan with the state in PostgreSQL and in the local file, interleaved.
fn p5(report: &mut Report, n: usize) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let pg_dir = tempfile::tempdir().unwrap();
    let script = repo.join("scripts/postgres.sh");
    let out = Command::new("bash").arg(&script).arg("start").arg(pg_dir.path()).output().unwrap();
    assert!(out.status.success(), "PostgreSQL starts: {}", String::from_utf8_lossy(&out.stderr));
    let conn = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let local = flinkform_project("ffbenchp5", n);
    let remote = tempfile::tempdir().unwrap();
    let hcl = std::fs::read_to_string(local.path().join("main.hcl")).unwrap();
    let hcl = hcl.replacen("project = \"ffbenchp5\"", "project = \"ffbenchp5\"\n  backend \"postgres\" {}", 1);
    std::fs::write(remote.path().join("main.hcl"), hcl).unwrap();
    let with_pg = |args: &[&str], dir: &Path| {
        let mut c = ff(dir, args);
        c.env("FLINKFORM_PG_CONN_STR", &conn);
        c
    };
    run(&mut ff(local.path(), &["apply", "--auto-approve", "--parallelism", &PARALLELISM.to_string()]));
    // The same containers, adopted by the PostgreSQL state: `state push` of the local one.
    let state = local.path().join("flinkform.state.json");
    run(&mut with_pg(&["state", "push", state.to_str().unwrap()], remote.path()));
    let (mut locals, mut remotes) = (Vec::new(), Vec::new());
    for rep in 0..=P1_REPS {
        let l = run(&mut ff(local.path(), &["plan"]));
        let r = run(&mut with_pg(&["plan"], remote.path()));
        if rep > 0 {
            locals.push(l);
            remotes.push(r);
        }
    }
    let (l, r) = (stats(locals), stats(remotes));
    let extra_ms = (r.median - l.median) * 1000.0;
    report.row(
        &format!("P5 no-op, N={n}"),
        "plan, state in PostgreSQL",
        &r,
        &format!("{extra_ms:+.1} ms against the local state (target: within 20 ms)"),
    );
    report.row(&format!("P5 no-op, N={n}"), "plan, local state file", &l, "");
    run(&mut ff(local.path(), &["destroy", "--auto-approve"]));
    let _ = Command::new("bash").arg(&script).arg("stop").arg(pg_dir.path()).status();
}

/// P7: the same no-op plan with and without the example policies, interleaved.
fn p7(report: &mut Report, n: usize) {
    let policies = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/policies");
    let policies = policies.to_str().unwrap();
    let dir = flinkform_project("ffbenchp7", n);
    // The image by a version tag (the example policies deny an unpinned one; the plan is to
    // pass them, as a team's plans do): a tag of the light image, removed after.
    let pinned = "flinkform-bench/busybox:1.0";
    assert!(Command::new("docker").args(["tag", IMAGE, pinned]).status().unwrap().success());
    let hcl = std::fs::read_to_string(dir.path().join("main.hcl")).unwrap().replace(IMAGE, pinned);
    std::fs::write(dir.path().join("main.hcl"), hcl).unwrap();
    run(&mut ff(dir.path(), &["apply", "--auto-approve", "--parallelism", &PARALLELISM.to_string()]));
    let (mut without, mut with) = (Vec::new(), Vec::new());
    for rep in 0..=P1_REPS {
        let a = run(&mut ff(dir.path(), &["plan"]));
        let b = run(&mut ff(dir.path(), &["plan", "--policy", policies]));
        if rep > 0 {
            without.push(a);
            with.push(b);
        }
    }
    let (a, b) = (stats(without), stats(with));
    report.row(
        &format!("P7 no-op, N={n}"),
        "plan --policy examples/policies",
        &b,
        &format!("{:.2}x of the plan without policies (target: within 1.2x)", b.median / a.median),
    );
    report.row(&format!("P7 no-op, N={n}"), "plan, no policy", &a, "");
    run(&mut ff(dir.path(), &["destroy", "--auto-approve", "--parallelism", &PARALLELISM.to_string()]));
    let _ = Command::new("docker").args(["rmi", pinned]).output();
}
