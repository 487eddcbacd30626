//! Bad input is refused with file:line:column, a snippet and the fix, exit 1, and the state file
//! untouched (issue 2, test 7); an unreachable Docker engine is one clear line, exit 1.

mod common;
use common::*;

const STATE: &str = r#"{
  "version": 1,
  "flinkform_version": "0.1.0",
  "serial": 7,
  "lineage": "3f1c3c6e-0000-4000-8000-000000000000",
  "resources": [],
  "outputs": {}
}
"#;

fn project_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    std::fs::write(dir.path().join("flinkform.state.json"), STATE).unwrap();
    dir
}

/// Runs validate, plan and apply: each must exit 1 with every expected fragment on stderr, and
/// leave the state's bytes as they were.
fn assert_refused(hcl: &str, expected: &[&str]) {
    let dir = project_with(&[("main.hcl", hcl)]);
    for cmd in [&["validate"][..], &["plan"], &["apply", "--auto-approve"]] {
        let out = run_in(dir.path(), cmd, &[]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{cmd:?} must exit 1:\n{err}");
        for e in expected {
            assert!(err.contains(e), "{cmd:?}: expected `{e}` in:\n{err}");
        }
        assert_eq!(
            std::fs::read_to_string(dir.path().join("flinkform.state.json")).unwrap(),
            STATE,
            "state bytes unchanged"
        );
    }
}

#[test]
fn syntax_error_points_at_the_file() {
    assert_refused("cluster \"x\" {\n  image = \"a\"\n", &["main.hcl:2:", "syntax error", "every `{` has its `}`"]);
}

#[test]
fn unknown_attribute_suggests_the_closest_name() {
    assert_refused(
        "cluster \"x\" {\n  taskmanager {\n    replica = 2\n  }\n}\n",
        &["main.hcl:3:5: unknown attribute `replica` in `taskmanager`", "did you mean `replicas`?"],
    );
}

#[test]
fn unknown_block_suggests_the_closest_name() {
    assert_refused("clustr \"x\" {\n}\n", &["main.hcl:1:1: unknown block `clustr`", "did you mean `cluster`?"]);
}

#[test]
fn wrong_type_names_the_fix() {
    assert_refused(
        "cluster \"x\" {\n  taskmanager {\n    slots = \"many\"\n  }\n}\n",
        &["main.hcl:3:13: `slots` must be a whole number between 1 and 1024, got string \"many\"", "slots = 1"],
    );
}

#[test]
fn undefined_variable_is_reported_where_it_is_used() {
    assert_refused(
        "variable \"slots\" {\n  default = 2\n}\ncluster \"x\" {\n  taskmanager {\n    slots = var.slot\n  }\n}\n",
        &["main.hcl:6:13: reference to undefined variable `var.slot`", "did you mean `slots`?"],
    );
}

#[test]
fn reference_cycle_names_every_member() {
    assert_refused(
        "locals {\n  a = local.c\n  b = local.a\n  c = local.b\n}\n",
        &["reference cycle: local.a, local.b, local.c", "main.hcl:2:3", "main.hcl:3:3", "main.hcl:4:3"],
    );
}

#[test]
fn standby_jobmanagers_without_zookeeper_are_refused() {
    assert_refused(
        "cluster \"x\" {\n  jobmanager {\n    replicas = 2\n  }\n}\n",
        &["main.hcl:3:16: 2 JobManagers need high availability", "add a `zookeeper { replicas = 1 }` block"],
    );
}

#[test]
fn ha_storage_must_be_shared() {
    assert_refused(
        "cluster \"x\" {\n  zookeeper {\n    replicas = 1\n  }\n  high_availability {\n    storage_dir = \"file:///tmp/ha\"\n  }\n}\n",
        &["main.hcl:6:19: HA storage dir \"file:///tmp/ha\" is not shared between the JobManagers"],
    );
}

#[test]
fn every_error_is_reported_at_once() {
    assert_refused(
        "cluster \"x\" {\n  imag = \"a\"\n  taskmanager {\n    memory = \"lots\"\n  }\n  jobmanager {\n    replicas = 3\n  }\n}\n",
        &["has 3 error(s)", "main.hcl:2:3", "main.hcl:4:14", "main.hcl:7:16"],
    );
}

#[test]
fn missing_required_variable_is_listed() {
    assert_refused(
        "variable \"a\" {\n  type = string\n}\nvariable \"b\" {\n  type = number\n}\n",
        &["no value for required variable `a`", "no value for required variable `b`", "--var a="],
    );
}

#[test]
fn unreachable_docker_is_one_clear_line_and_changes_nothing() {
    let dir = project_with(&[("main.hcl", "cluster \"x\" {\n}\n")]);
    let every = [
        &["plan"][..],
        &["plan", "--refresh-only"],
        &["apply", "--auto-approve"],
        &["destroy", "--auto-approve"],
        &["refresh"],
        &["import", "cluster.x.jobmanager[0]", "some-container"],
    ];
    for cmd in every {
        let out = run_in(dir.path(), cmd, &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{cmd:?}: {err}");
        let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{cmd:?}: one line, got:\n{err}");
        assert!(
            lines[0].starts_with("Error: cannot reach the Docker engine at unix:///nonexistent/docker.sock"),
            "{err}"
        );
        assert!(lines[0].contains("DOCKER_HOST"), "{err}");
        assert_eq!(std::fs::read_to_string(dir.path().join("flinkform.state.json")).unwrap(), STATE);
    }
}

#[test]
fn apply_without_a_terminal_needs_auto_approve() {
    // Needs Docker for the plan it shows first; an empty configuration plans nothing, so use
    // one cluster and check the refusal happens before anything is created.
    if !require_docker() {
        return;
    }
    let dir = project_with(&[(
        "main.hcl",
        "flinkform {\n  project = \"fft-noconfirm\"\n}\ncluster \"x\" {\n  image = \"flinkform-offline/flink:2.3.0-java17\"\n}\n",
    )]);
    let out = run_in(dir.path(), &["apply"], &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("--auto-approve"), "{err}");
    assert_eq!(docker(&["ps", "-aq", "--filter", "label=io.flinkform.project=fft-noconfirm"]).trim(), "");
    assert_eq!(std::fs::read_to_string(dir.path().join("flinkform.state.json")).unwrap(), STATE);
}

#[test]
fn refresh_false_plans_from_the_state_alone_without_docker() {
    let dir = project_with(&[(
        "main.hcl",
        "flinkform {\n  project = \"offline\"\n}\ncluster \"x\" {\n  taskmanager {\n    replicas = 2\n  }\n}\n",
    )]);
    let out = run_in(
        dir.path(),
        &["plan", "--refresh=false", "--json"],
        &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["summary"]["add"], 5);
    assert_eq!(std::fs::read_to_string(dir.path().join("flinkform.state.json")).unwrap(), STATE);
}

/// A damaged state file is refused by every command that reads it, never overwritten, and the
/// message points at the backup; one from a newer schema asks for a newer flinkform.
#[test]
fn corrupt_truncated_or_newer_state_is_refused_and_left_alone() {
    let truncated = &STATE[..STATE.len() / 2];
    let newer = STATE.replace("\"version\": 1", "\"version\": 99");
    let cases: [(&str, &[&str]); 3] = [
        (truncated, &["is not valid", "it was left untouched", "flinkform.state.json.backup"]),
        ("not json at all", &["is not valid", "flinkform.state.json.backup"]),
        (&newer, &["written by a newer flinkform (schema 99", "upgrade flinkform"]),
    ];
    for (bytes, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("main.hcl"), "container \"x\" {\n  image = \"x\"\n}\n").unwrap();
        let path = dir.path().join("flinkform.state.json");
        std::fs::write(&path, bytes).unwrap();
        let cmds = [
            &["plan", "--refresh=false"][..],
            &["plan"],
            &["apply", "--auto-approve"],
            &["destroy", "--auto-approve"],
            &["show"],
            &["output"],
            &["state", "list"],
            &["state", "rm", "container.x"],
            &["refresh"],
        ];
        for cmd in cmds {
            let out = run_in(dir.path(), cmd, &[]);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{cmd:?} must exit 1:\n{err}");
            for e in expected {
                assert!(err.contains(e), "{cmd:?}: expected `{e}` in:\n{err}");
            }
            assert_eq!(std::fs::read_to_string(&path).unwrap(), bytes, "{cmd:?} left the state's bytes alone");
            assert!(!dir.path().join("flinkform.state.json.backup").exists(), "{cmd:?} wrote no backup over it");
        }
    }
}

#[test]
fn a_held_lock_refuses_apply_but_never_hides_a_configuration_error() {
    let hcl = "flinkform {\n  project = \"fft-lockheld\"\n}\n\ncontainer \"c\" {\n  image = \"x\"\n}\n";
    let dir = project_with(&[("main.hcl", hcl)]);
    // Another process's lock, as apply takes it: an OS lock on the state's .lock.info.
    let held = std::fs::File::create(dir.path().join("flinkform.state.json.lock.info")).unwrap();
    held.try_lock().unwrap();
    let env = [("DOCKER_HOST", "unix:///nonexistent/docker.sock")];
    let out = run_in(dir.path(), &["apply", "--auto-approve"], &env);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("is locked"), "a valid configuration meets the lock: {err}");

    std::fs::write(dir.path().join("main.hcl"), hcl.replace("image = \"x\"", "imag = \"x\"")).unwrap();
    let started = std::time::Instant::now();
    let out = run_in(dir.path(), &["apply", "--auto-approve", "--lock-timeout", "30s"], &env);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("imag") && !err.contains("is locked"), "the configuration error: {err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "reported without waiting for the lock");
    assert_eq!(std::fs::read_to_string(dir.path().join("flinkform.state.json")).unwrap(), STATE);
}

/// Issue 15, item 12: a sensitive value's error names the place, never shows the value.
#[test]
fn a_sensitive_value_in_a_var_file_is_not_shown_with_its_error() {
    let hcl =
        "variable \"port\" {\n  type      = number\n  sensitive = true\n}\nvariable \"plain\" {\n  type = number\n}\n";
    let vars = "plain = 1\nport = \"hunter2-in-file\"\n";
    let dir = project_with(&[("main.hcl", hcl), ("secrets.tfvars", vars)]);
    let out = run_in(dir.path(), &["validate", "--var-file", "secrets.tfvars"], &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("secrets.tfvars:2:"), "the place is named: {err}");
    assert!(err.contains("(sensitive value) has the wrong type"), "{err}");
    assert!(!err.contains("hunter2"), "the value is not shown: {err}");
    // A value that is not sensitive keeps its snippet.
    let dir = project_with(&[("main.hcl", hcl), ("plain.tfvars", "plain = \"visible-value\"\n")]);
    let out = run_in(dir.path(), &["validate", "--var-file", "plain.tfvars", "--var", "port=1"], &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("visible-value"), "{err}");
}

/// Issue 15, item 17: a bind mount that hands a container the host is refused unless written so.
#[test]
fn bind_mounts_of_the_host_need_allow_host_access() {
    for (mount, why) in [
        ("/:/host", "the host's root file system"),
        ("/var/run/docker.sock:/var/run/docker.sock", "the Docker socket"),
        ("/srv/data/../../etc:/etc/x:ro", "climbs with `..`"),
    ] {
        let hcl = format!("container \"c\" {{\n  image   = \"busybox\"\n  volumes = [\"{mount}\"]\n}}\n");
        assert_refused(&hcl, &["main.hcl:3:", why, "allow_host_access = true"]);
        let allowed = hcl.replace("  image", "  allow_host_access = true\n  image");
        let dir = project_with(&[("main.hcl", &allowed)]);
        let out = run_in(dir.path(), &["validate"], &[]);
        assert!(out.status.success(), "{mount}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

/// Issue 15, item 16: ports publish on the loopback unless an address is written; wildcard
/// binds (ports and Flink's REST API) are accepted with a warning that names the place.
#[test]
fn wildcard_binds_are_warned_about_and_ports_default_to_the_loopback() {
    let hcl = r#"
cluster "open" {
  image = "flinkform-offline/flink:2.3.0-java17"
  jobmanager {
    rest_bind = "0.0.0.0"
  }
}

container "web" {
  image = "busybox"
  ports = ["9000:9000", "0.0.0.0:9001:9001"]
}
"#;
    let dir = project_with(&[("main.hcl", hcl)]);
    for cmd in [&["validate"][..], &["plan", "--refresh=false"]] {
        let out = run_in(dir.path(), cmd, &[]);
        let (stdout, err) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "{cmd:?}: {err}");
        assert!(
            err.contains("Warning: main.hcl:2:1: cluster.open publishes Flink's REST API on every interface"),
            "{err}"
        );
        assert!(
            err.contains("Warning: main.hcl:9:1: container.web publishes port 9001/tcp on every interface"),
            "{err}"
        );
        assert!(!err.contains("port 9000/tcp"), "{err}");
        if cmd[0] == "plan" {
            assert!(stdout.contains(r#"port.9000/tcp"#) && stdout.contains(r#""127.0.0.1:9000""#), "{stdout}");
        }
    }
}

/// Issue 17: `validate --json` in Terraform's shape, each diagnostic with its range.
#[test]
fn validate_json_gives_each_diagnostic_its_range() {
    let dir = project_with(&[("main.hcl", "cluster \"x\" {\n  taskmanager {\n    replica = 2\n  }\n}\n")]);
    let out = run_in(dir.path(), &["validate", "-json"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((doc["valid"].as_bool(), doc["error_count"].as_u64()), (Some(false), Some(1)), "{doc}");
    let d = &doc["diagnostics"][0];
    assert_eq!(d["severity"], "error");
    assert_eq!(d["summary"], "unknown attribute `replica` in `taskmanager`");
    assert_eq!(d["detail"], "did you mean `replicas`?");
    assert_eq!(d["range"]["filename"], "main.hcl");
    assert_eq!((d["range"]["start"]["line"].as_u64(), d["range"]["start"]["column"].as_u64()), (Some(3), Some(5)));
    let ok =
        project_with(&[("main.hcl", "container \"c\" {\n  image = \"busybox\"\n  ports = [\"0.0.0.0:80:80\"]\n}\n")]);
    let out = run_in(ok.path(), &["validate", "--json"], &[]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(out.status.success(), "{doc}");
    assert_eq!((doc["valid"].as_bool(), doc["warning_count"].as_u64()), (Some(true), Some(1)), "{doc}");
}
