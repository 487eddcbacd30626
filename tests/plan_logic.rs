//! Pure plan logic, no Docker: expansion, the diff's decisions and the human rendering
//! (snapshots), on the shipped examples. "Live" here is plain data describing objects as
//! flinkform labels them, so every decision can be checked deterministically.

mod fixtures;

use fixtures::{applied, desired, jobs_applied, jobs_with_jobmanager_memory, plain};
use flinkform::config::{self, VarInputs};
use flinkform::model::{self, Desired, Kind};
use flinkform::observe::{LiveObject, Snapshot};
use flinkform::plan::{self, Action, render};
use flinkform::state::State;
use std::collections::BTreeMap;

#[test]
fn quickstart_expands_to_addressed_instances_in_dependency_order() {
    let (d, _) = desired("quickstart", &[]);
    let addresses: Vec<&str> = d.keys().map(String::as_str).collect();
    assert_eq!(
        addresses,
        [
            "cluster.quickstart.jobmanager[0]",
            "cluster.quickstart.network",
            "cluster.quickstart.taskmanager[0]",
            "cluster.quickstart.taskmanager[1]",
            "cluster.quickstart.volume[\"data\"]",
        ]
    );
    let tm = &d["cluster.quickstart.taskmanager[1]"];
    assert_eq!(tm.name, "quickstart-quickstart-taskmanager-1");
    assert!(tm.dependencies.contains(&"cluster.quickstart.jobmanager[0]".to_string()));
    assert!(tm.attributes["flink_config"].contains("taskmanager.resource-id: quickstart-quickstart-taskmanager-1"));
}

#[test]
fn ha_example_configures_zookeeper_ha() {
    let (d, _) = desired("ha", &[]);
    let jm = &d["cluster.ha.jobmanager[1]"];
    let cfg = &jm.attributes["flink_config"];
    assert!(cfg.contains("high-availability.type: zookeeper"), "{cfg}");
    assert!(cfg.contains("high-availability.zookeeper.quorum: ha-ha-zookeeper-0:2181"), "{cfg}");
    assert!(cfg.contains("high-availability.storageDir: file:///flink-data/ha"), "{cfg}");
    assert!(cfg.contains("jobmanager.rpc.address: ha-ha-jobmanager-1"), "{cfg}");
    assert!(jm.dependencies.contains(&"cluster.ha.zookeeper[0]".to_string()));
}

#[test]
fn creating_from_nothing_renders_like_terraform() {
    let (d, project) = desired("quickstart", &[]);
    let p = plan::compute(&d, &State::new(), &Snapshot::default(), &project, false).unwrap();
    insta::assert_snapshot!("quickstart_create", plain(render::human(&p)));
}

#[test]
fn applied_config_plans_no_changes() {
    let (d, project) = desired("quickstart", &[]);
    let (state, live) = applied(&d, &project);
    let p = plan::compute(&d, &state, &live, &project, false).unwrap();
    assert!(!p.has_changes(), "{:?}", p.summary_lines());
    assert!(plain(render::human(&p)).starts_with("No changes."));
}

#[test]
fn scaling_adds_only_taskmanagers() {
    let (d, project) = desired("quickstart", &[]);
    let (state, live) = applied(&d, &project);
    let (d3, _) = desired("quickstart", &["taskmanagers=3"]);
    let p = plan::compute(&d3, &state, &live, &project, false).unwrap();
    assert_eq!(p.summary_lines(), ["+ cluster.quickstart.taskmanager[2] ()"]);
    assert_eq!(p.counts(), (1, 0, 0));
    let (d1, _) = desired("quickstart", &["taskmanagers=1"]);
    let p = plan::compute(&d1, &state, &live, &project, false).unwrap();
    assert_eq!(p.summary_lines(), ["- cluster.quickstart.taskmanager[1] (no longer in the configuration)"]);
}

#[test]
fn slots_change_replaces_only_taskmanagers_with_reasons() {
    let (d, project) = desired("quickstart", &[]);
    let (state, live) = applied(&d, &project);
    let (d4, _) = desired("quickstart", &["slots=4"]);
    let p = plan::compute(&d4, &state, &live, &project, false).unwrap();
    let changed: Vec<(&str, Action)> =
        p.changes.iter().filter(|c| c.action != Action::NoOp).map(|c| (c.address.as_str(), c.action)).collect();
    assert_eq!(
        changed,
        [
            ("cluster.quickstart.taskmanager[0]", Action::Replace),
            ("cluster.quickstart.taskmanager[1]", Action::Replace)
        ]
    );
    insta::assert_snapshot!("quickstart_slots_replace", plain(render::human(&p)));
}

/// FLINK_PROPERTIES of one container instance.
fn flink_properties(d: &Desired, address: &str) -> String {
    match &d[address].spec {
        model::Spec::Container(c) => c.env.get("FLINK_PROPERTIES").cloned().unwrap_or_default(),
        other => panic!("{address} is not a container: {other:?}"),
    }
}

#[test]
fn taskmanagers_retry_registration_quickly_unless_configured_otherwise() {
    // Flink waits 10 s after a failed attempt to reach the ResourceManager; TaskManagers start
    // alongside their JobManager, so flinkform shortens it, and only for them.
    let (d, _) = desired("quickstart", &[]);
    assert!(
        flink_properties(&d, "cluster.quickstart.taskmanager[0]").contains("cluster.registration.error-delay: 500\n")
    );
    assert!(!flink_properties(&d, "cluster.quickstart.jobmanager[0]").contains("cluster.registration"));
    // The user's own value wins.
    let dir = tempfile::tempdir().unwrap();
    let hcl = std::fs::read_to_string("examples/quickstart/main.hcl").unwrap().replacen(
        "flink_config = {",
        "flink_config = {\n    \"cluster.registration.error-delay\" = \"5 s\"",
        1,
    );
    std::fs::write(dir.path().join("main.hcl"), hcl).unwrap();
    let d2 = model::expand(
        &config::load(dir.path(), &VarInputs::default()).unwrap(),
        &flinkform::model::sensitive::Masker::salted("salt"),
    );
    let tm = flink_properties(&d2, "cluster.quickstart.taskmanager[0]");
    assert!(tm.contains("cluster.registration.error-delay: 5 s\n"), "{tm}");
    assert!(!tm.contains("error-delay: 500"), "{tm}");
}

#[test]
fn jobmanager_only_setting_replaces_only_jobmanagers() {
    let (d, project) = desired("quickstart", &[]);
    let (state, live) = applied(&d, &project);
    // A JobManager-only change: a different JobManager memory.
    let dir = tempfile::tempdir().unwrap();
    let hcl = std::fs::read_to_string("examples/quickstart/main.hcl").unwrap().replacen(
        "memory = \"1024m\"",
        "memory = \"1280m\"",
        1,
    );
    std::fs::write(dir.path().join("main.hcl"), hcl).unwrap();
    let cfg = config::load(dir.path(), &VarInputs::default()).unwrap();
    let d2 = model::expand(&cfg, &flinkform::model::sensitive::Masker::salted("salt"));
    let p = plan::compute(&d2, &state, &live, &project, false).unwrap();
    assert_eq!(p.summary_lines().len(), 1, "{:?}", p.summary_lines());
    let line = &p.summary_lines()[0];
    assert!(line.starts_with("-/+ cluster.quickstart.jobmanager[0] ("), "{line}");
    assert!(line.contains("memory: 1024m → 1280m"), "{line}");
}

#[test]
fn drift_is_explained() {
    let (d, project) = desired("quickstart", &[]);
    let (state, mut live) = applied(&d, &project);
    live.objects.remove(&(Kind::Container, "quickstart-quickstart-taskmanager-0".into()));
    let tm1 = live.objects.get_mut(&(Kind::Container, "quickstart-quickstart-taskmanager-1".into())).unwrap();
    tm1.running = false;
    tm1.state = "exited".into();
    let jm = live.objects.get_mut(&(Kind::Container, "quickstart-quickstart-jobmanager-0".into())).unwrap();
    jm.labels.insert("io.flinkform.config-hash".into(), "v1:edited".into());
    let p = plan::compute(&d, &state, &live, &project, false).unwrap();
    assert_eq!(
        p.summary_lines(),
        [
            "-/+ cluster.quickstart.jobmanager[0] (changed outside flinkform: its config-hash label no longer matches the configuration)",
            "+ cluster.quickstart.taskmanager[0] (removed outside flinkform)",
            "~ cluster.quickstart.taskmanager[1] (stopped outside flinkform (state: exited))",
        ]
    );
    // The same drift in Terraform's `resource_drift`, typed.
    let v = plan::json::render(&p);
    let drift: Vec<(String, String, String)> = v["resource_drift"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let s = |x: &serde_json::Value| x.as_str().unwrap_or_default().to_string();
            (s(&d["address"]), s(&d["drift"]), s(&d["change"]["actions"][0]))
        })
        .collect();
    let want = [
        ("cluster.quickstart.jobmanager[0]", "changed", "update"),
        ("cluster.quickstart.taskmanager[0]", "removed", "delete"),
        ("cluster.quickstart.taskmanager[1]", "not_running", "update"),
    ];
    assert_eq!(drift, want.map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string())));
    assert_eq!(v["resource_drift"][1]["change"]["before"]["command"], serde_json::json!(["taskmanager"]));
}

/// `show --json`: the state in Terraform's `values.root_module` shape, never its salt.
#[test]
fn the_state_renders_in_terraforms_values_shape() {
    let (d, project) = desired("quickstart", &[]);
    let (state, _) = applied(&d, &project);
    let v = plan::json::state(&state);
    let text = v.to_string();
    assert!(!state.salt.is_empty() && !text.contains(&state.salt), "the salt never leaves the state");
    let resources = v["values"]["root_module"]["resources"].as_array().unwrap();
    assert_eq!(resources.len(), state.resources.len());
    let jm = resources.iter().find(|r| r["address"] == "cluster.quickstart.jobmanager[0]").unwrap();
    assert_eq!((jm["type"].as_str(), jm["index"].as_u64()), (Some("flinkform_cluster_jobmanager"), Some(0)));
    assert_eq!(jm["values"]["command"], serde_json::json!(["jobmanager"]));
    assert!(jm["values"]["id"].is_string());
}

#[test]
fn an_unlabelled_object_in_the_way_is_an_error_with_a_hint() {
    let (d, project) = desired("quickstart", &[]);
    let mut live = Snapshot::default();
    live.objects.insert(
        (Kind::Network, "quickstart-quickstart".into()),
        LiveObject {
            kind: Kind::Network,
            id: "n1".into(),
            name: "quickstart-quickstart".into(),
            labels: BTreeMap::new(),
            running: true,
            state: String::new(),
            image_id: None,
            ports: BTreeMap::new(),
            host: None,
            replicas: None,
            nodes: Vec::new(),
            rolling: None,
            changed_outside: Vec::new(),
        },
    );
    let err = plan::compute(&d, &State::new(), &live, &project, false).unwrap_err().to_string();
    assert!(err.contains("already exists (it is not managed by flinkform)"), "{err}");
    assert!(err.contains("flinkform import cluster.quickstart.network quickstart-quickstart"), "{err}");
}

#[test]
fn identical_inputs_give_byte_identical_plans() {
    let (d, project) = desired("ha", &[]);
    let a = render::human(&plan::compute(&d, &State::new(), &Snapshot::default(), &project, false).unwrap());
    let (d, project) = desired("ha", &[]);
    let b = render::human(&plan::compute(&d, &State::new(), &Snapshot::default(), &project, false).unwrap());
    assert_eq!(a, b);
}

#[test]
fn prevent_destroy_blocks_destroy() {
    let dir = tempfile::tempdir().unwrap();
    let hcl = "flinkform {\n  project = \"p\"\n}\ncluster \"c\" {\n  lifecycle {\n    prevent_destroy = true\n  }\n}\n";
    std::fs::write(dir.path().join("main.hcl"), hcl).unwrap();
    let cfg = config::load(dir.path(), &VarInputs::default()).unwrap();
    let d = model::expand(&cfg, &flinkform::model::sensitive::Masker::salted("salt"));
    let (state, live) = applied(&d, "p");
    let err = plan::compute(&d, &state, &live, "p", true).unwrap_err().to_string();
    assert!(
        err.contains("cluster.c.jobmanager[0] has lifecycle.prevent_destroy = true and would be destroyed"),
        "{err}"
    );
}

#[test]
fn job_upgrade_says_how_it_keeps_state() {
    let (d, state, live, project) = jobs_applied(&["parallelism=4"]);
    let p = plan::compute(&d, &state, &live, &project, false).unwrap();
    assert_eq!(p.summary_lines(), ["~ job.counter (parallelism: 2 → 4; stop with savepoint → restart from it)"]);
    insta::assert_snapshot!("job_parallelism_update", plain(render::human(&p)));
}

#[test]
fn replacing_the_jobmanager_suspends_and_restores_the_job() {
    let (_, state, live, project) = jobs_applied(&[]);
    let d = jobs_with_jobmanager_memory("1280m");
    let p = plan::compute(&d, &state, &live, &project, false).unwrap();
    let lines = p.summary_lines();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].starts_with("-/+ cluster.jobs.jobmanager[0]"), "{lines:?}");
    assert_eq!(
        lines[1],
        "~ job.counter (cluster.jobs.jobmanager[0] is replaced: suspended with a savepoint before, restored from it after)"
    );
}

#[test]
fn a_cancelled_job_is_resubmitted_from_its_last_savepoint() {
    let (d, state, mut live, project) = jobs_applied(&[]);
    live.jobs.insert("cluster.jobs".into(), Some(BTreeMap::from([("j1".to_string(), "CANCELED".to_string())])));
    let p = plan::compute(&d, &state, &live, &project, false).unwrap();
    assert_eq!(
        p.summary_lines(),
        [
            "+ job.counter (job is CANCELED outside flinkform; restored from the last savepoint file:/flink-data/savepoints/savepoint-1)"
        ]
    );
}

#[test]
fn destroy_keeps_the_volume_that_receives_final_savepoints() {
    let (d, state, live, project) = jobs_applied(&[]);
    let p = plan::compute(&d, &state, &live, &project, true).unwrap();
    let volume = p.changes.iter().find(|c| c.address == "cluster.jobs.volume[\"data\"]").unwrap();
    assert!(volume.keep_object, "{:?}", volume.reasons);
    let job = p.changes.iter().find(|c| c.address == "job.counter").unwrap();
    assert_eq!(job.reasons, ["destroy requested", "stopped with a final savepoint"]);
}

#[test]
fn json_and_markdown_renderings() {
    let (d, project) = desired("quickstart", &[]);
    let (state, live) = applied(&d, &project);
    let (d4, _) = desired("quickstart", &["slots=4", "taskmanagers=3"]);
    let p = plan::compute(&d4, &state, &live, &project, false).unwrap();
    let json = serde_json::to_string_pretty(&plan::json::render(&p)).unwrap();
    insta::assert_snapshot!("quickstart_slots_json", json);
    insta::assert_snapshot!("quickstart_slots_markdown", plan::markdown::render(&p));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["format_version"], "1.2");
    let tm0 = v["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == "cluster.quickstart.taskmanager[0]")
        .unwrap();
    // Where a policy written against Terraform's plan JSON looks.
    assert_eq!(tm0["change"]["actions"], serde_json::json!(["delete", "create"]));
    assert_eq!(tm0["action_reason"], "replace_because_cannot_update");
    let paths = tm0["change"]["replace_paths"].as_array().unwrap();
    assert!(paths.contains(&serde_json::json!(["slots"])), "{paths:?}");
    assert!(paths.iter().all(|p| p.as_array().is_some_and(|p| !p.is_empty())), "{paths:?}");
    assert_eq!((tm0["mode"].as_str(), tm0["type"].as_str()), (Some("managed"), Some("flinkform_cluster_taskmanager")));
    assert_eq!((tm0["name"].as_str(), tm0["index"].as_u64()), (Some("quickstart"), Some(0)));
    assert_eq!(tm0["change"]["after"]["command"], serde_json::json!(["taskmanager"]), "a list, not its text");
    assert!(tm0["change"]["after"]["env"]["FLINK_PROPERTIES"].is_null(), "shown as flink_config, not env");
    assert!(tm0["change"]["after"]["mount"]["/flink-data"].is_string(), "dotted families nested");
    assert!(tm0["reasons"].as_array().unwrap().iter().any(|r| r == "slots: 2 → 4"));
    let tm2 = v["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == "cluster.quickstart.taskmanager[2]")
        .unwrap();
    assert_eq!(tm2["change"]["actions"], serde_json::json!(["create"]));
    assert_eq!(tm2["change"]["before"], serde_json::Value::Null);
    assert_eq!(tm2["change"]["before_sensitive"], serde_json::Value::Bool(false));
}

#[test]
fn every_rendering_is_byte_identical_for_identical_inputs() {
    let render_all = || {
        let (d, project) = desired("ha", &[]);
        let (state, live) = applied(&d, &project);
        let (d2, _) = desired("ha", &[]);
        let mut d2 = d2;
        for i in d2.values_mut().filter(|i| i.address.contains("taskmanager")) {
            i.config_hash = "v1:changed".into();
        }
        let p = plan::compute(&d2, &state, &live, &project, false).unwrap();
        (render::human(&p), serde_json::to_string_pretty(&plan::json::render(&p)).unwrap(), plan::markdown::render(&p))
    };
    assert_eq!(render_all(), render_all());
}

#[test]
fn target_and_replace_focus_the_plan() {
    let (d, project) = desired("quickstart", &[]);
    let (state, live) = applied(&d, &project);
    let (d3, _) = desired("quickstart", &["taskmanagers=3", "slots=4"]);
    let replace = ["cluster.quickstart.jobmanager[0]".to_string()];
    let mut p = plan::compute_with(&d3, &state, &live, &project, false, &replace).unwrap();
    p.focus(&["cluster.quickstart.taskmanager[2]".into()], &replace).unwrap();
    assert_eq!(
        p.summary_lines(),
        [
            "-/+ cluster.quickstart.jobmanager[0] (replacement requested with --replace)",
            "+ cluster.quickstart.taskmanager[2] ()",
        ],
        "the target and what it depends on; the other TaskManagers' slot change waits"
    );
    assert!(p.focus(&["cluster.nope".into()], &[]).is_err());
}

fn load_hcl(hcl: &str) -> Desired {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.hcl"), hcl).unwrap();
    model::expand(
        &config::load(dir.path(), &VarInputs::default()).unwrap(),
        &flinkform::model::sensitive::Masker::salted("salt"),
    )
}

#[test]
fn prevent_destroy_blocks_a_replace_with_a_clear_error() {
    let before = "flinkform {\n  project = \"p\"\n}\ncontainer \"db\" {\n  image = \"db:1\"\n  lifecycle {\n    prevent_destroy = true\n  }\n}\n";
    let (state, live) = applied(&load_hcl(before), "p");
    let d = load_hcl(&before.replace("db:1", "db:2"));
    let err = plan::compute(&d, &state, &live, "p", false).unwrap_err().to_string();
    assert!(
        err.contains(
            "container.db has lifecycle.prevent_destroy = true and would be replaced; remove that setting to allow it"
        ),
        "{err}"
    );
}

#[test]
fn ignore_changes_suppresses_a_diff_but_not_other_changes() {
    let before = "flinkform {\n  project = \"p\"\n}\ncontainer \"gen\" {\n  image = \"gen:1\"\n  env = { RATE = \"10\" }\n  lifecycle {\n    ignore_changes = [env]\n  }\n}\n";
    let (state, live) = applied(&load_hcl(before), "p");
    let d = load_hcl(&before.replace("\"10\"", "\"99\""));
    let p = plan::compute(&d, &state, &live, "p", false).unwrap();
    assert!(!p.has_changes(), "{:?}", p.summary_lines());
    // The state keeps what exists, so the next plan is still empty.
    let kept = p.changes[0].desired.as_ref().unwrap();
    assert_eq!(kept.config_hash, state.resource("container.gen").unwrap().config_hash);
    let d = load_hcl(&before.replace("gen:1", "gen:2"));
    let p = plan::compute(&d, &state, &live, "p", false).unwrap();
    assert_eq!(p.summary_lines().len(), 1, "{:?}", p.summary_lines());
    assert!(p.summary_lines()[0].starts_with("-/+ container.gen (image: gen:1 → gen:2"), "{:?}", p.summary_lines());
}
