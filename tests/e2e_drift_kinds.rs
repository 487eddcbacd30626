//! End to end: drift kinds a reviewer must see (issue 3): a container whose config-hash label
//! no longer matches, one re-created from another image id, an unmanaged object holding a
//! needed name, an object labelled as the project's that nothing records; and state surgery —
//! list, show, mv, rm, refresh, force-unlock — plus graph.

mod common;
use common::*;

const HCL: &str = r#"
flinkform {
  project = "PROJECT"
}

cluster "dk" {
  image = "fft-drift-kinds/flink:2.3-test"

  jobmanager {
    memory = "1024m"
  }

  taskmanager {
    replicas = 0
  }
}
"#;

const IMAGE: &str = "fft-drift-kinds/flink:2.3-test";

struct Image;
impl Drop for Image {
    fn drop(&mut self) {
        docker(&["rmi", "-f", IMAGE]);
    }
}

#[test]
fn drift_kinds_and_state_surgery() {
    if !require_docker() {
        return;
    }
    docker(&["tag", FLINK_IMAGE, IMAGE]);
    let _image = Image;
    let p = Project::new("fft-dk", HCL);
    let jm = "fft-dk-dk-jobmanager-0";
    p.ok(&["apply", "--auto-approve"]);

    // graph: DOT with the dependency edges.
    let dot = p.ok(&["graph"]);
    assert!(dot.starts_with("digraph flinkform {"), "{dot}");
    assert!(dot.contains("\"cluster.dk.jobmanager[0]\" -> \"cluster.dk.network\";"), "{dot}");

    // (d) The image tag now points at another image id.
    docker(&["commit", "--change", "LABEL fft.rebuilt=yes", jm, IMAGE]);
    let plan = p.ok(&["plan"]);
    assert!(plan.contains("cluster.dk.jobmanager[0] must be replaced"), "{plan}");
    assert!(plan.contains(&format!("image id changed: {IMAGE} is now")), "{plan}");
    p.ok(&["apply", "--auto-approve"]);
    assert!(p.ok(&["plan"]).contains("No changes."));

    // (c) Re-created outside flinkform with our labels but another config-hash.
    let labels = docker(&["inspect", "-f", "{{range $k, $v := .Config.Labels}}{{$k}}={{$v}}\n{{end}}", jm]);
    docker(&["rm", "-f", jm]);
    let mut args: Vec<String> =
        vec!["run".into(), "-d".into(), "--name".into(), jm.into(), "--network".into(), "fft-dk-dk".into()];
    for l in labels.lines().filter(|l| l.starts_with("io.flinkform.")) {
        let l = if l.starts_with("io.flinkform.config-hash=") {
            "io.flinkform.config-hash=v1:edited".to_string()
        } else {
            l.to_string()
        };
        args.extend(["--label".into(), l]);
    }
    args.extend(["--entrypoint".into(), "sleep".into(), IMAGE.into(), "600".into()]);
    docker(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let plan = p.ok(&["plan"]);
    assert!(
        plan.contains("changed outside flinkform: its config-hash label no longer matches the configuration"),
        "{plan}"
    );

    // refresh records the new container's id without touching it.
    let new_id = docker(&["inspect", "-f", "{{.Id}}", jm]).trim().to_string();
    let out = p.ok(&["refresh"]);
    assert!(out.contains("cluster.dk.jobmanager[0]: id or published ports changed; recorded"), "{out}");
    assert!(p.ok(&["state", "show", "cluster.dk.jobmanager[0]"]).contains(&new_id));
    assert_eq!(docker(&["inspect", "-f", "{{.Id}}", jm]).trim(), new_id, "refresh changed no container");
    p.ok(&["apply", "--auto-approve"]);
    assert!(p.ok(&["plan"]).contains("No changes."));

    // state list / mv / rm.
    let list = p.ok(&["state", "list"]);
    assert_eq!(
        list.lines().collect::<Vec<_>>(),
        ["cluster.dk.jobmanager[0]", "cluster.dk.network", "cluster.dk.volume[\"data\"]"]
    );
    p.ok(&["state", "mv", "cluster.dk.jobmanager[0]", "cluster.dk.jobmanager[9]"]);
    assert!(p.ok(&["state", "list"]).contains("cluster.dk.jobmanager[9]"));
    p.ok(&["state", "mv", "cluster.dk.jobmanager[9]", "cluster.dk.jobmanager[0]"]);
    assert!(p.ok(&["plan"]).contains("No changes."), "moved back: nothing to do");
    let jm_id = p.container_id(jm).unwrap();
    let out = p.ok(&["state", "rm", "cluster.dk.jobmanager[0]"]);
    assert!(out.contains("Removed cluster.dk.jobmanager[0]"), "{out}");
    assert_eq!(p.container_id(jm), Some(jm_id), "state rm leaves the container");
    let out = p.run(&["plan"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "a forgotten container holding a needed name is in the way:\n{err}");
    assert!(err.contains("flinkform import cluster.dk.jobmanager[0] fft-dk-dk-jobmanager-0"), "{err}");
    docker(&["rm", "-f", jm]);

    // (e) An unmanaged object holding a needed name: an error with a hint, never removed.
    p.write(
        "extra.hcl",
        "cluster \"dk2\" {\n  image = \"fft-drift-kinds/flink:2.3-test\"\n  taskmanager {\n    replicas = 0\n  }\n}\n",
    );
    docker(&["network", "create", "fft-dk-dk2"]);
    let out = p.run(&["plan"]);
    let err = String::from_utf8_lossy(&out.stderr);
    docker(&["network", "rm", "fft-dk-dk2"]);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("needs the name \"fft-dk-dk2\", but a network with that name already exists (it is not managed by flinkform)"), "{err}");
    assert!(err.contains("flinkform import cluster.dk2.network fft-dk-dk2"), "{err}");
    std::fs::remove_file(p.path().join("extra.hcl")).unwrap();

    // The same for a name outside the project's prefix that the state does not know yet (plan
    // lists those on their own), and once applied the state's names are watched too.
    p.write("extra.hcl", "network \"outside\" {\n  name = \"fftdkx-outside\"\n}\n");
    docker(&["network", "create", "fftdkx-outside"]);
    let out = p.run(&["plan"]);
    let err = String::from_utf8_lossy(&out.stderr);
    docker(&["network", "rm", "fftdkx-outside"]);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("needs the name \"fftdkx-outside\", but a network with that name already exists"), "{err}");
    p.ok(&["apply", "--auto-approve"]);
    assert!(p.ok(&["plan"]).contains("No changes."));
    docker(&["network", "rm", "fftdkx-outside"]);
    let plan = p.ok(&["plan"]);
    assert!(plan.contains("network.outside") && plan.contains("1 to add"), "removed outside flinkform: {plan}");
    // An unlabelled object that took the recorded name is not the recorded object.
    docker(&["network", "create", "fftdkx-outside"]);
    let out = p.ok(&["plan", "--refresh-only"]);
    docker(&["network", "rm", "fftdkx-outside"]);
    assert!(out.contains("network.outside: removed outside flinkform; dropped from the state"), "{out}");
    std::fs::remove_file(p.path().join("extra.hcl")).unwrap();

    // (f) An object labelled as the project's under a name outside its prefix, recorded nowhere
    // (a run of this state killed between creating it and saving the state: its labels carry the
    // state's lineage), is found by its labels and removed.
    let state: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p.state_path()).unwrap()).unwrap();
    let lineage = format!("io.flinkform.lineage={}", state["lineage"].as_str().unwrap());
    docker(&[
        "network",
        "create",
        "--label",
        "io.flinkform.project=fft-dk",
        "--label",
        "io.flinkform.managed=true",
        "--label",
        "io.flinkform.address=network.stray",
        "--label",
        &lineage,
        "fftdkx-stray",
    ]);
    let plan = p.ok(&["plan"]);
    assert!(plan.contains("labelled as this project's but neither configured nor in state"), "{plan}");
    assert!(plan.contains("network.stray"), "{plan}");
    p.ok(&["apply", "--auto-approve"]);
    let left = docker(&["network", "ls", "-q", "--filter", "name=^fftdkx-stray$"]);
    assert!(left.trim().is_empty(), "the stray network was removed: {left}");

    // force-unlock removes a lock left behind, and only with its ID.
    let info = p.path().join("flinkform.state.json.lock.info");
    std::fs::write(
        &info,
        r#"{"ID":"abc-123","Operation":"apply","Who":"ci@host","Pid":999999,"Created":"2026-01-01T00:00:00Z"}"#,
    )
    .unwrap();
    let out = p.run(&["force-unlock", "wrong"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(p.ok(&["force-unlock", "abc-123"]).contains("successfully unlocked"));
    assert!(!info.exists());
}
