//! Flink containers as users shape them, without Docker: `env`, `volumes`, `ports`, `labels`,
//! `user` and `plugins` on the cluster and per role, what each container gets, what a change
//! plans (only the roles it touches, with the attribute that changed), and the mistakes named.

mod fixtures;

use fixtures::applied;
use flinkform::config::{self, VarInputs};
use flinkform::model::{self, ContainerSpec, Desired, Spec};
use flinkform::plan::{self, Action};

const BASE: &str = r#"
flinkform {
  project = "shape"
}
volume "jars" {}
cluster "c" {
  image   = "flinkform-offline/flink:2.3.0-java17"
  env     = { TZ = "Europe/Berlin", SHARED = "cluster" }
  labels  = { team = "data" }
  plugins = ["flink-s3-fs-hadoop"]
  jobmanager {
    volumes = ["shape-jars:/opt/flink/usrlib:ro", "/srv/hadoop-conf:/opt/hadoop/conf:ro"]
  }
  taskmanager {
    replicas = 2
    env      = { SHARED = "taskmanager" }
    ports    = ["19249:9249"]
    plugins  = ["flink-metrics-jmx-2.3.0.jar"]
    user     = "flink"
  }
}
"#;

fn expand(hcl: &str) -> Result<Desired, String> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.hcl"), hcl).unwrap();
    let cfg = config::load(dir.path(), &VarInputs::default())
        .map_err(|e| e.errors.iter().map(|e| format!("{} ({:?})", e.message, e.help)).collect::<Vec<_>>().join("\n"))?;
    Ok(model::expand(&cfg, &model::sensitive::Masker::salted("salt")))
}

fn spec<'a>(d: &'a Desired, address: &str) -> &'a ContainerSpec {
    match &d[address].spec {
        Spec::Container(c) => c,
        other => panic!("{address} is not a container: {other:?}"),
    }
}

#[test]
fn the_cluster_and_each_role_shape_their_containers() {
    let d = expand(BASE).unwrap();
    let jm = spec(&d, "cluster.c.jobmanager[0]");
    assert_eq!(jm.env["TZ"], "Europe/Berlin");
    assert_eq!(jm.env["SHARED"], "cluster");
    assert_eq!(jm.env["ENABLE_BUILT_IN_PLUGINS"], "flink-s3-fs-hadoop-2.3.0.jar", "the jar of the image's release");
    assert_eq!(jm.labels["team"], "data");
    assert_eq!(jm.user, None);
    let mounts: Vec<(&str, &str, bool, bool)> =
        jm.mounts.iter().map(|m| (m.volume.as_str(), m.target.as_str(), m.bind, m.read_only)).collect();
    assert_eq!(
        mounts,
        [
            ("shape-c-data", "/flink-data", false, false),
            ("shape-jars", "/opt/flink/usrlib", false, true),
            ("/srv/hadoop-conf", "/opt/hadoop/conf", true, true),
        ]
    );
    assert!(d["cluster.c.jobmanager[0]"].dependencies.contains(&"volume.jars".to_string()), "waits for the volume");
    assert_eq!(jm.ports.len(), 1, "only REST on the JobManager");

    for i in 0..2u16 {
        let tm = spec(&d, &format!("cluster.c.taskmanager[{i}]"));
        assert_eq!(tm.env["SHARED"], "taskmanager", "the role's value wins");
        assert_eq!(tm.env["TZ"], "Europe/Berlin");
        assert_eq!(tm.env["ENABLE_BUILT_IN_PLUGINS"], "flink-s3-fs-hadoop-2.3.0.jar;flink-metrics-jmx-2.3.0.jar");
        assert_eq!(tm.user.as_deref(), Some("flink"));
        let port = &tm.ports[0];
        assert_eq!((port.container_port, port.host_port, port.host_ip.as_str()), (9249, Some(19249 + i), "127.0.0.1"));
        assert_eq!(tm.mounts.len(), 1, "the JobManager's mounts are its own");
    }
    let a = &d["cluster.c.taskmanager[1]"].attributes;
    assert_eq!(a["env.SHARED"], "taskmanager");
    assert_eq!(a["port.9249/tcp"], "127.0.0.1:19250");
    assert_eq!(a["label.team"], "data");
}

#[test]
fn a_change_replaces_exactly_the_roles_it_touches_and_says_which_attribute() {
    let d = expand(BASE).unwrap();
    let (state, live) = applied(&d, "shape");
    let changed = |hcl: &str| -> Vec<(String, Action)> {
        let p = plan::compute(&expand(hcl).unwrap(), &state, &live, "shape", false).unwrap();
        p.changes.iter().filter(|c| c.action != Action::NoOp).map(|c| (c.address.clone(), c.action)).collect()
    };
    let tms =
        |action| vec![("cluster.c.taskmanager[0]".to_string(), action), ("cluster.c.taskmanager[1]".into(), action)];
    let jm = || ("cluster.c.jobmanager[0]".to_string(), Action::Replace);

    assert_eq!(changed(BASE), []);
    assert_eq!(changed(&BASE.replace("SHARED = \"taskmanager\"", "SHARED = \"tm2\"")), tms(Action::Replace));
    assert_eq!(changed(&BASE.replace("19249:9249", "29249:9249")), tms(Action::Replace));
    assert_eq!(changed(&BASE.replace("user     = \"flink\"", "")), tms(Action::Replace));
    assert_eq!(changed(&BASE.replace("jars:/opt/flink/usrlib:ro", "jars:/opt/flink/usrlib")), [jm()]);
    let mut both = vec![jm()];
    both.extend(tms(Action::Replace));
    assert_eq!(changed(&BASE.replace("team = \"data\"", "team = \"platform\"")), both);
    assert_eq!(changed(&BASE.replace("[\"flink-s3-fs-hadoop\"]", "[]")), both);

    // The reason names the attribute.
    let p = plan::compute(
        &expand(&BASE.replace("SHARED = \"taskmanager\"", "SHARED = \"tm2\"")).unwrap(),
        &state,
        &live,
        "shape",
        false,
    )
    .unwrap();
    let lines = p.summary_lines();
    assert!(lines.iter().all(|l| l.contains("env.SHARED: taskmanager → tm2")), "{lines:?}");
}

#[test]
fn a_sensitive_env_value_is_masked_where_it_is_shown_and_still_planned() {
    let hcl = BASE
        .replace(
            "volume \"jars\" {}",
            "variable \"token\" {\n  sensitive = true\n  default = \"s3cr3t\"\n}\nvolume \"jars\" {}",
        )
        .replace("SHARED = \"taskmanager\"", "SHARED = \"taskmanager\", TOKEN = var.token");
    let d = expand(&hcl).unwrap();
    let tm = &d["cluster.c.taskmanager[0]"];
    assert_eq!(spec(&d, "cluster.c.taskmanager[0]").env["TOKEN"], "s3cr3t", "Docker gets the value");
    assert!(tm.attributes["env.TOKEN"].starts_with("sensitive:"), "{}", tm.attributes["env.TOKEN"]);
    assert!(!format!("{:?}", tm.attributes).contains("s3cr3t"));
    let other = expand(&hcl.replace("s3cr3t", "0ther")).unwrap();
    assert_ne!(other["cluster.c.taskmanager[0]"].config_hash, tm.config_hash, "a new secret replaces the role");
    assert_eq!(other["cluster.c.jobmanager[0]"].config_hash, d["cluster.c.jobmanager[0]"].config_hash);
}

#[test]
fn mistakes_are_named_with_the_fix() {
    let err = |from: &str, to: &str| expand(&BASE.replacen(from, to, 1)).unwrap_err();
    let e = err("TZ = \"Europe/Berlin\"", "FLINK_PROPERTIES = \"x: y\"");
    assert!(e.contains("`env` cannot set FLINK_PROPERTIES") && e.contains("flink_config"), "{e}");
    let e = err("TZ = \"Europe/Berlin\"", "ENABLE_BUILT_IN_PLUGINS = \"x.jar\"");
    assert!(e.contains("use `plugins` instead"), "{e}");
    let e = err("jars:/opt/flink/usrlib:ro", "jars:/flink-data");
    assert!(e.contains("/flink-data is where flinkform mounts"), "{e}");
    let e = err("/srv/hadoop-conf", "/var/run/docker.sock");
    assert!(e.contains("the Docker socket"), "{e}");
    let e = err("labels  = { team = \"data\" }", "labels = { team = \"data\" }\n  ports = [\"9249:9249\"]");
    assert!(e.contains("would be published by every JobManager and TaskManager"), "{e}");
    let e = err("19249:9249", "65535:9249");
    assert!(e.contains("past 65535") && e.contains("at most 65534"), "{e}");
    let e = err("flinkform-offline/flink:2.3.0-java17", "flinkform-offline/flink:2.3-java17");
    assert!(e.contains("cannot tell which jar \"flink-s3-fs-hadoop\" is"), "{e}");
    assert!(e.contains("flink-s3-fs-hadoop-2.3.0.jar"), "the fix shows the file name: {e}");
    let e = err("[\"flink-s3-fs-hadoop\"]", "[\"../../etc/passwd\"]");
    assert!(e.contains("is not a plugin name"), "{e}");
    let e = err("team = \"data\"", "\"io.flinkform.project\" = \"x\"");
    assert!(e.contains("is reserved"), "{e}");
    // An ephemeral host port on the cluster is fine: each container gets its own.
    let d = expand(&BASE.replacen("labels  = { team = \"data\" }", "ports = [\"9249\"]", 1)).unwrap();
    assert_eq!(spec(&d, "cluster.c.jobmanager[0]").ports[1].host_port, None);
}
