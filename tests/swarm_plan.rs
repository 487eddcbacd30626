//! The same configuration on a swarm, without Docker: what `engine = "swarm"` makes of a
//! cluster (one service per ZooKeeper server and JobManager, one replicated TaskManager
//! service, overlay networks), that scaling is an in-place update lowered to one
//! `update-in-place` operation while a TaskManager configuration change is a rolling update
//! (the plan says its order and parallelism) and other services' changes replace them, and the
//! mistakes named.

mod fixtures;

use fixtures::{applied, plain};
use flinkform::apply::operations::Operations;
use flinkform::config::{self, VarInputs};
use flinkform::model::{self, Desired, Kind, Spec, swarm::ServiceSpec};
use flinkform::plan::{self, Action};

const HCL: &str = r#"
flinkform {
  project = "sw"
  engine  = "swarm"
}
variable "taskmanagers" {
  type    = number
  default = 2
}
variable "tm_memory" {
  type    = string
  default = "1024m"
}
cluster "c" {
  image = "flinkform-offline/flink:2.3.0-java17"
  zookeeper {
    replicas = 3
    image    = "flinkform-offline/zookeeper:3.8"
  }
  jobmanager {
    replicas = 2
  }
  taskmanager {
    replicas = var.taskmanagers
    slots    = 2
    memory   = var.tm_memory
    placement {
      constraints = ["node.labels.flink == worker"]
      spread      = "node.labels.zone"
    }
  }
}
"#;

fn expand(hcl: &str, vars: &[&str]) -> Result<Desired, String> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.hcl"), hcl).unwrap();
    let inputs = VarInputs { var_files: vec![], vars: vars.iter().map(|s| s.to_string()).collect() };
    let cfg = config::load(dir.path(), &inputs)
        .map_err(|e| e.errors.iter().map(|e| format!("{} ({:?})", e.message, e.help)).collect::<Vec<_>>().join("\n"))?;
    Ok(model::expand(&cfg, &model::sensitive::Masker::salted("salt")))
}

fn service<'a>(d: &'a Desired, address: &str) -> &'a ServiceSpec {
    match &d[address].spec {
        Spec::Service(s) => s,
        other => panic!("{address} is not a service: {other:?}"),
    }
}

#[test]
fn every_role_is_a_service_and_the_taskmanagers_one_replicated_service() {
    let d = expand(HCL, &[]).unwrap();
    let kinds: Vec<(&str, Kind)> = d.values().map(|i| (i.address.as_str(), i.kind)).collect();
    assert_eq!(
        kinds,
        [
            ("cluster.c.jobmanager[0]", Kind::Service),
            ("cluster.c.jobmanager[1]", Kind::Service),
            ("cluster.c.network", Kind::Network),
            ("cluster.c.taskmanager", Kind::Service),
            ("cluster.c.volume[\"data\"]", Kind::Volume),
            ("cluster.c.volume[\"zookeeper-0\"]", Kind::Volume),
            ("cluster.c.volume[\"zookeeper-1\"]", Kind::Volume),
            ("cluster.c.volume[\"zookeeper-2\"]", Kind::Volume),
            ("cluster.c.zookeeper[0]", Kind::Service),
            ("cluster.c.zookeeper[1]", Kind::Service),
            ("cluster.c.zookeeper[2]", Kind::Service),
        ]
    );
    assert_eq!(d["cluster.c.network"].spec, Spec::Network { driver: "overlay".into() });
    let tm = service(&d, "cluster.c.taskmanager");
    assert_eq!(d["cluster.c.taskmanager"].name, "sw-c-taskmanager");
    assert_eq!(tm.replicas, 2);
    assert_eq!(tm.placement.constraints, ["node.labels.flink == worker"]);
    assert_eq!(tm.placement.spread.as_deref(), Some("node.labels.zone"));
    // Each task names itself: Flink's resource id and the hostname come from the task's slot.
    assert_eq!(tm.task.hostname, "{{.Service.Name}}-{{.Task.Slot}}");
    assert!(tm.task.env["FLINK_PROPERTIES"].contains("taskmanager.resource-id: {{.Service.Name}}-{{.Task.Slot}}\n"));
    assert_eq!(tm.task.restart, "any");
    let jm = service(&d, "cluster.c.jobmanager[1]");
    assert_eq!((jm.replicas, jm.task.hostname.as_str()), (1, "sw-c-jobmanager-1"), "a JobManager keeps its identity");
    assert!(jm.placement.constraints.is_empty(), "the TaskManagers' placement is theirs");
    // No host address on a swarm: the plan says where the port is published.
    assert_eq!(d["cluster.c.jobmanager[0]"].attributes["port.8081/tcp"], "0.0.0.0:(ephemeral)");
    // What depends on the TaskManagers depends on their service.
    assert!(d.values().all(|i| i.dependencies.iter().all(|dep| !dep.contains("taskmanager["))));
}

#[test]
fn scaling_is_an_update_in_place_and_a_configuration_change_a_rolling_update() {
    let before = expand(HCL, &[]).unwrap();
    let (state, live) = applied(&before, "sw");
    let scaled = expand(HCL, &["taskmanagers=4"]).unwrap();
    assert_eq!(
        scaled["cluster.c.taskmanager"].config_hash, before["cluster.c.taskmanager"].config_hash,
        "replicas are not configuration"
    );
    let p = plan::compute(&scaled, &state, &live, "sw", false).unwrap();
    let changed: Vec<(&str, Action)> =
        p.changes.iter().filter(|c| c.action != Action::NoOp).map(|c| (c.address.as_str(), c.action)).collect();
    assert_eq!(changed, [("cluster.c.taskmanager", Action::Update)]);
    let c = p.changes.iter().find(|c| c.address == "cluster.c.taskmanager").unwrap();
    assert_eq!(
        c.reasons,
        ["replicas: 2 → 4", "scaled in place: the running tasks are kept, 2 more start"],
        "the plan says what scaling does"
    );
    let ops = Operations::lower(&p).to_string();
    assert_eq!(
        ops.lines().next().unwrap_or_default().split("  #").next().unwrap(),
        "0 update-in-place cluster.c.taskmanager"
    );
    assert!(ops.contains("1 wait-ready(registered, 2 slots) cluster.c.taskmanager after 0"), "{ops}");

    let bigger = expand(HCL, &["tm_memory=2048m"]).unwrap();
    let p = plan::compute(&bigger, &state, &live, "sw", false).unwrap();
    let c = p.changes.iter().find(|c| c.address == "cluster.c.taskmanager").unwrap();
    assert_eq!((c.action, c.rolling), (Action::Update, true), "{:?}", c.reasons);
    assert!(c.reasons.iter().any(|r| r.contains("memory")), "{:?}", c.reasons);
    assert_eq!(
        c.reasons.last().unwrap(),
        "rolling update of its 2 tasks: 1 task at a time, stop-first (an old task stops before its successor starts), each watched 5s, rolled back if a new task fails; the service is kept"
    );
    assert!(p.changes.iter().filter(|c| c.address.contains("jobmanager")).all(|c| c.action == Action::NoOp));
    let ops = Operations::lower(&p).to_string();
    assert!(ops.starts_with("0 rolling-update cluster.c.taskmanager  # "), "{ops}");
    assert!(ops.contains("1 wait-ready(registered, 2 slots) cluster.c.taskmanager after 0"), "{ops}");
    let text = plain(plan::render::human(&p));
    assert!(text.contains("~ service \"sw-c-taskmanager\" {"), "{text}");

    // A JobManager's change replaces its service (one task, a fixed identity).
    let jm = expand(
        &HCL.replace(
            "    replicas = 2\n  }\n  taskmanager",
            "    replicas = 2\n    memory   = \"2048m\"\n  }\n  taskmanager",
        ),
        &[],
    )
    .unwrap();
    let p = plan::compute(&jm, &state, &live, "sw", false).unwrap();
    let c = p.changes.iter().find(|c| c.address == "cluster.c.jobmanager[0]").unwrap();
    assert_eq!((c.action, c.rolling), (Action::Replace, false), "{:?}", c.reasons);
}

#[test]
fn a_rolling_update_gives_way_to_a_replacement_of_its_network_or_one_asked_for() {
    let before = expand(HCL, &[]).unwrap();
    let (state, live) = applied(&before, "sw");
    let bigger = expand(HCL, &["tm_memory=2048m"]).unwrap();
    let tm = |replace: &[&str]| {
        let replace: Vec<String> = replace.iter().map(|r| r.to_string()).collect();
        let p = plan::compute_with(&bigger, &state, &live, "sw", false, &replace).unwrap();
        let c = p.changes.iter().find(|c| c.address == "cluster.c.taskmanager").unwrap().clone();
        (c, Operations::lower(&p).to_string())
    };
    // The overlay network replaced: the service goes with it, so it is replaced, not rolled.
    let (c, ops) = tm(&["cluster.c.network"]);
    assert_eq!((c.action, c.rolling), (Action::Replace, false), "{:?}", c.reasons);
    assert!(c.reasons.iter().any(|r| r.contains("memory")), "what changed is still said: {:?}", c.reasons);
    assert_eq!(c.reasons.last().unwrap(), "forced by the replacement of cluster.c.network");
    assert!(!c.reasons.iter().any(|r| r.starts_with("rolling update")), "{:?}", c.reasons);
    assert!(!ops.contains("rolling-update"), "{ops}");
    assert!(ops.contains("remove cluster.c.taskmanager") && ops.contains("create cluster.c.taskmanager"), "{ops}");
    // `-replace` of the service itself: replaced as asked.
    let (c, ops) = tm(&["cluster.c.taskmanager"]);
    assert_eq!((c.action, c.rolling), (Action::Replace, false), "{:?}", c.reasons);
    assert_eq!(c.reasons, ["replacement requested with --replace"]);
    assert!(!ops.contains("rolling-update"), "{ops}");
}

#[test]
fn rolling_update_settings_are_the_plan_s_and_change_nothing_that_runs() {
    let custom = HCL.replace(
        "    placement {",
        "    rolling_update {\n      parallelism    = 2\n      order          = \"start-first\"\n      monitor        = \"10s\"\n      failure_action = \"pause\"\n    }\n    placement {",
    );
    let before = expand(HCL, &[]).unwrap();
    let (state, live) = applied(&before, "sw");
    let after = expand(&custom, &[]).unwrap();
    assert_eq!(after["cluster.c.taskmanager"].config_hash, before["cluster.c.taskmanager"].config_hash);
    let p = plan::compute(&after, &state, &live, "sw", false).unwrap();
    let c = p.changes.iter().find(|c| c.address == "cluster.c.taskmanager").unwrap();
    assert_eq!((c.action, c.rolling), (Action::Update, false));
    assert_eq!(
        c.reasons,
        [
            "rolling_update: parallelism=1 order=stop-first delay=0s monitor=5s failure_action=rollback → parallelism=2 order=start-first delay=0s monitor=10s failure_action=pause",
            "update settings only: no task restarts; the next rolling update follows them"
        ]
    );
    let ops = Operations::lower(&p).to_string();
    assert!(ops.starts_with("0 update-in-place cluster.c.taskmanager"), "{ops}");
    // With a memory change as well, the rolling update says how it goes.
    let both = expand(&custom, &["tm_memory=2048m"]).unwrap();
    let p = plan::compute(&both, &state, &live, "sw", false).unwrap();
    let c = p.changes.iter().find(|c| c.address == "cluster.c.taskmanager").unwrap();
    assert!(c.rolling);
    assert!(
        c.reasons.last().unwrap().starts_with("rolling update of its 2 tasks: 2 tasks at a time, start-first (a new task starts before its predecessor stops), each watched 10s, paused if a new task fails"),
        "{:?}",
        c.reasons
    );
    // Mistakes: a word that is not a setting, and the block on a single engine.
    let e = expand(&custom.replace("\"start-first\"", "\"start-frist\""), &[]).unwrap_err();
    assert!(e.contains("`order` = \"start-frist\" is not one of stop-first, start-first"), "{e}");
    assert!(e.contains("did you mean \\\"start-first\\\"?"), "{e}");
    let e = expand(&custom.replace("  engine  = \"swarm\"\n", ""), &[]).unwrap_err();
    assert!(e.contains("its taskmanager has a `rolling_update` block, which only a swarm uses"), "{e}");
}

#[test]
fn swarm_only_settings_are_named_and_an_application_cluster_runs_on_a_swarm() {
    let single = HCL.replace("  engine  = \"swarm\"\n", "");
    let e = expand(&single, &[]).unwrap_err();
    assert!(e.contains("its taskmanager has a `placement` block, which only a swarm uses"), "{e}");
    assert!(e.contains("set `engine = \\\"swarm\\\"`"), "{e}");
    let app = HCL.replace("  taskmanager {", "  application {\n    parallelism = 1\n  }\n  taskmanager {");
    // An application cluster runs on a swarm: its JobManager's service runs `standalone-job`
    // (the executor adds the run's job id and savepoint when it creates the service).
    let d = expand(&app, &[]).unwrap();
    let jm = service(&d, "cluster.c.jobmanager[0]");
    assert_eq!(jm.task.command.first().map(String::as_str), Some("standalone-job"));
    assert_eq!(jm.task.restart, "on-failure", "an application's JobManager that finished stays down");
    let e = expand(&HCL.replace("engine  = \"swarm\"", "engine  = \"swam\""), &[]).unwrap_err();
    assert!(e.contains("did you mean \\\"swarm\\\"?"), "{e}");
}

#[test]
fn a_swarm_plan_warns_about_flink_directories_on_the_node_local_volume() {
    let dir = tempfile::tempdir().unwrap();
    let hcl = HCL.replace(
        "  zookeeper {",
        "  flink_config = {\n    \"state.checkpoints.dir\" = \"file:///flink-data/checkpoints\"\n  }\n  zookeeper {",
    );
    std::fs::write(dir.path().join("main.hcl"), hcl).unwrap();
    let cfg = config::load(dir.path(), &VarInputs::default()).unwrap();
    let warnings: Vec<String> = config::warnings::warnings(&cfg).into_iter().map(|w| w.message).collect();
    let on_volume: Vec<&String> = warnings.iter().filter(|w| w.contains("on its data volume")).collect();
    assert_eq!(on_volume.len(), 2, "the checkpoints and the HA storage: {warnings:?}");
    assert!(
        on_volume.iter().any(|w| w.contains("state.checkpoints.dir = \"file:///flink-data/checkpoints\"")),
        "{warnings:?}"
    );
    assert!(warnings.iter().any(|w| w.contains("publishes Flink's REST API on every interface")), "{warnings:?}");
    // HA storage under a directory every JobManager mounts is allowed (and not warned about).
    let shared = HCL.replace(
        "  zookeeper {",
        "  volumes           = [\"/srv/flink:/flink-shared\"]\n  allow_host_access = true\n  high_availability {\n    storage_dir = \"file:///flink-shared/ha\"\n  }\n  zookeeper {",
    );
    std::fs::write(dir.path().join("main.hcl"), shared).unwrap();
    let cfg = config::load(dir.path(), &VarInputs::default()).unwrap();
    assert!(config::warnings::warnings(&cfg).iter().all(|w| !w.message.contains("on its data volume")));
}

#[test]
fn sensitive_values_leave_the_service_spec_as_secrets() {
    let hcl = HCL
        .replace(
            "variable \"tm_memory\" {",
            "variable \"token\" {\n  type      = string\n  default   = \"hunter2\"\n  sensitive = true\n}\nvariable \"tm_memory\" {",
        )
        .replace("    memory   = var.tm_memory\n", "    memory   = var.tm_memory\n    env      = { API_TOKEN = var.token, TZ = \"UTC\" }\n")
        .replace("  zookeeper {", "  flink_config = {\n    \"s3.secret-key\" = var.token\n  }\n  zookeeper {");
    let d = expand(&hcl, &[]).unwrap();
    let tm = service(&d, "cluster.c.taskmanager");
    let vars: Vec<&str> = tm.secrets.iter().map(|s| s.var.as_str()).collect();
    assert_eq!(vars, ["API_TOKEN", "FLINK_PROPERTIES"]);
    assert!(!tm.task.env.contains_key("API_TOKEN"));
    // FLINK_PROPERTIES keeps its plain lines (the swarm fills the task's name into them); the
    // secret holds the sensitive ones, added to them when the task starts.
    let props = &tm.task.env["FLINK_PROPERTIES"];
    assert!(
        props.contains("taskmanager.resource-id: {{.Service.Name}}-{{.Task.Slot}}\n") && !props.contains("hunter2")
    );
    assert_eq!((tm.secrets[1].value.as_str(), tm.secrets[1].append), ("s3.secret-key: hunter2\n", true));
    assert_eq!(tm.task.env["TZ"], "UTC", "what is not sensitive stays in the environment");
    assert_eq!(tm.secrets[0].value, "hunter2");
    assert!(tm.secrets.iter().all(|s| s.name.starts_with("sw-c-taskmanager-") && s.name.len() <= 64));
    assert!(!serde_json::to_string(tm).unwrap().contains("hunter2"), "a secret's value is never serialized");
    // A changed value is a new secret (swarm secrets cannot change), so a new spec.
    let changed = expand(&hcl.replace("\"hunter2\"", "\"hunter3\""), &[]).unwrap();
    let renamed = service(&changed, "cluster.c.taskmanager");
    assert_ne!(renamed.secrets[0].name, tm.secrets[0].name);
    assert_ne!(changed["cluster.c.taskmanager"].config_hash, d["cluster.c.taskmanager"].config_hash);
    // The JobManagers' settings hold the secret key too.
    assert_eq!(service(&d, "cluster.c.jobmanager[0]").secrets.len(), 1);
}

#[test]
fn rolling_the_taskmanager_service_suspends_its_job_with_a_savepoint_first() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("job.jar"), b"not really a jar").unwrap();
    let with_job = |memory: &str| {
        let hcl = format!(
            "{HCL}\njob \"j\" {{\n  cluster     = cluster.c.name\n  jar         = \"job.jar\"\n  parallelism = 2\n}}\n"
        );
        std::fs::write(dir.path().join("main.hcl"), hcl).unwrap();
        let inputs = VarInputs { var_files: vec![], vars: vec![format!("tm_memory={memory}")] };
        let cfg = config::load(dir.path(), &inputs).unwrap();
        model::expand(&cfg, &model::sensitive::Masker::salted("salt"))
    };
    let before = with_job("1024m");
    let (state, mut live) = applied(&before, "sw");
    let jid = state.resource("job.j").unwrap().id.clone();
    live.jobs.insert("cluster.c".into(), Some([(jid, "RUNNING".to_string())].into()));
    let p = plan::compute(&with_job("2048m"), &state, &live, "sw", false).unwrap();
    let job = p.changes.iter().find(|c| c.address == "job.j").unwrap();
    assert_eq!(job.action, Action::Update, "{:?}", job.reasons);
    assert!(
        job.reasons.iter().any(|r| r.contains("every TaskManager is restarted by a rolling update")),
        "{:?}",
        job.reasons
    );
    let ops = Operations::lower(&p).to_string();
    // Operation `what`'s index and the indices it waits for.
    let op = |what: &str| -> (String, Vec<String>) {
        let l = ops.lines().find(|l| l.contains(what)).unwrap_or_else(|| panic!("{what}:\n{ops}"));
        let l = l.split("  #").next().unwrap();
        let index = l.split(' ').next().unwrap().to_string();
        let after = l.split(" after ").nth(1).map(|a| a.split(',').map(str::to_string).collect()).unwrap_or_default();
        (index, after)
    };
    let (stop, _) = op("stop-with-savepoint job.j");
    let (_, roll_after) = op("rolling-update cluster.c.taskmanager");
    assert!(roll_after.contains(&stop), "the TaskManagers roll only after the savepoint:\n{ops}");
    let (ready, _) = op("wait-ready(registered, 2 slots) cluster.c.taskmanager");
    let (_, submit_after) = op("submit job.j");
    assert!(submit_after.contains(&ready), "the job is restored once the new TaskManagers are registered:\n{ops}");
}

#[test]
fn a_tls_cluster_s_keystores_are_secret_files_not_its_node_local_volume() {
    let d = expand(&HCL.replace("  zookeeper {", "  security {\n    tls = true\n  }\n  zookeeper {"), &[]).unwrap();
    for address in ["cluster.c.taskmanager", "cluster.c.jobmanager[0]"] {
        let s = service(&d, address);
        assert_eq!(s.tls_dir.as_deref(), Some("/flink-tls"), "{address}");
        assert!(s.task.mounts.iter().all(|m| m.target != "/flink-tls"), "{address}: {:?}", s.task.mounts);
        assert!(s.task.env["FLINK_PROPERTIES"].contains("security.ssl.internal.keystore: /flink-tls/internal.p12"));
    }
    assert_eq!(service(&d, "cluster.c.zookeeper[0]").tls_dir, None);
}

#[test]
fn an_application_jobmanager_service_whose_task_ended_is_replaced_but_a_session_one_is_not() {
    let app = HCL.replace("  taskmanager {", "  application {\n    parallelism = 1\n  }\n  taskmanager {");
    for (hcl, replaced) in [(app.as_str(), true), (HCL, false)] {
        let d = expand(hcl, &[]).unwrap();
        let (state, mut live) = applied(&d, "sw");
        let jm = live.objects.get_mut(&(Kind::Service, "sw-c-jobmanager-0".to_string())).unwrap();
        jm.running = false;
        jm.state = "0/1 running".into();
        let p = plan::compute(&d, &state, &live, "sw", false).unwrap();
        let c = p.changes.iter().find(|c| c.address == "cluster.c.jobmanager[0]").unwrap();
        if replaced {
            assert_eq!(c.action, Action::Replace, "{:?}", c.reasons);
            assert!(c.reasons.iter().any(|r| r.contains("the application ended or failed")), "{:?}", c.reasons);
        } else {
            // A session JobManager's task the swarm is restarting is the swarm's business.
            assert_eq!(c.action, Action::NoOp, "{:?}", c.reasons);
        }
    }
}

/// A secret no service mounts, made for `service` (as a run stopped between creating a
/// service's secrets and the service leaves it): the service's labels and its name.
fn unused_secret(live: &mut flinkform::observe::Snapshot, service_address: &str, service: &str, name: &str) {
    let any = live.objects.values().find(|o| o.address() == Some(service_address)).unwrap().clone();
    let mut labels = any.labels.clone();
    labels.insert("io.flinkform.service".into(), service.into());
    let listed = flinkform::docker::secrets::LiveSecret { id: format!("sec-{name}"), name: name.into(), labels };
    live.objects.insert((Kind::Secret, name.into()), flinkform::observe::swarm::unused_secret(listed));
}

#[test]
fn a_secret_no_service_mounts_is_planned_for_removal_unless_this_run_makes_its_service() {
    let d = expand(HCL, &[]).unwrap();
    let (state, mut live) = applied(&d, "sw");
    unused_secret(&mut live, "cluster.c.taskmanager", "sw-c-taskmanager", "sw-c-taskmanager-tls-rest-p12-0a1b2c");
    let p = plan::compute(&d, &state, &live, "sw", false).unwrap();
    let changed: Vec<(&str, Action)> =
        p.changes.iter().filter(|c| c.action != Action::NoOp).map(|c| (c.address.as_str(), c.action)).collect();
    assert_eq!(changed, [("secret.sw-c-taskmanager-tls-rest-p12-0a1b2c", Action::Delete)]);
    let c = p.changes.iter().find(|c| c.kind == Kind::Secret).unwrap();
    assert_eq!(
        c.reasons,
        [
            "made for service sw-c-taskmanager, which does not mount it (a run stopped before the service or its new configuration was created)"
        ]
    );
    let text = plain(plan::render::human(&p));
    assert!(text.contains("- secret \"sw-c-taskmanager-tls-rest-p12-0a1b2c\""), "{text}");
    assert!(text.contains("Plan: 0 to add, 0 to change, 1 to destroy."), "{text}");
    let ops = Operations::lower(&p).to_string();
    assert!(ops.starts_with("0 remove secret.sw-c-taskmanager-tls-rest-p12-0a1b2c"), "{ops}");

    // Its service is created (or rolled) by this run: that operation reuses or removes it.
    for (vars, why) in [(&["tm_memory=2048m"][..], "rolled"), (&[][..], "created")] {
        let d2 = expand(HCL, vars).unwrap();
        let mut live2 = live.clone();
        if why == "created" {
            live2.objects.remove(&(Kind::Service, "sw-c-taskmanager".to_string()));
        }
        let p = plan::compute(&d2, &state, &live2, "sw", false).unwrap();
        assert!(p.changes.iter().all(|c| c.kind != Kind::Secret), "{why}: {:?}", p.changes);
    }
    // Destroy removes it with everything else.
    let p = plan::compute(&d, &state, &live, "sw", true).unwrap();
    assert!(p.changes.iter().any(|c| c.kind == Kind::Secret && c.action == Action::Delete));
}

#[test]
fn a_service_spec_changed_outside_flinkform_is_drift_sent_again() {
    let d = expand(HCL, &[]).unwrap();
    let (state, mut live) = applied(&d, "sw");
    for name in ["sw-c-taskmanager", "sw-c-jobmanager-0"] {
        live.objects.get_mut(&(Kind::Service, name.to_string())).unwrap().changed_outside =
            vec!["env".into(), "image".into()];
    }
    let p = plan::compute(&d, &state, &live, "sw", false).unwrap();
    let tm = p.changes.iter().find(|c| c.address == "cluster.c.taskmanager").unwrap();
    assert_eq!(
        (tm.action, tm.rolling, tm.drift),
        (Action::Update, true, Some(plan::Drift::Changed)),
        "{:?}",
        tm.reasons
    );
    assert_eq!(
        tm.reasons[0],
        "changed outside flinkform (docker service update): its spec no longer matches what flinkform sent in env, image"
    );
    assert!(tm.reasons.last().unwrap().starts_with("rolling update of its 2 tasks"), "{:?}", tm.reasons);
    let jm = p.changes.iter().find(|c| c.address == "cluster.c.jobmanager[0]").unwrap();
    assert_eq!((jm.action, jm.drift), (Action::Replace, Some(plan::Drift::Changed)), "{:?}", jm.reasons);
    assert!(plain(plan::render::human(&p)).contains("Plan: 1 to add, 1 to change, 1 to destroy."));
}
