//! End to end: `import` adopts a container made with `docker run`; the next plan shows how it
//! differs from the configuration (issue 3).

mod common;
use common::*;

const HCL: &str = r#"
flinkform {
  project = "PROJECT"
}

cluster "im" {
  image = "flinkform-offline/flink:2.3.0-java17"

  jobmanager {
    memory = "1024m"
  }

  taskmanager {
    replicas = 1
    memory   = "1024m"
  }
}
"#;

struct Container(&'static str);
impl Drop for Container {
    fn drop(&mut self) {
        docker(&["rm", "-f", self.0]);
    }
}

#[test]
fn import_round_trip() {
    if !require_docker() {
        return;
    }
    let p = Project::new("fft-imp", HCL);
    let name = "fft-imp-im-jobmanager-0";
    let _c = Container(name);
    docker(&["rm", "-f", name]);
    // Made by hand with a secret in its Flink settings (a key Flink itself hides).
    let props = "jobmanager.rpc.address: localhost\ns3.secret-key: hunter2-by-hand";
    let id =
        docker(&["run", "-d", "--name", name, "-e", &format!("FLINK_PROPERTIES={props}"), FLINK_IMAGE, "jobmanager"])
            .trim()
            .to_string();
    assert!(!id.is_empty());

    // Before import: a name flinkform needs is taken by an unmanaged container.
    let out = p.run(&["plan"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!("flinkform import cluster.im.jobmanager[0] {name}"))
    );

    // The role must fit.
    let out = p.run(&["import", "cluster.im.taskmanager[0]", name]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not look like a TaskManager"));

    let out = p.ok(&["import", "cluster.im.jobmanager[0]", name]);
    assert!(out.contains("Import successful"), "{out}");
    let shown = p.ok(&["state", "show", "cluster.im.jobmanager[0]"]);
    assert!(shown.contains(&id), "{shown}");
    // The secret is masked in state and in what reads it (issue 15, item 11).
    let state = std::fs::read_to_string(p.state_path()).unwrap();
    for (what, text) in [("the state", &state), ("state show", &shown)] {
        assert!(!text.contains("hunter2-by-hand"), "{what} holds the imported secret:\n{text}");
    }
    assert!(shown.contains("s3.secret-key: (sensitive value)"), "{shown}");
    let plan = p.ok(&["plan"]);
    assert!(plan.contains("cluster.im.jobmanager[0] must be replaced"), "{plan}");
    assert!(plan.contains("memory: (none) → 1024m"), "{plan}");
    assert!(plan.contains("networks: default → fft-imp-im"), "{plan}");
    assert!(!plan.contains("env.PATH"), "the image's own environment is not diffed: {plan}");
    assert!(!plan.contains("hunter2-by-hand"), "{plan}");
    assert!(plan.contains("cluster.im.network will be created"), "{plan}");
    assert_eq!(p.container_id(name), None, "the imported container carries no flinkform label yet");
    assert_eq!(docker(&["inspect", "-f", "{{.Id}}", name]).trim(), id, "planning touched nothing");
}
