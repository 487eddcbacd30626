//! P6: flinkform on a swarm (`engine = "swarm"`, this machine's engine as a one-node swarm from
//! scripts/swarm.sh). A no-op `plan` of N light services against its floor — one filtered
//! service list and one task list through the API, plus the process start — and the cold apply
//! of the quickstart (a JobManager and two TaskManagers, to every TaskManager registered)
//! against `docker stack deploy` of the same services in a Compose v3 file, to the same
//! readiness (Flink's `/overview` counting both TaskManagers), interleaved.

use super::{IMAGE, PARALLELISM, Report, ff, run, stats};
use bollard::Docker;
use bollard::query_parameters::{ListServicesOptionsBuilder, ListTasksOptionsBuilder};
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const FLINK: &str = "flinkform-offline/flink:2.3.0-java17";
/// Rounds of the no-op measurement (after one not counted).
const ROUNDS: usize = 30;

fn swarm(args: &[&str]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/swarm.sh");
    assert!(Command::new("bash").arg(script).args(args).status().unwrap().success(), "scripts/swarm.sh {args:?}");
}

/// One filtered service list and one task list: what a no-op plan of a swarm project must ask.
async fn floor(docker: &Docker, project: &str) -> usize {
    let labelled = HashMap::from([("label", vec![format!("io.flinkform.project={project}")])]);
    let running = HashMap::from([("desired-state", vec!["running".to_string()])]);
    let (services, tasks) = tokio::join!(
        docker.list_services(Some(ListServicesOptionsBuilder::new().filters(&labelled).build())),
        docker.list_tasks(Some(ListTasksOptionsBuilder::new().filters(&running).build())),
    );
    let _ = tasks.unwrap();
    services.unwrap().len()
}

/// How many tasks of the swarm run.
async fn running_tasks(docker: &Docker) -> usize {
    let running = HashMap::from([("desired-state", vec!["running".to_string()])]);
    let tasks = docker.list_tasks(Some(ListTasksOptionsBuilder::new().filters(&running).build())).await.unwrap();
    tasks
        .iter()
        .filter(|t| t.status.as_ref().and_then(|s| s.state) == Some(bollard::models::TaskState::RUNNING))
        .count()
}

pub async fn p6(report: &mut Report, docker: &Docker, n: usize, reps: usize) {
    // One node: what is measured is flinkform's work and the manager's answers.
    swarm(&["up", "0"]);
    noop(report, docker, n).await;
    cold(report, reps);
    swarm(&["down"]);
}

async fn noop(report: &mut Report, docker: &Docker, n: usize) {
    let dir = tempfile::tempdir().unwrap();
    let hcl = format!(
        "flinkform {{\n  project = \"ffbenchp6\"\n  engine  = \"swarm\"\n}}\n\ncontainer \"c\" {{\n  count   = {n}\n  image   = \"{IMAGE}\"\n  command = [\"sh\", \"-c\", \"trap 'exit 0' TERM; sleep 2147483647 & wait\"]\n  memory  = \"16m\"\n}}\n"
    );
    std::fs::write(dir.path().join("main.hcl"), hcl).unwrap();
    run(&mut ff(dir.path(), &["apply", "--auto-approve", "--parallelism", &PARALLELISM.to_string()]));
    // The swarm starts the tasks after apply returns: measured once they all run (the engine
    // starting containers would be timed otherwise).
    let started = Instant::now();
    while running_tasks(docker).await < n {
        assert!(started.elapsed() < Duration::from_secs(300), "the {n} tasks did not start");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    // Each round measures the process start, the plan and the floor one after the other, so a
    // round's ratio compares the three under the same load (the engine's and the machine's
    // speed drift over a run: one run's floor medians here ranged 0.004–0.007 s).
    let (mut plans, mut floors, mut starts, mut ratios) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for rep in 0..=ROUNDS {
        let s = run(&mut ff(dir.path(), &["--version"]));
        let plan = run(&mut ff(dir.path(), &["plan", "-detailed-exitcode"]));
        let t = Instant::now();
        assert_eq!(floor(docker, "ffbenchp6").await, n);
        let f = t.elapsed();
        if rep > 0 {
            ratios.push(plan.as_secs_f64() / (f + s).as_secs_f64());
            plans.push(plan);
            floors.push(f);
            starts.push(s);
        }
    }
    let (plan, f, s) = (stats(plans), stats(floors), stats(starts));
    ratios.sort_by(f64::total_cmp);
    let paired = ratios[ratios.len() / 2];
    report.row(
        &format!("P6 no-op, N={n} services"),
        "flinkform plan, engine = \"swarm\"",
        &plan,
        &format!(
            "{paired:.2}x of floor+start, median of {ROUNDS} rounds' ratios; {:.2}x by the medians (target: within 1.5x)",
            plan.median / (f.median + s.median)
        ),
    );
    report.row(&format!("P6 no-op, N={n} services"), "service list + task list (floor)", &f, "");
    report.row(&format!("P6 no-op, N={n} services"), "flinkform process start (--version), same rounds", &s, "");
    run(&mut ff(dir.path(), &["destroy", "--auto-approve", "--parallelism", &PARALLELISM.to_string()]));
}

/// The quickstart's services as a Compose v3 file for `docker stack deploy`: the same image,
/// commands, memory and Flink settings as flinkform gives them.
const STACK: &str = r#"version: "3.8"
services:
  jobmanager:
    image: IMAGE
    command: ["jobmanager"]
    hostname: jobmanager
    environment:
      FLINK_PROPERTIES: |
        jobmanager.rpc.address: jobmanager
        jobmanager.memory.process.size: 1024m
        rest.port: 8081
    ports:
      - target: 8081
        published: 18081
        mode: host
    deploy:
      endpoint_mode: dnsrr
      resources:
        limits:
          memory: 1024m
  taskmanager:
    image: IMAGE
    command: ["taskmanager"]
    hostname: "{{.Service.Name}}-{{.Task.Slot}}"
    environment:
      FLINK_PROPERTIES: |
        jobmanager.rpc.address: jobmanager
        taskmanager.memory.process.size: 1024m
        taskmanager.numberOfTaskSlots: 2
        cluster.registration.error-delay: 500
    deploy:
      replicas: 2
      endpoint_mode: dnsrr
      resources:
        limits:
          memory: 1024m
"#;

const QUICKSTART: &str = r#"flinkform {
  project = "ffbenchp6q"
  engine  = "swarm"
}
cluster "q" {
  image = "IMAGE"
  jobmanager {
    memory = "1024m"
  }
  taskmanager {
    replicas = 2
    slots    = 2
    memory   = "1024m"
  }
}
"#;

fn registered(url: &str) -> bool {
    let out = Command::new("curl").args(["-sf", &format!("{url}/overview")]).output().unwrap();
    serde_json::from_slice::<serde_json::Value>(&out.stdout).is_ok_and(|v| v["taskmanagers"] == 2)
}

fn wait_registered(url: &str) {
    let deadline = Instant::now() + Duration::from_secs(180);
    while !registered(url) {
        assert!(Instant::now() < deadline, "{url} never counted two TaskManagers");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Removes the stack and waits until its containers are gone (its network goes with them).
fn stack_rm() {
    let _ = Command::new("docker").args(["stack", "rm", "ffbenchp6stack"]).output();
    let deadline = Instant::now() + Duration::from_secs(90);
    let filter = "label=com.docker.stack.namespace=ffbenchp6stack";
    loop {
        let out = Command::new("docker").args(["ps", "-aq", "--filter", filter]).output().unwrap();
        let nets = Command::new("docker").args(["network", "ls", "-q", "--filter", filter]).output().unwrap();
        if (out.stdout.is_empty() && nets.stdout.is_empty()) || Instant::now() > deadline {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn cold(report: &mut Report, reps: usize) {
    let ffdir = tempfile::tempdir().unwrap();
    std::fs::write(ffdir.path().join("main.hcl"), QUICKSTART.replace("IMAGE", FLINK)).unwrap();
    let stackdir = tempfile::tempdir().unwrap();
    let compose = stackdir.path().join("stack.yml");
    std::fs::write(&compose, STACK.replace("IMAGE", FLINK)).unwrap();
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..reps {
        // flinkform's apply ends when every TaskManager is registered.
        ours.push(run(&mut ff(ffdir.path(), &["apply", "--auto-approve"])));
        run(&mut ff(ffdir.path(), &["destroy", "--auto-approve"]));
        let t = Instant::now();
        run(Command::new("docker").args(["stack", "deploy", "-c"]).arg(&compose).arg("ffbenchp6stack"));
        wait_registered("http://127.0.0.1:18081");
        theirs.push(t.elapsed());
        stack_rm();
    }
    let (a, b) = (stats(ours), stats(theirs));
    report.row(
        "P6 cold apply, quickstart",
        "flinkform apply, engine = \"swarm\" (to 2 TaskManagers registered)",
        &a,
        &format!("{:.2}x of docker stack deploy (target: within 1.2x)", a.median / b.median),
    );
    report.row("P6 cold apply, quickstart", "docker stack deploy + wait for /overview", &b, "");
}
