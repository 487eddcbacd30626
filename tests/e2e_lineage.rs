//! Two directories with the same project name (the default project name is the directory's)
//! each have a state of their own: objects another state's lineage made are never touched —
//! not adopted, not removed — and the plan names them and says why.

mod common;
use common::*;

/// Light containers with these names, in project "fflineage".
fn config(names: &[&str]) -> String {
    let mut hcl = String::from("flinkform {\n  project = \"fflineage\"\n}\n");
    for name in names {
        hcl.push_str(&format!(
            "\ncontainer \"{name}\" {{\n  image   = \"flinkform-offline/busybox:static\"\n  command = [\"sh\", \"-c\", \"trap 'exit 0' TERM; sleep 2147483647 & wait\"]\n}}\n"
        ));
    }
    hcl
}

#[test]
fn another_state_of_the_same_project_is_left_alone_and_named() {
    assert!(require_docker());
    // Both made before either applies (a project cleans its label's leftovers when made).
    let a = Project::new("fflineage", &config(&["a"]));
    let b = Project::new("fflineage", &config(&["b"]));
    a.ok(&["apply", "--auto-approve"]);
    let a_id = a.container_id("fflineage-a").expect("a runs");

    // B's state does not own A's container: it plans only its own, and says why it leaves A's.
    let plan = b.ok(&["plan"]);
    assert!(plan.contains("container.b will be created"), "{plan}");
    assert!(!plan.contains("container.a will be destroyed"), "another state's object is never removed: {plan}");
    assert!(plan.contains("Left alone: labelled as this project's, but another flinkform state owns them"), "{plan}");
    assert!(plan.contains("container \"fflineage-a\" (container.a, lineage "), "{plan}");
    assert!(plan.contains("Plan: 1 to add, 0 to change, 0 to destroy."), "{plan}");
    b.ok(&["apply", "--auto-approve"]);
    assert_eq!(a.container_id("fflineage-a"), Some(a_id.clone()), "A's container is untouched");
    assert!(b.container_id("fflineage-b").is_some());

    // A name the other state holds is a conflict, never an adoption.
    b.write("main.hcl", &config(&["b", "a"]));
    let out = b.run(&["plan"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("it belongs to another state of flinkform project \"fflineage\""), "{err}");

    // And A, in turn, plans nothing for B's container.
    let plan = a.ok(&["plan"]);
    assert!(plan.starts_with("No changes."), "{plan}");
    assert!(plan.contains("container \"fflineage-b\" (container.b, lineage "), "{plan}");
    b.write("main.hcl", &config(&["b"]));
    b.ok(&["destroy", "--auto-approve"]);
    assert_eq!(a.container_id("fflineage-a"), Some(a_id), "B's destroy leaves A's container");
}
