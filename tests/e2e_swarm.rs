//! End to end on a Docker swarm of two engines (issue 19): this machine's engine as the
//! manager and a second engine as a worker (`scripts/swarm.sh up 1`: a dockerd in a network
//! namespace of its own, joined over a veth link; overlay traffic between the two flows). The
//! HA example — three ZooKeeper servers, two JobManagers, kept on the manager by `placement` —
//! and a job, applied with `engine = "swarm"`: every role a service; the TaskManagers one
//! replicated service spread over both nodes, registered with Flink across the overlay, scaled
//! in place (2 → 4 → 1) without touching the JobManagers' tasks; checkpoints, savepoints and
//! HA storage on a directory both engines share (a bind mount, as NFS would be); the job
//! upgraded through a savepoint; a TaskManager memory change rolled over the service's tasks
//! one at a time (the service kept, the job suspended and restored from its savepoint); a
//! service scaled outside flinkform is drift; the worker's
//! engine stopped → the swarm reschedules its TaskManager, `plan` shows no drift and the job
//! runs again; destroy leaves no service or network. Before it, the quickstart example with
//! `engine = "swarm"` and TLS: its two TaskManagers, one on each node, registered over TLS
//! with keystores the swarm mounts from secrets; and the application example, upgraded to a
//! new image through a savepoint. Checked through
//! `docker service ps`, `docker node ls` and Flink's REST API.

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

variable "tm_memory" {
  type    = string
  default = "1024m"
}

variable "secret" {
  type      = string
  default   = "s3cr3t-swarm-value"
  sensitive = true
}

cluster "ha" {
  image = "flinkform-offline/flink:2.3.0-java17"

  # A directory every node shares (this machine's engines share its file system).
  volumes           = ["SHARED:/flink-shared"]
  allow_host_access = true

  flink_config = {
    "execution.checkpointing.interval" = "2s"
    "state.checkpoints.dir"            = "file:///flink-shared/checkpoints"
    "state.savepoints.dir"             = "file:///flink-shared/savepoints"
    "metrics.fetcher.update-interval"  = "1000"
    "s3.secret-key"                    = var.secret
  }

  high_availability {
    storage_dir = "file:///flink-shared/ha"
  }

  zookeeper {
    replicas = 3
    image    = "flinkform-offline/zookeeper:3.8"
    memory   = "256m"
    placement {
      constraints = ["node.role == manager"]
    }
  }

  jobmanager {
    replicas = 2
    memory   = "1024m"
    placement {
      constraints = ["node.role == manager"]
    }
  }

  taskmanager {
    replicas = var.taskmanagers
    slots    = 2
    memory   = var.tm_memory
    env      = { API_TOKEN = var.secret }
    placement {
      spread = "node.id"
    }
    rolling_update {
      monitor = "2s"
    }
  }
}

job "counter" {
  cluster      = cluster.ha.name
  jar          = "stateful-counter.jar"
  entry_class  = "org.flinkform.examples.StatefulCounter"
  args         = ["20"]
  parallelism  = var.parallelism
  savepoint_dir = "file:///flink-shared/savepoints"
}
"#;

/// The swarm the tests run on: made by the project's script, left again when the test ends.
struct Swarm;

impl Swarm {
    fn up() -> Swarm {
        let ok = Command::new("bash").args(["scripts/swarm.sh", "up", "1"]).status().unwrap().success();
        assert!(ok, "scripts/swarm.sh up 1 makes this engine a swarm manager with one worker engine");
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

/// The nodes' hostnames: (the manager, the worker).
fn nodes() -> (String, String) {
    let manager = docker(&["node", "ls", "--filter", "role=manager", "--format", "{{.Hostname}}"]).trim().to_string();
    let worker = docker(&["node", "ls", "--filter", "role=worker", "--format", "{{.Hostname}} {{.Status}}"]);
    let worker = worker.lines().find(|l| l.ends_with(" Ready")).and_then(|l| l.split(' ').next()).unwrap_or_default();
    (manager, worker.to_string())
}

#[test]
fn the_ha_example_runs_scales_and_upgrades_on_a_swarm_of_two_engines() {
    if !require_docker() {
        return;
    }
    let _swarm = Swarm::up();
    let build = Command::new("bash").arg("examples/jobs/build.sh").status().unwrap();
    assert!(build.success(), "examples/jobs/build.sh compiles the job");
    let shared = tempfile::tempdir().unwrap();
    // Flink runs as its own user in the containers.
    Command::new("chmod").arg("777").arg(shared.path()).status().unwrap();
    let p = Project::new("e2eswarm", &HCL.replace("SHARED", shared.path().to_str().unwrap()));
    std::fs::copy("examples/jobs/stateful-counter.jar", p.path().join("stateful-counter.jar")).unwrap();
    let tm = "e2eswarm-ha-taskmanager";
    let jms = ["e2eswarm-ha-jobmanager-0", "e2eswarm-ha-jobmanager-1"];
    let (manager, worker) = nodes();
    assert!(!worker.is_empty() && worker != manager, "a second engine joined as a worker");
    quickstart_on_the_swarm(&manager, &worker);
    application_on_the_swarm(&manager);

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
    // Spread over both engines; the JobManagers where their constraint puts them.
    let mut tm_nodes: Vec<String> = tasks(tm).into_iter().map(|t| t.1).collect();
    tm_nodes.sort();
    let mut both = vec![manager.clone(), worker.clone()];
    both.sort();
    assert_eq!(tm_nodes, both, "one TaskManager on each node");
    assert!(jms.iter().all(|s| tasks(s).iter().all(|t| t.1 == manager)));
    let urls = rest_urls(&p);
    assert_eq!(urls.len(), 2, "each JobManager's REST URL recorded: {urls:?}");
    let url = urls[0].clone();
    // The TaskManager on the worker reached the JobManager over the overlay network.
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
    assert!(status.contains("taskmanager 2/2 running on "), "{status}");
    assert!(status.contains(&worker), "{status}");
    let json: Value = serde_json::from_str(&p.ok(&["status", "--json"])).unwrap();
    let cluster = &json.as_array().unwrap()[0];
    assert_eq!(
        (cluster["taskmanagers"].as_u64(), cluster["taskmanagers_expected"].as_u64()),
        (Some(2), Some(2)),
        "{cluster}"
    );
    // Sensitive values are swarm secrets, read into the environment at start: no service spec
    // shows them, and Flink and the TaskManagers' processes have them.
    for service in docker(&["service", "ls", "-q", "--filter", "label=io.flinkform.project=e2eswarm"]).lines() {
        let spec = docker(&["service", "inspect", service]);
        assert!(!spec.contains("s3cr3t-swarm-value"), "a secret in the spec of {service}");
    }
    let secrets = docker(&["secret", "ls", "--filter", "label=io.flinkform.project=e2eswarm", "--format", "{{.Name}}"]);
    assert!(secrets.lines().any(|n| n.starts_with(&format!("{tm}-api-token-"))), "{secrets}");
    assert!(secrets.lines().any(|n| n.starts_with(&format!("{tm}-flink-properties-"))), "{secrets}");
    let local = tasks(tm).into_iter().find(|t| t.1 == manager).expect("a TaskManager on this engine");
    let container =
        docker(&["ps", "-q", "--filter", &format!("label=com.docker.swarm.task.id={}", local.0)]).trim().to_string();
    // As the user Flink runs as (reading another user's process environment needs a capability
    // the hardened container does not have).
    let environ = docker(&["exec", "-u", "flink", &container, "sh", "-c", "tr '\\0' '\\n' < /proc/1/environ"]);
    assert!(environ.lines().any(|l| l == "API_TOKEN=s3cr3t-swarm-value"), "{environ}");
    let config = get_json(&format!("{url}/jobmanager/config"));
    let keys: Vec<&str> = config.as_array().unwrap().iter().filter_map(|e| e["key"].as_str()).collect();
    assert!(keys.contains(&"s3.secret-key"), "the JobManager read its settings from the secret: {keys:?}");
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
    p.ok(&["apply", "-auto-approve"]);

    // The job upgraded through a savepoint on the shared directory: the new job restores from it.
    eventually("the job to run again", Duration::from_secs(180), || job_running(&url, &jid).then_some(()));
    let out = p.ok(&["apply", "-auto-approve", "-var", "parallelism=3"]);
    assert!(out.contains("Stopping with a savepoint"), "{out}");
    let jid = job_id(&p);
    eventually("the upgraded job to run", Duration::from_secs(120), || job_running(&url, &jid).then_some(()));
    let restored = restored_from(&url, &jid).expect("the upgraded job restored from a savepoint");
    assert!(restored.contains("/flink-shared/savepoints/savepoint-"), "{restored}");

    // A TaskManager configuration change rolls over the service's tasks, one at a time, after
    // the job's savepoint; the service is the same, and the job is restored from the savepoint.
    let service_id = docker(&["service", "inspect", "-f", "{{.ID}}", tm]).trim().to_string();
    let vars = ["-var", "parallelism=3", "-var", "tm_memory=1200m"];
    let plan = p.ok(&[&["plan"][..], &vars].concat());
    assert!(plan.contains(&format!("~ service \"{tm}\"")), "{plan}");
    assert!(
        plan.contains("rolling update of its 2 tasks: 1 task at a time, stop-first (an old task stops before its successor starts), each watched 2s"),
        "{plan}"
    );
    assert!(plan.contains("every TaskManager is restarted by a rolling update: suspended with a savepoint"), "{plan}");
    assert!(plan.contains("Plan: 0 to add, 2 to change, 0 to destroy."), "{plan}");
    let out = p.ok(&[&["apply", "-auto-approve"][..], &vars].concat());
    assert!(out.contains("Rolling update...") && out.contains("Stopping with a savepoint"), "{out}");
    assert_eq!(docker(&["service", "inspect", "-f", "{{.ID}}", tm]).trim(), service_id, "the service is kept");
    assert_eq!(docker(&["service", "inspect", "-f", "{{.UpdateStatus.State}}", tm]).trim(), "completed");
    let limit = docker(&["service", "inspect", "-f", "{{.Spec.TaskTemplate.Resources.Limits.MemoryBytes}}", tm]);
    assert_eq!(limit.trim(), (1200u64 * 1024 * 1024).to_string());
    let replaced = docker(&["service", "ps", "-q", "--filter", "desired-state=shutdown", tm]);
    assert!(replaced.lines().count() >= 2, "the old tasks were shut down: {replaced}");
    assert_eq!(running_tasks(tm), 2);
    assert_eq!(taskmanager_ids(&url), [format!("{tm}-1"), format!("{tm}-2")]);
    let jid = job_id(&p);
    eventually("the job to run after the rolling update", Duration::from_secs(120), || {
        job_running(&url, &jid).then_some(())
    });
    let restored = restored_from(&url, &jid).expect("the job restored from its savepoint");
    assert!(restored.contains("/flink-shared/savepoints/savepoint-"), "{restored}");
    assert!(p.ok(&[&["plan"][..], &vars].concat()).contains("No changes."));

    // The worker's engine stops: the swarm puts its TaskManager on the manager, which is not
    // drift, and the job runs again from its checkpoints on the shared directory.
    assert!(tasks(tm).iter().any(|t| t.1 == worker), "a TaskManager runs on the worker: {:?}", tasks(tm));
    let ok = Command::new("bash").args(["scripts/swarm.sh", "stop-worker", "1"]).status().unwrap().success();
    assert!(ok, "the worker's engine stops");
    eventually("the swarm to reschedule the worker's task", Duration::from_secs(120), || {
        let t = tasks(tm);
        (t.len() == 2 && t.iter().all(|t| t.1 == manager && t.2.starts_with("Running"))).then_some(())
    });
    let plan = p.ok(&[&["plan"][..], &vars].concat());
    assert!(plan.contains("No changes."), "a rescheduled task is not drift:\n{plan}");
    eventually("the job to run again on the manager", Duration::from_secs(240), || {
        job_running(&url, &jid).then_some(())
    });

    // Destroy leaves no service, network or container of the project; the data volume is kept
    // with the job's final savepoint, as on a single engine.
    let out = p.ok(&[&["destroy", "-auto-approve"][..], &vars].concat());
    assert!(out.contains("Kept on Docker (it holds savepoints)"), "{out}");
    assert_eq!(p.labelled(), ["volume e2eswarm-ha-data"], "only the volume with the final savepoint is left");
    let secrets = docker(&["secret", "ls", "-q", "--filter", "label=io.flinkform.project=e2eswarm"]);
    assert!(secrets.trim().is_empty(), "secrets left: {secrets}");
}

/// The quickstart as it ships, on the swarm, with TLS, its JobManager on the worker and its
/// TaskManagers spread over both nodes: a TaskManager service of two tasks, both registered
/// with Flink (over TLS: the keystores reach the worker as swarm secrets, not in the manager's
/// TLS volume); flinkform reads Flink's REST API at the worker's address with its certificate
/// (which names `localhost`, not that address); destroyed again.
fn quickstart_on_the_swarm(manager: &str, worker: &str) {
    let hcl = std::fs::read_to_string("examples/quickstart/main.hcl").unwrap();
    let hcl = hcl
        .replace("  project = \"quickstart\"", "  project = \"e2eswarmqs\"\n  engine  = \"swarm\"")
        .replace("  image = var.flink_image\n", "  image = var.flink_image\n  security {\n    tls = true\n  }\n")
        .replace(
            "    memory = \"1024m\"\n  }",
            "    memory = \"1024m\"\n    placement {\n      constraints = [\"node.role == worker\"]\n    }\n  }",
        )
        .replace(
            "    memory   = \"1024m\"\n  }\n}",
            "    memory   = \"1024m\"\n    placement {\n      spread = \"node.id\"\n    }\n  }\n}",
        );
    assert!(hcl.contains("tls = true") && hcl.contains("spread") && hcl.contains("node.role == worker"), "{hcl}");
    let q = Project::new("e2eswarmqs", &hcl);
    let out = q.ok(&["apply", "-auto-approve"]);
    assert!(out.contains("Apply complete!"), "{out}");
    // The JobManager runs on the worker; flinkform reached it at the worker's address.
    let jm = "e2eswarmqs-quickstart-jobmanager-0";
    assert!(tasks(jm).iter().all(|t| t.1 == worker), "{:?}", tasks(jm));
    let worker_addr = docker(&["node", "inspect", "-f", "{{.Status.Addr}}", worker]).trim().to_string();
    let urls = rest_urls(&q);
    assert!(
        urls.len() == 1 && urls[0].starts_with(&format!("https://{worker_addr}:")),
        "the REST URL is the worker's published port: {urls:?}"
    );
    let output = q.ok(&["output", "-raw", "rest_url"]);
    assert_eq!(output.trim(), urls[0], "`output rest_url` names where the JobManager is reached");
    let tm = "e2eswarmqs-quickstart-taskmanager";
    let mut on: Vec<String> = tasks(tm).into_iter().map(|t| t.1).collect();
    on.sort();
    let mut both = vec![manager.to_string(), worker.to_string()];
    both.sort();
    assert_eq!(on, both, "one TaskManager on each node");
    let status: Value = serde_json::from_str(&q.ok(&["status", "--json"])).unwrap();
    let cluster = &status.as_array().unwrap()[0];
    assert_eq!(
        (cluster["taskmanagers"].as_u64(), cluster["taskmanagers_expected"].as_u64()),
        (Some(2), Some(2)),
        "both TaskManagers registered over TLS, read over TLS: {cluster}"
    );
    assert!(rest_urls(&q).iter().all(|u| u.starts_with("https://")), "{:?}", rest_urls(&q));
    // The keystores are secrets mounted where Flink's configuration names them, no volume.
    let spec = docker(&["service", "inspect", tm]);
    assert!(spec.contains("\"/flink-tls/internal.p12\""), "{spec}");
    assert!(!spec.contains("e2eswarmqs-quickstart-tls"), "the node-local TLS volume is not mounted: {spec}");
    let secrets =
        docker(&["secret", "ls", "--filter", "label=io.flinkform.project=e2eswarmqs", "--format", "{{.Name}}"]);
    assert!(secrets.lines().any(|n| n.starts_with(&format!("{tm}-tls-internal-p12-"))), "{secrets}");
    assert!(q.ok(&["plan"]).contains("No changes."));

    // A run stopped after it made a service's secrets, before the service used them, leaves
    // secrets nothing mounts: one made by hand with the labels such a run gives (its service's
    // and the service's name) is planned for removal and removed.
    let stray = format!("{tm}-tls-rest-p12-0a1b2c");
    let made = secrets.lines().find(|n| n.starts_with(&format!("{tm}-tls-"))).unwrap();
    let labels: std::collections::BTreeMap<String, String> =
        serde_json::from_str(&docker(&["secret", "inspect", "-f", "{{json .Spec.Labels}}", made])).unwrap();
    let mut create = vec!["secret".to_string(), "create".to_string()];
    for (k, v) in &labels {
        create.extend(["--label".to_string(), format!("{k}={v}")]);
    }
    create.extend([stray.clone(), "/etc/hostname".to_string()]);
    docker(&create.iter().map(String::as_str).collect::<Vec<_>>());
    let out = q.run(&["plan", "-detailed-exitcode"]);
    let plan = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(2), "{plan}");
    assert!(plan.contains(&format!("- secret \"{stray}\"")), "{plan}");
    assert!(plan.contains(&format!("made for service {tm}, which does not mount it")), "{plan}");
    assert!(plan.contains("Plan: 0 to add, 0 to change, 1 to destroy."), "{plan}");
    q.ok(&["apply", "-auto-approve"]);
    let left = docker(&["secret", "ls", "--filter", "label=io.flinkform.project=e2eswarmqs", "--format", "{{.Name}}"]);
    assert!(!left.contains(&stray), "{left}");
    assert_eq!(left.lines().count(), secrets.lines().count(), "the mounted secrets are kept: {left}");
    assert!(q.ok(&["plan"]).contains("No changes."));

    // The spec changed outside flinkform (`docker service update` keeps every label): drift,
    // named by field, and the configuration's spec rolled out again.
    docker(&["service", "update", "--quiet", "--env-add", "OUTSIDE=1", tm]);
    let out = q.run(&["plan", "-detailed-exitcode"]);
    let plan = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(2), "{plan}");
    assert!(
        plan.contains(
            "changed outside flinkform (docker service update): its spec no longer matches what flinkform sent in env"
        ),
        "{plan}"
    );
    q.ok(&["apply", "-auto-approve"]);
    let env = docker(&["service", "inspect", "-f", "{{json .Spec.TaskTemplate.ContainerSpec.Env}}", tm]);
    assert!(!env.contains("OUTSIDE"), "{env}");
    assert!(q.ok(&["plan"]).contains("No changes."));
    let status: Value = serde_json::from_str(&q.ok(&["status", "--json"])).unwrap();
    assert_eq!(status[0]["taskmanagers"].as_u64(), Some(2), "both TaskManagers registered again: {status}");

    // A rolling update whose new tasks fail (a TaskManager memory Flink refuses to start with):
    // the swarm rolls it back, apply fails saying so, the previous configuration runs.
    let limit = || docker(&["service", "inspect", "-f", "{{.Spec.TaskTemplate.Resources.Limits.MemoryBytes}}", tm]);
    let before = limit();
    q.write("main.hcl", &hcl.replace("    memory   = \"1024m\"\n", "    memory   = \"300m\"\n"));
    let out = q.run(&["apply", "-auto-approve"]);
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("rolled it back: the previous configuration runs"), "{text}");
    assert_eq!(limit(), before, "the previous spec runs again");
    eventually("both TaskManagers registered again", Duration::from_secs(120), || {
        let status: Value = serde_json::from_str(&q.ok(&["status", "--json"])).ok()?;
        (status[0]["taskmanagers"].as_u64() == Some(2)).then_some(())
    });
    let plan = q.ok(&["plan"]);
    assert!(plan.contains("rolling update of its 2 tasks"), "the update is still planned: {plan}");
    q.write("main.hcl", &hcl);
    assert!(q.ok(&["plan"]).contains("No changes."));

    q.ok(&["destroy", "-auto-approve"]);
    assert!(services("label=io.flinkform.project=e2eswarmqs").is_empty());
    let secrets = docker(&["secret", "ls", "-q", "--filter", "label=io.flinkform.project=e2eswarmqs"]);
    assert!(secrets.trim().is_empty(), "secrets left: {secrets}");
}

/// The application example on the swarm (its images are this engine's, so its services are
/// kept on the manager): the JobManager's service runs the application with this run's job id;
/// a new image stops it with a savepoint and the new JobManager service starts it from there.
fn application_on_the_swarm(manager: &str) {
    for version in ["1", "2"] {
        let ok = Command::new("bash").args(["examples/application/build.sh", version]).status().unwrap().success();
        assert!(ok, "examples/application/build.sh {version}");
    }
    let hcl = std::fs::read_to_string("examples/application/main.hcl").unwrap();
    let on_manager = "    placement {\n      constraints = [\"node.role == manager\"]\n    }\n";
    let hcl = hcl
        .replace("  project = \"application\"", "  project = \"e2eswarmapp\"\n  engine  = \"swarm\"")
        .replace("    memory = \"1024m\"\n", &format!("    memory = \"1024m\"\n{on_manager}"))
        .replace("    memory   = \"1024m\"\n", &format!("    memory   = \"1024m\"\n{on_manager}"));
    assert_eq!(hcl.matches("node.role == manager").count(), 2, "{hcl}");
    let a = Project::new("e2eswarmapp", &hcl);
    a.ok(&["apply", "-auto-approve"]);
    let jm = "e2eswarmapp-counter-jobmanager-0";
    assert!(tasks(jm).iter().all(|t| t.1 == manager));
    let url = rest_urls(&a).pop().expect("the JobManager's REST URL");
    let app = |a: &Project| {
        let s = state(a);
        let r = s["resources"].as_array().unwrap().iter().find(|r| r["address"] == "cluster.counter.application");
        let r = r.expect("the application in state").clone();
        (r["id"].as_str().unwrap().to_string(), r["savepoint"].as_str().map(str::to_string))
    };
    let (j1, _) = app(&a);
    eventually("the application to run", Duration::from_secs(120), || job_running(&url, &j1).then_some(()));
    let args = docker(&["service", "inspect", "-f", "{{json .Spec.TaskTemplate.ContainerSpec.Args}}", jm]);
    assert!(args.contains(&format!("\"standalone-job\",\"--job-id\",\"{j1}\"")), "{args}");
    assert!(a.ok(&["plan"]).contains("No changes."));

    let v2 = ["-var", "app_version=2"];
    let plan = a.ok(&[&["plan"][..], &v2].concat());
    assert!(plan.contains("suspended with a savepoint before, restored from it after"), "{plan}");
    a.ok(&[&["apply", "-auto-approve"][..], &v2].concat());
    let url = rest_urls(&a).pop().unwrap();
    let (j2, savepoint) = app(&a);
    let savepoint = savepoint.expect("the savepoint is recorded");
    assert_ne!(j1, j2);
    eventually("the upgraded application to run", Duration::from_secs(120), || job_running(&url, &j2).then_some(()));
    assert_eq!(restored_from(&url, &j2).as_deref(), Some(savepoint.as_str()), "Flink restored the savepoint");
    let args = docker(&["service", "inspect", "-f", "{{json .Spec.TaskTemplate.ContainerSpec.Args}}", jm]);
    assert!(args.contains(&format!("\"--fromSavepoint\",\"{savepoint}\"")), "{args}");
    assert_eq!(
        docker(&["service", "inspect", "-f", "{{.Spec.TaskTemplate.ContainerSpec.Image}}", jm]).trim(),
        "flinkform-example/counter-app:2"
    );
    assert!(a.ok(&[&["plan"][..], &v2].concat()).contains("No changes."));
    a.ok(&[&["destroy", "-auto-approve"][..], &v2].concat());
    assert!(services("label=io.flinkform.project=e2eswarmapp").is_empty());
}
