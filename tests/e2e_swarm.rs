//! End to end on a Docker swarm (issue 19, first part): the HA example — three ZooKeeper
//! servers, two JobManagers — and a job, applied with `engine = "swarm"` on this machine's
//! engine as a one-node swarm (`scripts/swarm.sh`). Every role is a service; the TaskManagers
//! one replicated service, placed by a constraint and scaled in place (2 → 4 → 1) without
//! touching the JobManagers' tasks; the job upgraded through a savepoint; a service scaled
//! outside flinkform is drift, a task the swarm replaced is not; destroy leaves no service or
//! network (the data volume keeps the final savepoint). Checked through `docker service`, `docker service ps` and Flink's REST.

mod common;
use common::*;
use serde_json::Value;
use std::process::Command;
use std::time::Duration;

const HCL: &str = r#"
flinkform {
  project = "PROJECT"
  engine  = "swarm"
}

variable "taskmanagers" {
  type    = number
  default = 2
}

variable "parallelism" {
  type    = number
  default = 2
}

cluster "ha" {
  image = "flinkform-offline/flink:2.3.0-java17"

  flink_config = {
    "execution.checkpointing.interval" = "2s"
    "state.checkpoints.dir"            = "file:///flink-data/checkpoints"
    "state.savepoints.dir"             = "file:///flink-data/savepoints"
    "metrics.fetcher.update-interval"  = "1000"
  }

  zookeeper {
    replicas = 3
    image    = "flinkform-offline/zookeeper:3.8"
    memory   = "256m"
  }

  jobmanager {
    replicas = 2
    memory   = "1024m"
  }

  taskmanager {
    replicas = var.taskmanagers
    slots    = 2
    memory   = "1024m"
    placement {
      constraints = ["node.role == manager"]
      spread      = "node.id"
    }
  }
}

job "counter" {
  cluster     = cluster.ha.name
  jar         = "stateful-counter.jar"
  entry_class = "org.flinkform.examples.StatefulCounter"
  args        = ["20"]
  parallelism = var.parallelism
}
"#;

/// The swarm the tests run on: made by the project's script, left again when the test ends.
struct Swarm;

impl Swarm {
    fn up() -> Swarm {
        let ok = Command::new("bash").args(["scripts/swarm.sh", "up"]).status().unwrap().success();
        assert!(ok, "scripts/swarm.sh up makes this engine a swarm manager");
        Swarm
    }
}

impl Drop for Swarm {
    fn drop(&mut self) {
        let _ = Command::new("bash").args(["scripts/swarm.sh", "down"]).status();
    }
}

fn state(p: &Project) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p.state_path()).unwrap()).unwrap()
}

/// The REST URLs the state records for the JobManagers' services.
fn rest_urls(p: &Project) -> Vec<String> {
    state(p)["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["rest_url"].as_str().map(str::to_string))
        .collect()
}

fn job_id(p: &Project) -> String {
    let s = state(p);
    let job = s["resources"].as_array().unwrap().iter().find(|r| r["address"] == "job.counter").unwrap().clone();
    job["id"].as_str().unwrap().to_string()
}

/// `docker service ps` of one service: (task id, node, current state) of the tasks meant to run.
fn tasks(service: &str) -> Vec<(String, String, String)> {
    docker(&[
        "service",
        "ps",
        "--no-trunc",
        "--filter",
        "desired-state=running",
        "--format",
        "{{.ID}} {{.Node}} {{.CurrentState}}",
        service,
    ])
    .lines()
    .filter_map(|l| {
        let mut w = l.splitn(3, ' ');
        Some((w.next()?.to_string(), w.next()?.to_string(), w.next()?.to_string()))
    })
    .collect()
}

fn running_tasks(service: &str) -> usize {
    tasks(service).iter().filter(|t| t.2.starts_with("Running")).count()
}

/// The TaskManagers Flink lists, by id.
fn taskmanager_ids(url: &str) -> Vec<String> {
    let tms = get_json(&format!("{url}/taskmanagers"));
    let mut ids: Vec<String> =
        tms["taskmanagers"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap().to_string()).collect();
    ids.sort();
    ids
}

fn job_running(url: &str, jid: &str) -> bool {
    http_get(&format!("{url}/jobs/{jid}")).and_then(|b| serde_json::from_str::<Value>(&b).ok()).is_some_and(|j| {
        j["state"] == "RUNNING" && j["vertices"].as_array().is_some_and(|v| v.iter().all(|v| v["status"] == "RUNNING"))
    })
}

#[test]
fn the_ha_example_runs_scales_and_upgrades_on_a_swarm() {
    if !require_docker() {
        return;
    }
    let _swarm = Swarm::up();
    let build = Command::new("bash").arg("examples/jobs/build.sh").status().unwrap();
    assert!(build.success(), "examples/jobs/build.sh compiles the job");
    let p = Project::new("e2eswarm", HCL);
    std::fs::copy("examples/jobs/stateful-counter.jar", p.path().join("stateful-counter.jar")).unwrap();
    let tm = "e2eswarm-ha-taskmanager";
    let jms = ["e2eswarm-ha-jobmanager-0", "e2eswarm-ha-jobmanager-1"];

    // Every role a service; the plan says so before anything exists.
    let plan = p.ok(&["plan"]);
    assert!(plan.contains(&format!("+ service \"{tm}\"")), "{plan}");
    assert!(plan.contains("+ replicas") && plan.contains("driver = \"overlay\""), "{plan}");
    p.ok(&["apply", "-auto-approve"]);

    let mut services: Vec<String> = docker(&[
        "service",
        "ls",
        "--filter",
        "label=io.flinkform.project=e2eswarm",
        "--format",
        "{{.Name}} {{.Replicas}}",
    ])
    .lines()
    .map(str::to_string)
    .collect();
    services.sort();
    assert_eq!(
        services,
        [
            "e2eswarm-ha-jobmanager-0 1/1",
            "e2eswarm-ha-jobmanager-1 1/1",
            "e2eswarm-ha-taskmanager 2/2",
            "e2eswarm-ha-zookeeper-0 1/1",
            "e2eswarm-ha-zookeeper-1 1/1",
            "e2eswarm-ha-zookeeper-2 1/1",
        ]
    );
    let node = docker(&["node", "ls", "--filter", "role=manager", "--format", "{{.Hostname}}"]).trim().to_string();
    assert!(tasks(tm).iter().all(|t| t.1 == node), "TaskManagers placed on the manager: {:?}", tasks(tm));
    let urls = rest_urls(&p);
    assert_eq!(urls.len(), 2, "each JobManager's REST URL recorded: {urls:?}");
    let url = urls[0].clone();
    assert_eq!(
        taskmanager_ids(&url),
        [format!("{tm}-1"), format!("{tm}-2")],
        "the service's tasks registered with Flink"
    );
    let jid = job_id(&p);
    eventually("the job to run", Duration::from_secs(120), || job_running(&url, &jid).then_some(()));
    assert!(p.ok(&["plan"]).contains("No changes."), "a fresh swarm project plans nothing");
    // `status` shows on which node each task runs, and Flink's count against the configured one.
    let status = p.ok(&["status"]);
    assert!(status.contains(&format!("taskmanager 2/2 running on {node}, {node}")), "{status}");
    let json: Value = serde_json::from_str(&p.ok(&["status", "--json"])).unwrap();
    let cluster = &json.as_array().unwrap()[0];
    assert_eq!(
        (cluster["taskmanagers"].as_u64(), cluster["taskmanagers_expected"].as_u64()),
        (Some(2), Some(2)),
        "{cluster}"
    );
    let task_ids = |s: &str| tasks(s).into_iter().map(|t| t.0).collect::<Vec<_>>();
    let jm_tasks: Vec<_> = jms.iter().map(|s| task_ids(s)).collect();

    // Scaling is an update in place; the JobManagers' tasks are untouched.
    let plan = p.ok(&["plan", "-var", "taskmanagers=4"]);
    assert!(plan.contains(&format!("~ service \"{tm}\"")) && plan.contains("replicas: 2 → 4"), "{plan}");
    assert!(plan.contains("Plan: 0 to add, 1 to change, 0 to destroy."), "{plan}");
    p.ok(&["apply", "-auto-approve", "-var", "taskmanagers=4"]);
    assert_eq!(running_tasks(tm), 4);
    let ids = taskmanager_ids(&url);
    assert!((1..=4).all(|i| ids.contains(&format!("{tm}-{i}"))), "four TaskManagers registered: {ids:?}");
    p.ok(&["apply", "-auto-approve", "-var", "taskmanagers=1"]);
    eventually("one TaskManager task", Duration::from_secs(60), || (running_tasks(tm) == 1).then_some(()));
    assert_eq!(jms.iter().map(|s| task_ids(s)).collect::<Vec<_>>(), jm_tasks, "the JobManagers' tasks are the same");
    eventually("the job to run on one TaskManager", Duration::from_secs(180), || job_running(&url, &jid).then_some(()));

    // Scaled outside flinkform: drift, planned back in place.
    docker(&["service", "scale", "-d", &format!("{tm}=2")]);
    let out = p.run(&["plan", "-detailed-exitcode", "-var", "taskmanagers=1"]);
    let plan = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(2), "{plan}");
    assert!(plan.contains("scaled outside flinkform: it runs 2 replicas, the configuration says 1"), "{plan}");
    p.ok(&["apply", "-auto-approve", "-var", "taskmanagers=2"]);

    // A task the swarm replaces (its container removed under it) is the same service: no drift.
    let (task, _, _) = tasks(tm).into_iter().next().unwrap();
    let container =
        docker(&["ps", "-q", "--filter", &format!("label=com.docker.swarm.task.id={task}")]).trim().to_string();
    assert!(!container.is_empty(), "task {task} runs a container here");
    docker(&["rm", "-f", &container]);
    eventually("the swarm to replace the task", Duration::from_secs(60), || {
        (running_tasks(tm) == 2 && !tasks(tm).iter().any(|t| t.0 == task)).then_some(())
    });
    let plan = p.ok(&["plan", "-var", "taskmanagers=2"]);
    assert!(plan.contains("No changes."), "a rescheduled task is not drift:\n{plan}");

    // The job upgraded through a savepoint: the new job restores from it.
    eventually("the job to run again", Duration::from_secs(180), || job_running(&url, &jid).then_some(()));
    let out = p.ok(&["apply", "-auto-approve", "-var", "taskmanagers=2", "-var", "parallelism=3"]);
    assert!(out.contains("Stopping with a savepoint"), "{out}");
    let new = job_id(&p);
    assert_ne!(new, jid);
    eventually("the upgraded job to run", Duration::from_secs(120), || job_running(&url, &new).then_some(()));
    let restored = restored_from(&url, &new).expect("the upgraded job restored from a savepoint");
    assert!(restored.contains("/flink-data/savepoints/savepoint-"), "{restored}");

    // Destroy leaves no service, network or container of the project; the data volume is kept
    // with the job's final savepoint, as on a single engine.
    let out = p.ok(&["destroy", "-auto-approve", "-var", "taskmanagers=2", "-var", "parallelism=3"]);
    assert!(out.contains("Kept on Docker (it holds savepoints)"), "{out}");
    assert_eq!(p.labelled(), ["volume e2eswarm-ha-data"], "only the volume with the final savepoint is left");
}
