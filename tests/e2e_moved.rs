//! `moved` blocks on the real engine: a block renamed, then moved into a repeated module, keeps
//! its container (same id) when its Docker name and configuration did not change; the plan says
//! what moved and that nothing else happens, its JSON carries Terraform's `previous_address`.

mod common;
use common::*;

const SLEEP: &str = "[\"sh\", \"-c\", \"trap 'exit 0' TERM; sleep 2147483647 & wait\"]";

fn container(block: &str) -> String {
    format!(
        "container \"{block}\" {{\n  name    = \"ffmoved-web\"\n  image   = \"flinkform-offline/busybox:static\"\n  command = {SLEEP}\n}}\n"
    )
}

const HEADER: &str = "flinkform {\n  project = \"ffmoved\"\n}\n";

#[test]
fn renamed_and_modularised_blocks_keep_their_containers() {
    assert!(require_docker());
    let p = Project::new("ffmoved", &format!("{HEADER}{}", container("old")));
    p.ok(&["apply", "-auto-approve"]);
    let id = p.container_id("ffmoved-web").expect("runs");

    // Renamed, with a moved block: nothing is destroyed or created.
    p.write(
        "main.hcl",
        &format!("{HEADER}{}\nmoved {{\n  from = container.old\n  to   = container.web\n}}\n", container("web")),
    );
    let plan = p.ok(&["plan"]);
    assert!(plan.contains("# container.old has moved to container.web"), "{plan}");
    assert!(plan.contains("Plan: 0 to add, 0 to change, 0 to destroy."), "{plan}");
    let json: serde_json::Value = serde_json::from_str(&p.ok(&["plan", "-json"])).unwrap();
    let rc = &json["resource_changes"][0];
    assert_eq!(
        (rc["address"].as_str(), rc["previous_address"].as_str()),
        (Some("container.web"), Some("container.old"))
    );
    assert_eq!(rc["change"]["actions"], serde_json::json!(["no-op"]));
    p.ok(&["apply", "-auto-approve"]);
    assert_eq!(p.container_id("ffmoved-web"), Some(id.clone()), "the container was kept");
    assert_eq!(p.ok(&["state", "list"]).trim(), "container.web");
    assert!(p.ok(&["plan"]).starts_with("No changes."), "the moved block is now a no-op");

    // Into one instance of a module repeated with for_each.
    std::fs::create_dir(p.path().join("edge")).unwrap();
    p.write("edge/main.hcl", &format!("variable \"region\" {{\n  type = string\n}}\n{}", container("web")));
    p.write(
        "main.hcl",
        &format!(
            "{HEADER}module \"edge\" {{\n  for_each = toset([\"eu\"])\n  source   = \"./edge\"\n  region   = each.key\n}}\n\nmoved {{\n  from = container.web\n  to   = module.edge[\"eu\"].container.web\n}}\n"
        ),
    );
    let plan = p.ok(&["plan"]);
    assert!(plan.contains("# container.web has moved to module.edge[\"eu\"].container.web"), "{plan}");
    assert!(plan.contains("Plan: 0 to add, 0 to change, 0 to destroy."), "{plan}");
    p.ok(&["apply", "-auto-approve"]);
    assert_eq!(p.container_id("ffmoved-web"), Some(id), "the container was kept");
    assert_eq!(p.ok(&["state", "list"]).trim(), "module.edge[\"eu\"].container.web");

    // A moved block whose `from` is still declared is an error that changes nothing.
    p.write(
        "main.hcl",
        &format!("{HEADER}{}\nmoved {{\n  from = container.web\n  to   = container.other\n}}\n", container("web")),
    );
    let out = p.run(&["plan"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("container.web has moved to container.other, but the configuration still declares container.web"),
        "{err}"
    );

    // A container whose Docker name follows its address: moved, it is replaced under its new
    // name, and the old one does not linger.
    let unnamed = |block: &str| container(block).replace("  name    = \"ffmoved-web\"\n", "");
    p.write("main.hcl", &format!("{HEADER}{}", unnamed("a")));
    p.ok(&["apply", "-auto-approve"]);
    assert!(p.container_id("ffmoved-a").is_some());
    p.write(
        "main.hcl",
        &format!("{HEADER}{}\nmoved {{\n  from = container.a\n  to   = container.b\n}}\n", unnamed("b")),
    );
    let plan = p.ok(&["plan"]);
    assert!(plan.contains("# container.a has moved to container.b"), "{plan}");
    assert!(plan.contains("its Docker name changes: ffmoved-a → ffmoved-b (forces replacement)"), "{plan}");
    assert!(plan.contains("Plan: 1 to add, 0 to change, 1 to destroy."), "{plan}");
    p.ok(&["apply", "-auto-approve"]);
    let names: Vec<String> = p.containers().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, vec!["ffmoved-b".to_string()]);
    assert!(p.ok(&["plan"]).starts_with("No changes."));
}

/// A Flink cluster moved to another address keeps its containers and its data volume when it
/// keeps its Docker names (`name`); without them the move is refused, since Docker cannot rename
/// a volume and replacing it would lose the checkpoints and savepoints it holds.
#[test]
fn a_moved_cluster_keeps_its_containers_with_its_name_and_never_loses_its_volume() {
    assert!(require_docker());
    let cluster = |block: &str, name: &str| {
        format!(
            "flinkform {{\n  project = \"ffmovedc\"\n}}\n\ncluster \"{block}\" {{\n{name}  image = \"{FLINK_IMAGE}\"\n  jobmanager {{\n    memory = \"1024m\"\n  }}\n  taskmanager {{\n    replicas = 1\n    memory   = \"1024m\"\n  }}\n}}\n"
        )
    };
    let p = Project::new("ffmovedc", &cluster("a", ""));
    p.ok(&["apply", "-auto-approve"]);
    let jm = p.container_id("ffmovedc-a-jobmanager-0").expect("the JobManager runs");
    let moved = "\nmoved {\n  from = cluster.a\n  to   = cluster.b\n}\n";

    // Without its name, the move would rename the data volume: refused, nothing changed.
    p.write("main.hcl", &format!("{}{moved}", cluster("b", "")));
    let out = p.run(&["plan"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("Docker cannot rename a volume"), "{err}");

    // With it: every part moves, nothing is replaced.
    p.write("main.hcl", &format!("{}{moved}", cluster("b", "  name  = \"a\"\n")));
    let plan = p.ok(&["plan"]);
    assert!(plan.contains("# cluster.a.jobmanager[0] has moved to cluster.b.jobmanager[0]"), "{plan}");
    assert!(plan.contains("# cluster.a.volume[\"data\"] has moved to cluster.b.volume[\"data\"]"), "{plan}");
    assert!(plan.contains("Plan: 0 to add, 0 to change, 0 to destroy."), "{plan}");
    p.ok(&["apply", "-auto-approve"]);
    assert_eq!(p.container_id("ffmovedc-a-jobmanager-0"), Some(jm), "the JobManager was kept");
    assert!(p.ok(&["state", "list"]).contains("cluster.b.jobmanager[0]"));
    assert!(p.ok(&["plan"]).starts_with("No changes."));
}
