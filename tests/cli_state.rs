//! Commands that read the state read it alone (issue 16: Terraform's `output`, `show` and
//! `state` do): a configuration with required variables needs none of them given. No Docker.

mod common;
use common::*;

const HCL: &str = r#"
flinkform {
  project = "ffstate"
}

variable "flink_image" {
  type = string
}

variable "zookeeper_image" {
  type = string
}

cluster "a" {
  image = var.flink_image
}
"#;

const STATE: &str = r#"{
  "version": 1,
  "flinkform_version": "0.1.0",
  "serial": 4,
  "lineage": "3f1c3c6e-0000-4000-8000-000000000000",
  "salt": "00ff",
  "resources": [
    {
      "address": "cluster.a.network",
      "kind": "network",
      "name": "ffstate-a",
      "id": "n1",
      "attributes": { "name": "ffstate-a", "driver": "bridge" },
      "config_hash": "v1:00",
      "dependencies": []
    }
  ],
  "outputs": { "ui": { "value": "http://127.0.0.1:8081", "sensitive": false } }
}
"#;

#[test]
fn output_show_and_state_need_no_variable() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.hcl"), HCL).unwrap();
    std::fs::write(dir.path().join("flinkform.state.json"), STATE).unwrap();
    let ok = |args: &[&str]| {
        let out = run_in(dir.path(), args, &[]);
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        stdout
    };
    assert_eq!(ok(&["output", "ui", "--raw"]).trim(), "http://127.0.0.1:8081");
    assert!(ok(&["output"]).contains("ui = \"http://127.0.0.1:8081\""));
    assert!(ok(&["show"]).contains("cluster.a.network"));
    assert_eq!(ok(&["state", "list"]).trim(), "cluster.a.network");
    assert!(ok(&["state", "show", "cluster.a.network"]).contains("ffstate-a"));
    ok(&["state", "mv", "cluster.a.network", "cluster.b.network"]);
    assert!(ok(&["state", "rm", "cluster.b.network"]).contains("Removed cluster.b.network"));
    assert_eq!(ok(&["state", "list"]).trim(), "");
    // What needs the configuration takes the variables.
    let graph = ok(&["graph", "--var", "flink_image=apache/flink:2.3.0-java17", "--var", "zookeeper_image=z"]);
    assert!(graph.contains("cluster.a.jobmanager[0]"), "{graph}");
    let out = run_in(dir.path(), &["graph"], &[]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("flink_image"), "a missing variable is named");
}
