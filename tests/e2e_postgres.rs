//! End to end (issue 16): the state in a real PostgreSQL (Debian's, started by
//! scripts/postgres.sh for this test and stopped after), shared by two working copies ("runner
//! A" and "runner B") of one configuration on the real engine. A applies, B plans nothing; an
//! apply waits for, or fails naming, the one holding the lock; `force-unlock ID` ends a stuck
//! holder's lock; kill -9 of the holder frees it;
//! every version is kept (`state history`), `state rollback` writes one again; `state
//! push` refuses another lineage or an older serial; `init` moves a local state in and refuses
//! a backend that holds another lineage. The connection's password is in no output.

mod common;
use common::*;
use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A password the server does not need (trust authentication) but a careless program would show.
const PASSWORD: &str = "pw-never-shown-4711";

const HCL: &str = r#"
flinkform {
  project = "PROJECT"
  backend "postgres" {
    schema = "ff_state"
  }
}

variable "ready_after" {
  type    = number
  default = 0
}

variable "tag" {
  type    = string
  default = "one"
}

container "web" {
  image   = "flinkform-offline/busybox:static"
  command = ["sh", "-c", "sleep ${var.ready_after}; touch /tmp/ready; exec sleep 3600"]
  env     = { TAG = var.tag }

  healthcheck {
    test     = ["CMD", "sh", "-c", "test -f /tmp/ready"]
    interval = "1s"
    retries  = 1000
  }
}
"#;

/// A working copy of the configuration using `pg`.
fn runner(name: &str, pg: &Postgres) -> Project {
    let mut p = Project::new(name, HCL);
    p.env.push(("FLINKFORM_PG_CONN_STR".into(), format!("{} password={PASSWORD}", pg.conn)));
    p
}

fn spawn(p: &Project, args: &[&str]) -> std::process::Child {
    let mut cmd = Command::new(bin());
    cmd.arg("--chdir").arg(p.path()).args(args).env("NO_COLOR", "1").stdout(Stdio::piped()).stderr(Stdio::piped());
    for (k, v) in &p.env {
        cmd.env(k, v);
    }
    cmd.spawn().unwrap()
}

fn history(p: &Project) -> Vec<Value> {
    serde_json::from_str::<Value>(&p.ok(&["state", "history", "--json"])).unwrap().as_array().unwrap().clone()
}

/// Waits until B sees A's lock (its message names the holder), returning that message. The
/// probe takes the lock and changes nothing (it would fail after the lock: no such resource).
fn lock_seen(b: &Project) -> String {
    // The holder takes the lock, then records who it is: until then the message can only say
    // "another flinkform process".
    eventually("runner A to hold the lock and say so", Duration::from_secs(30), || {
        let out = b.run(&["state", "rm", "container.none"]);
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        (!out.status.success() && err.contains("is locked: ID ")).then_some(err)
    })
}

#[test]
fn two_runners_share_one_state_in_postgres_with_its_lock_and_history() {
    if !require_docker() {
        return;
    }
    let pg = Postgres::start();
    let a = runner("fft-pg", &pg);
    let b = runner("fft-pg", &pg);
    let mut shown = String::new();

    // A applies; B, another working copy, finds nothing to do.
    shown += &a.ok(&["apply", "-auto-approve"]);
    let id = a.container_id("fft-pg-web").expect("the container exists");
    let plan = b.ok(&["plan"]);
    assert!(plan.contains("No changes."), "runner B reads runner A's state:\n{plan}");
    assert_eq!(b.ok(&["state", "list"]).trim(), "container.web");
    assert!(!a.path().join("flinkform.state.json").exists(), "no local state file");

    // Both at once: B fails naming A's apply, or waits for it with -lock-timeout.
    let slow = ["apply", "-auto-approve", "-var", "ready_after=6", "-var", "tag=two", "-lock-timeout", "30s"];
    let mut holder = spawn(&a, &slow);
    let err = lock_seen(&b);
    assert!(err.contains("apply by") && err.contains(&format!("pid {}", holder.id())), "{err}");
    let out = b.run(&["apply", "-auto-approve", "-var", "ready_after=6", "-var", "tag=two"]);
    let busy = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && busy.contains("--lock-timeout"), "without a timeout B fails at once: {busy}");
    let waited = Instant::now();
    let out = b.run(&["apply", "-auto-approve", "-var", "ready_after=6", "-var", "tag=two", "-lock-timeout", "60s"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(holder.wait().unwrap().success());
    assert!(waited.elapsed() > Duration::from_secs(2), "B waited for A");
    assert!(String::from_utf8_lossy(&out.stdout).contains("No changes."), "B applied after A: nothing left");

    // force-unlock ID of a stuck holder: its session is ended, so the lock is free at once (the
    // holder, if it goes on, can no longer write over a newer state: see the compare-and-swap test).
    let mut holder =
        spawn(&a, &["apply", "-auto-approve", "-var", "ready_after=30", "-var", "tag=three", "-lock-timeout", "30s"]);
    let message = lock_seen(&b);
    let lock_id =
        message.split("ID ").nth(1).and_then(|s| s.split(',').next()).expect("the message names the lock's ID");
    let out = b.run(&["force-unlock", "not-the-id"]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("not not-the-id"));
    b.ok(&["force-unlock", lock_id]);
    let out = b.run(&["state", "rm", "container.none"]);
    let after = String::from_utf8_lossy(&out.stderr);
    assert!(!after.contains("is locked") && after.contains("no resource"), "the lock is free: {after}");
    holder.kill().unwrap();
    holder.wait().unwrap();

    // kill -9 of the holder: PostgreSQL ends its session, and the lock with it.
    let mut holder =
        spawn(&a, &["apply", "-auto-approve", "-var", "ready_after=30", "-var", "tag=three", "-lock-timeout", "30s"]);
    lock_seen(&b);
    holder.kill().unwrap();
    holder.wait().unwrap();
    let out = b.run(&["apply", "-auto-approve", "-var", "tag=three"]);
    assert!(out.status.success(), "the killed holder's lock is gone: {}", String::from_utf8_lossy(&out.stderr));
    shown += &String::from_utf8_lossy(&out.stdout);
    assert!(b.ok(&["plan", "-var", "tag=three"]).contains("No changes."));
    assert_ne!(a.container_id("fft-pg-web"), Some(id));

    // Every version kept, one lineage, serials increasing.
    let versions = history(&b);
    let lineage = versions[0]["lineage"].clone();
    assert!(versions.iter().all(|v| v["lineage"] == lineage), "one lineage");
    let serials: Vec<u64> = versions.iter().map(|v| v["serial"].as_u64().unwrap()).collect();
    assert!(serials.windows(2).all(|w| w[0] < w[1]), "serials increase: {serials:?}");
    let last = *serials.last().unwrap();

    // Rollback writes an old version again, as the newest; nothing is lost.
    let first_with_web = versions.iter().find(|v| v["resources"] == 1).unwrap()["serial"].as_u64().unwrap();
    let out = b.ok(&["state", "rollback", &first_with_web.to_string()]);
    assert!(out.contains(&format!("is now serial {}", last + 1)), "{out}");
    assert_eq!(history(&b).len(), versions.len() + 1);

    // push: another lineage or an older serial is refused; the current one goes.
    let pulled = b.ok(&["state", "pull"]);
    let file = b.path().join("pulled.json");
    std::fs::write(&file, &pulled).unwrap();
    let mut other: Value = serde_json::from_str(&pulled).unwrap();
    other["lineage"] = "another-lineage".into();
    let other_file = b.path().join("other.json");
    std::fs::write(&other_file, other.to_string()).unwrap();
    let out = b.run(&["state", "push", other_file.to_str().unwrap()]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("lineage"));
    let mut older: Value = serde_json::from_str(&pulled).unwrap();
    older["serial"] = 1.into();
    std::fs::write(&other_file, older.to_string()).unwrap();
    let out = b.run(&["state", "push", other_file.to_str().unwrap()]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("older"));
    b.ok(&["state", "push", file.to_str().unwrap()]);

    // init: a local state moves in; a backend holding another lineage is refused.
    let mut c =
        Project::new("fft-pg-init", &HCL.replace("  backend \"postgres\" {\n    schema = \"ff_state\"\n  }\n", ""));
    c.env = a.env.clone();
    c.ok(&["apply", "-auto-approve"]);
    c.write("main.hcl", &HCL.replace("PROJECT", "fft-pg-init"));
    let out = c.ok(&["init"]);
    assert!(out.contains("migrated"), "{out}");
    assert!(!c.path().join("flinkform.state.json").exists() && c.path().join("flinkform.state.json.migrated").exists());
    assert!(c.ok(&["plan"]).contains("No changes."), "the migrated state is the one in use");
    // A local state of another lineage beside it: init refuses to put it in the backend.
    std::fs::write(c.path().join("flinkform.state.json"), other.to_string()).unwrap();
    let out = c.run(&["init"]);
    assert!(!out.status.success(), "init into a backend holding another lineage is refused");
    let refused = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(refused.contains("already holds lineage"), "{refused}");
    std::fs::remove_file(c.path().join("flinkform.state.json")).unwrap();

    // And back: without the backend block, init copies the state into the local file.
    c.write(
        "main.hcl",
        &HCL.replace("PROJECT", "fft-pg-init")
            .replace("  backend \"postgres\" {\n    schema = \"ff_state\"\n  }\n", ""),
    );
    let out = c.ok(&["init"]);
    assert!(out.contains("copied back"), "{out}");
    assert!(c.path().join("flinkform.state.json").exists());
    assert!(c.ok(&["plan"]).contains("No changes."), "the local state is the one in use again");

    // The connection's password is in nothing flinkform printed or stored.
    shown += &b.ok(&["state", "pull"]);
    shown += &refused;
    shown += &err;
    assert!(!shown.contains(PASSWORD), "the password is never shown");
    drop(c);
    drop(b);
    drop(a);
}

const MANY: &str = r#"
flinkform {
  project = "PROJECT"
  backend "postgres" {}
}

variable "tag" {
  type    = string
  default = "0"
}

container "svc" {
  count   = 4
  image   = "flinkform-offline/busybox:static"
  command = ["sleep", "3600"]
  env     = { TAG = var.tag }
}
"#;

/// A small deterministic generator (xorshift), so a failing trial can be replayed.
fn next(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

#[test]
fn applies_killed_while_writing_to_postgres_are_followed_by_one_converging_apply() {
    if !require_docker() {
        return;
    }
    let pg = Postgres::start();
    let mut p = Project::new("fft-pgkill", MANY);
    p.env.push(("FLINKFORM_PG_CONN_STR".into(), pg.conn.clone()));
    p.ok(&["apply", "-auto-approve"]);
    let mut seed = 0x5eed_f11c_u64;
    for trial in 1..=10 {
        // Every trial replaces all four containers: removals, creates and a write after each.
        let tag = format!("tag={trial}");
        let mut child = spawn(&p, &["apply", "-auto-approve", "-var", &tag]);
        std::thread::sleep(Duration::from_millis(100 + next(&mut seed) % 1500));
        let _ = child.kill();
        child.wait().unwrap();
    }
    let out = p.ok(&["apply", "-auto-approve", "-var", "tag=10"]);
    assert!(out.contains("Apply complete!"), "{out}");
    assert!(p.ok(&["plan", "-var", "tag=10"]).contains("No changes."), "one apply converged");
    let names: Vec<String> = p.containers().into_iter().map(|(name, _)| name).collect();
    assert_eq!(names.len(), 4, "no duplicate and no orphan: {names:?}");
    let versions = history(&p);
    let serials: Vec<u64> = versions.iter().map(|v| v["serial"].as_u64().unwrap()).collect();
    assert!(serials.windows(2).all(|w| w[0] < w[1]), "one consistent serial sequence: {serials:?}");
    assert!(versions.iter().all(|v| v["lineage"] == versions[0]["lineage"]));
}

#[test]
fn postgres_stopped_mid_apply_fails_the_run_naming_it_and_the_next_apply_converges() {
    if !require_docker() {
        return;
    }
    let pg = Postgres::start();
    // A second container made once the first is ready: its writes come after PostgreSQL is gone.
    let after = "\ncontainer \"after\" {\n  image      = \"flinkform-offline/busybox:static\"\n  command    = [\"sleep\", \"3600\"]\n  depends_on = [container.web]\n}\n";
    let mut p = Project::new("fft-pgdown", &format!("{HCL}{after}"));
    p.env.push(("FLINKFORM_PG_CONN_STR".into(), format!("{} password={PASSWORD}", pg.conn)));
    let child = spawn(&p, &["apply", "-auto-approve", "-var", "ready_after=8"]);
    // The container is created (and recorded); PostgreSQL goes away while apply waits for it.
    eventually("the container to be created", Duration::from_secs(60), || p.container_id("fft-pgdown-web"));
    let stop = Command::new("bash").arg("scripts/postgres.sh").arg("stop").arg(pg.dir.path()).status().unwrap();
    assert!(stop.success());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "the run fails when its state cannot be written");
    assert!(err.contains("PostgreSQL state") && err.contains("schema ff_state"), "the error names the backend: {err}");
    assert!(!err.contains(PASSWORD) && !String::from_utf8_lossy(&out.stdout).contains(PASSWORD));
    let id = p.container_id("fft-pgdown-web").unwrap();

    // Back again: one apply converges, adopting what the interrupted run made.
    let start = Command::new("bash").arg("scripts/postgres.sh").arg("start").arg(pg.dir.path()).output().unwrap();
    assert!(start.status.success());
    let out = p.ok(&["apply", "-auto-approve", "-var", "ready_after=8"]);
    assert!(out.contains("Apply complete!"), "{out}");
    assert!(p.ok(&["plan", "-var", "ready_after=8"]).contains("No changes."));
    assert_eq!(p.container_id("fft-pgdown-web"), Some(id), "nothing was lost: the container is the one made before");
    assert!(p.container_id("fft-pgdown-after").is_some());
}

/// Compare-and-swap, through the library against the real server: a writer whose read is out of
/// date (another wrote since, as a run that lost its lock would find) overwrites nothing.
#[test]
fn a_writer_whose_read_is_out_of_date_cannot_overwrite_the_state() {
    use flinkform::state::{Location, PgLocation, StateWriter};
    let pg = Postgres::start();
    let location =
        Location::Postgres(PgLocation { conn_str: pg.conn.clone(), schema: "ff_cas".into(), project: "cas".into() });
    let mut first = location.read().unwrap();
    StateWriter::new(&location, &first).save(&mut first).unwrap();
    let read_by_a = location.read().unwrap();
    let read_by_b = location.read().unwrap();
    let (mut a, mut b) = (read_by_a.clone(), read_by_b.clone());
    a.salt = "written by A".into();
    StateWriter::new(&location, &read_by_a).save(&mut a).unwrap();
    b.salt = "written by B".into();
    let err = StateWriter::new(&location, &read_by_b).save(&mut b).unwrap_err().to_string();
    assert!(err.contains("another writer changed it") && err.contains("nothing was overwritten"), "{err}");
    let now = location.read().unwrap();
    assert_eq!((now.salt.as_str(), now.serial), ("written by A", a.serial), "A's write stands");
}
