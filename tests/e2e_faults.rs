//! Faults on the real engine: `apply` killed with SIGKILL at seeded random moments (also with
//! every container being replaced), `destroy` killed likewise, `apply` interrupted with SIGINT,
//! and failing midway on a host port another container holds. After each, the state file
//! parses, ONE apply converges (plan then says `No changes.`), and every container carrying
//! the project's labels is in the state, once.

mod common;
use common::*;
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const LIGHT: &str = r#"
flinkform {
  project = "PROJECT"
}

variable "n" {
  type    = number
  default = 4
}

variable "gen" {
  type    = string
  default = "0"
}

network "net" {}

container "c" {
  count   = var.n
  image   = "flinkform-offline/busybox:static"
  command = ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]
  network = network.net.name
  memory  = "16m"
  restart = "no"
  env     = { GEN = var.gen }
}
"#;

/// A small deterministic generator (no dependency): the trials are the same on every run.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }
}

fn spawn_apply(p: &Project, n: u64, parallelism: &str) -> std::process::Child {
    spawn(p, &["apply", "--auto-approve", "--parallelism", parallelism, "--var", &format!("n={n}")])
}

fn spawn(p: &Project, args: &[&str]) -> std::process::Child {
    Command::new(bin())
        .args(["--chdir"])
        .arg(p.path())
        .args(args)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Addresses of the containers the state records; the state must parse.
fn state_containers(p: &Project) -> BTreeSet<String> {
    if !p.state_path().exists() {
        return BTreeSet::new();
    }
    let state = flinkform::state::State::load(&p.state_path()).expect("the state file parses");
    state.resources.iter().filter(|r| r.kind == flinkform::model::Kind::Container).map(|r| r.address.clone()).collect()
}

/// Addresses of the containers carrying the project's labels; each address at most once.
fn labelled_containers(p: &Project) -> BTreeSet<String> {
    let out = docker(&[
        "ps",
        "-a",
        "--filter",
        &format!("label=io.flinkform.project={}", p.name),
        "--format",
        "{{.Label \"io.flinkform.address\"}}",
    ]);
    let all: Vec<String> = out.lines().map(str::to_string).collect();
    let set: BTreeSet<String> = all.iter().cloned().collect();
    assert_eq!(all.len(), set.len(), "a container is duplicated: {all:?}");
    set
}

/// The next apply converges, then plan says "No changes." and Docker matches the state.
fn converges(p: &Project, n: u64, what: &str) -> String {
    converges_to(p, n, "0", what)
}

/// [`converges`] to the configuration with `gen = generation`; returns what the apply printed.
fn converges_to(p: &Project, n: u64, generation: &str, what: &str) -> String {
    let (n_var, gen_var) = (format!("n={n}"), format!("gen={generation}"));
    let out = p.run(&["apply", "--auto-approve", "--var", &n_var, "--var", &gen_var]);
    assert!(
        out.status.success(),
        "{what}: the next apply fails:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let plan = p.run(&["plan", "--detailed-exitcode", "--var", &n_var, "--var", &gen_var]);
    assert_eq!(plan.status.code(), Some(0), "{what}: plan after apply:\n{}", String::from_utf8_lossy(&plan.stdout));
    let (state, labelled) = (state_containers(p), labelled_containers(p));
    assert_eq!(labelled, state, "{what}: every labelled container is in the state");
    assert_eq!(state.len() as u64, n, "{what}");
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// How many trials, from which seed (FLINKFORM_CRASH_TRIALS, FLINKFORM_CRASH_SEED).
fn trials_and_seed() -> (u64, u64) {
    let trials = std::env::var("FLINKFORM_CRASH_TRIALS").ok().and_then(|t| t.parse().ok()).unwrap_or(20);
    let seed = std::env::var("FLINKFORM_CRASH_SEED").ok().and_then(|t| t.parse().ok()).unwrap_or(2026);
    (trials, seed)
}

/// Kills (SIGKILL) a flinkform run after `delay`; the state must still parse and no
/// container may be duplicated.
fn kill_after(p: &Project, mut child: std::process::Child, delay: Duration) {
    std::thread::sleep(delay);
    let _ = child.kill();
    let _ = child.wait();
    state_containers(p);
    labelled_containers(p);
}

/// [`LIGHT`] on the default bridge. Killing runs mid-start under load can leave the engine
/// (20.10) with a stale endpoint on a user network, which then refuses to be removed though no
/// container is attached ("has active endpoints"), on that engine for good; that engine weakness
/// is not what the random-kill tests are about (the destroy and SIGINT tests keep the network).
fn on_default_bridge() -> String {
    LIGHT.replace("network \"net\" {}\n", "").replace("  network = network.net.name\n", "")
}

#[test]
fn sigkill_at_random_moments_never_loses_a_container() {
    assert!(require_docker());
    let p = Project::new("ffsigkill", &on_default_bridge());
    let (trials, seed) = trials_and_seed();
    let mut rng = Lcg(seed);
    let mut n = 0;
    for trial in 0..trials {
        // A different size each time, so every trial has creates or destroys to interrupt.
        let mut next = 4 + rng.next(21);
        if next == n {
            next = if n > 12 { n - 3 } else { n + 3 };
        }
        n = next;
        let delay = Duration::from_millis(50 + rng.next(1500));
        // After the kill the state parses (it may lag by the one operation in flight, which the
        // next run recovers), and no container is duplicated.
        kill_after(&p, spawn_apply(&p, n, "10"), delay);
        converges(&p, n, &format!("trial {trial} (seed {seed}, n={n}, killed after {delay:?})"));
    }
    p.ok(&["destroy", "--auto-approve", "--var", &format!("n={n}")]);
    assert!(p.labelled().is_empty(), "{:?}", p.labelled());
}

#[test]
fn sigkill_during_destroy_is_followed_by_one_converging_apply() {
    assert!(require_docker());
    let p = Project::new("ffkilldestroy", LIGHT);
    let (trials, seed) = trials_and_seed();
    let mut rng = Lcg(seed.wrapping_add(1));
    let n = 8;
    converges(&p, n, "setup");
    let mut resolved = 0;
    for trial in 0..trials {
        // Removing a container stops it first (up to a second here): the kill lands among
        // stops the engine carries out after flinkform is gone.
        let delay = Duration::from_millis(rng.next(1500));
        kill_after(&p, spawn(&p, &["destroy", "--auto-approve", "--var", "n=8"]), delay);
        let out = converges(&p, n, &format!("destroy trial {trial} (seed {seed}, killed after {delay:?})"));
        if out.contains("resolved first") && out.contains("finished its removal") {
            resolved += 1;
        }
    }
    assert!(trials < 5 || resolved > 0, "some kill landed while a removal was in flight, and was resolved");
    p.ok(&["destroy", "--auto-approve", "--var", "n=8"]);
    assert!(p.labelled().is_empty(), "{:?}", p.labelled());
}

#[test]
fn sigkill_during_a_replacement_is_followed_by_one_converging_apply() {
    assert!(require_docker());
    let p = Project::new("ffkillswap", &on_default_bridge());
    let (trials, seed) = trials_and_seed();
    let mut rng = Lcg(seed.wrapping_add(2));
    let n = 8;
    converges(&p, n, "setup");
    for trial in 0..trials {
        // A new `gen` replaces every container: removes and creates are both in flight.
        let generation = (trial + 1).to_string();
        let delay = Duration::from_millis(rng.next(2000));
        let args = ["apply", "--auto-approve", "--var", "n=8", "--var", &format!("gen={generation}")];
        kill_after(&p, spawn(&p, &args), delay);
        converges_to(&p, n, &generation, &format!("replacement trial {trial} (seed {seed}, killed after {delay:?})"));
    }
    p.ok(&["destroy", "--auto-approve", "--var", "n=8"]);
    assert!(p.labelled().is_empty(), "{:?}", p.labelled());
}

#[test]
fn ctrl_c_lets_operations_in_flight_finish_and_exits_130() {
    assert!(require_docker());
    let p = Project::new("ffsigint", LIGHT);
    let n = 24;
    let mut child = spawn_apply(&p, n, "2");
    let stdout = child.stdout.take().unwrap();
    let mut seen = 0;
    let start = Instant::now();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if line.contains("container.c[") && line.contains("Creation complete") {
            seen += 1;
        }
        if seen == 3 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "no progress from apply");
    }
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("Interrupt received"), "{stderr}");
    // What finished is recorded; nothing started after the interrupt; nothing is lost.
    let recorded = state_containers(&p);
    assert_eq!(recorded, labelled_containers(&p), "operations in flight finished and were recorded");
    assert!(recorded.len() >= 3 && (recorded.len() as u64) < n, "{recorded:?}");
    converges(&p, n, "after Ctrl-C");
}

#[test]
fn a_taken_host_port_fails_one_container_and_the_next_apply_completes() {
    assert!(require_docker());
    let ports: Vec<u16> =
        (0..3).map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()).collect();
    let hcl = format!(
        r#"
flinkform {{
  project = "PROJECT"
}}

locals {{
  ports = [{}, {}, {}]
}}

container "web" {{
  count   = 3
  image   = "flinkform-offline/busybox:static"
  command = ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]
  ports   = ["127.0.0.1:${{local.ports[count.index]}}:80"]
}}
"#,
        ports[0], ports[1], ports[2]
    );
    let p = Project::new("ffport", &hcl);
    // Another container (the test's own, labelled for cleanup) holds web[1]'s port.
    let blocker = "ffport-test-blocker";
    docker(&["rm", "-f", blocker]);
    let id = docker(&[
        "run",
        "-d",
        "--name",
        blocker,
        "--label",
        "io.flinkform.test=ffport",
        "-p",
        &format!("127.0.0.1:{}:80", ports[1]),
        "flinkform-offline/busybox:static",
        "sleep",
        "600",
    ]);
    assert!(!id.trim().is_empty(), "the blocker runs");

    let out = p.run(&["apply", "--auto-approve"]);
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("container.web[1]"), "the error names the resource: {text}");
    assert!(
        text.contains(&ports[1].to_string()) && (text.contains("already allocated") || text.contains("in use")),
        "the error names the cause: {text}"
    );
    let recorded = state_containers(&p);
    assert_eq!(
        recorded,
        BTreeSet::from(["container.web[0]".to_string(), "container.web[2]".to_string()]),
        "what succeeded is in the state"
    );
    assert_eq!(labelled_containers(&p), recorded, "the half-made container was removed");

    docker(&["rm", "-f", id.trim()]);
    let out = p.ok(&["apply", "--auto-approve"]);
    assert!(out.contains("Resources: 1 added, 0 changed, 0 destroyed."), "{out}");
    assert_eq!(state_containers(&p).len(), 3);
    assert!(p.ok(&["plan"]).contains("No changes."));
}

#[test]
fn a_second_ctrl_c_stops_at_once_and_the_next_apply_converges() {
    assert!(require_docker());
    // A container whose healthcheck never passes: apply would wait for it for minutes.
    let hcl = r#"
flinkform {
  project = "PROJECT"
}

variable "check" {
  type    = string
  default = "false"
}

container "slow" {
  image   = "flinkform-offline/busybox:static"
  command = ["sh", "-c", "trap 'exit 0' TERM; sleep 2147483647 & wait"]
  healthcheck {
    test     = ["CMD", var.check]
    interval = "1s"
    retries  = 1000
  }
}
"#;
    let p = Project::new("ffsigint2", hcl);
    let mut child = spawn(&p, &["apply", "--auto-approve"]);
    // Read to the end on a thread of its own: the run's later lines never meet a closed pipe,
    // and what it printed is there to show if it ends too early.
    let (lines, printed) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || BufReader::new(stdout).lines().map_while(Result::ok).for_each(|l| drop(lines.send(l))));
    let mut seen = Vec::new();
    while let Ok(line) = printed.recv_timeout(Duration::from_secs(60)) {
        seen.push(line);
        if seen.last().is_some_and(|l| l.contains("waiting until ready")) {
            break;
        }
    }
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
    std::thread::sleep(Duration::from_secs(1));
    if let Some(status) = child.try_wait().unwrap() {
        let mut stderr = String::new();
        let _ = std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr);
        panic!(
            "the first Ctrl-C lets the wait in flight go on; the run ended ({status}):\n{}\n{stderr}",
            seen.join("\n")
        );
    }
    let second = Instant::now();
    assert!(Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
    let out = child.wait_with_output().unwrap();
    assert!(second.elapsed() < Duration::from_secs(5), "the second Ctrl-C stops at once");
    assert_eq!(out.status.code(), Some(130));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Second interrupt: stopping now"));
    state_containers(&p);
    // With a healthcheck that passes, one apply converges.
    p.ok(&["apply", "--auto-approve", "--var", "check=true"]);
    assert!(p.ok(&["plan", "--var", "check=true"]).contains("No changes."));
    assert_eq!(p.containers().len(), 1);
}

#[test]
fn a_state_write_that_fails_mid_apply_starts_nothing_more_and_says_so() {
    assert!(require_docker());
    let p = Project::new("ffwritefail", LIGHT);
    let n = 12;
    let mut child = spawn_apply(&p, n, "1");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    for line in lines.by_ref() {
        if line.unwrap().contains("Creation complete") {
            break;
        }
    }
    // The state file becomes a directory that holds a file: every later write's rename fails,
    // as on a full or read-only disk (which root cannot simulate with permissions).
    let state = p.state_path();
    let aside = p.path().join("state.aside");
    loop {
        let _ = std::fs::copy(&state, &aside);
        let _ = std::fs::remove_file(&state);
        if std::fs::create_dir(&state).is_ok() {
            break;
        }
    }
    std::fs::write(state.join("keep"), "").unwrap();
    let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "a failed write is a failure, not an interrupt:\n{stderr}");
    assert!(stderr.contains("cannot write state file"), "{stderr}");
    assert!(!stderr.contains("interrupted"), "{stderr}");
    assert!(stderr.contains("operation(s) failed"), "the report is printed:\n{stderr}");
    let made = labelled_containers(&p).len() as u64;
    assert!(made < n, "no operation started after the failed write ({made} of {n} made):\n{}", rest.join("\n"));

    // With the state back, one apply adopts what was made and completes the rest.
    std::fs::remove_dir_all(&state).unwrap();
    std::fs::rename(&aside, &state).unwrap();
    converges(&p, n, "after a failed state write");
}

/// A container flinkform does not own, attached to the project's network, holds the network:
/// destroy removes what it owns, waits a while for the endpoint to go (a removed container's
/// endpoint is released a moment after it), then names the container and keeps the network;
/// once it is gone, destroy completes.
#[test]
fn a_network_still_in_use_is_waited_for_then_named() {
    assert!(require_docker());
    let p = Project::new("ffnetuse", &LIGHT.replace("default = 4", "default = 1"));
    p.ok(&["apply", "--auto-approve"]);
    let (net, guest) = (format!("{}-net", p.name), format!("{}-test-guest", p.name));
    docker(&["rm", "-f", &guest]);
    let run = ["run", "-d", "--name", &guest, "--label", "io.flinkform.test=ffnetuse", "--network", &net];
    let id = docker(&[&run[..], &["flinkform-offline/busybox:static", "sleep", "600"]].concat());
    assert!(!id.trim().is_empty(), "the guest runs");

    let out = p.run(&["destroy", "--auto-approve"]);
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains(&format!("network {net} cannot be removed")) && text.contains(&guest), "{text}");
    assert!(state_containers(&p).is_empty(), "the project's container was removed");
    assert_eq!(docker(&["network", "ls", "-q", "--filter", &format!("name=^{net}$")]).lines().count(), 1);

    // Removed while destroy waits: destroy completes.
    let mut destroy = spawn(&p, &["destroy", "--auto-approve"]);
    std::thread::sleep(Duration::from_secs(2));
    docker(&["rm", "-f", id.trim()]);
    let out = destroy.wait().unwrap();
    assert!(out.success(), "destroy completes once the guest is gone");
    assert!(docker(&["network", "ls", "-q", "--filter", &format!("name=^{net}$")]).trim().is_empty());
}
