//! End to end: Flink containers shaped as users shape the official image's. A built-in plugin
//! that ships in the image's `opt/` (as the S3 file systems do in `apache/flink`) is linked into
//! `plugins/` by the entrypoint and loaded by Flink; the Prometheus reporter (in `plugins/`
//! already) answers on the port each TaskManager publishes; `env`, labels, `user` and a bind
//! mount reach the containers; a TaskManager-only change replaces only TaskManagers.

mod common;
use common::*;
use std::time::Duration;

/// The offline image with one reporter moved from `plugins/` to `opt/`: the layout of a plugin
/// a user enables by name (no S3 server here, and the file systems are not on the wheels).
const OPT_PLUGIN_IMAGE: &str = "flinkform-test/flink-opt-plugin:2.3.0-java17";

fn build_opt_plugin_image() {
    build_image(
        OPT_PLUGIN_IMAGE,
        &format!(
            "FROM {FLINK_IMAGE}\nRUN mv /opt/flink/plugins/metrics-jmx/flink-metrics-jmx-2.3.0.jar /opt/flink/opt/ \
             && rmdir /opt/flink/plugins/metrics-jmx\nLABEL io.flinkform.test=opt-plugin\n"
        ),
    );
}

/// Two free loopback ports in a row (TaskManager 0 publishes on the first, 1 on the next).
fn free_port_pair() -> u16 {
    loop {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let p = l.local_addr().unwrap().port();
        if p < 65000 && std::net::TcpListener::bind(("127.0.0.1", p + 1)).is_ok() {
            return p;
        }
    }
}

const HCL: &str = r#"
flinkform {
  project = "PROJECT"
}

cluster "shaped" {
  image   = "IMAGE"
  env     = { TZ = "Europe/Berlin" }
  labels  = { team = "data" }
  plugins = ["flink-metrics-jmx"]
  flink_config = {
    "metrics.reporter.jmx.factory.class"  = "org.apache.flink.metrics.jmx.JMXReporterFactory"
    "metrics.reporter.prom.factory.class" = "org.apache.flink.metrics.prometheus.PrometheusReporterFactory"
    "metrics.reporter.prom.port"          = "9249"
  }
  jobmanager {
    memory  = "1024m"
    volumes = ["CONF:/opt/extra-conf:ro"]
  }
  taskmanager {
    replicas = 2
    memory   = "1024m"
    ports    = ["PORT:9249"]
    env      = { ROLE_NOTE = "worker" }
    user     = "flink"
  }
}
"#;

#[test]
fn plugins_ports_env_labels_and_mounts_reach_flink() {
    if !require_docker() {
        return;
    }
    build_opt_plugin_image();
    let conf = tempfile::tempdir().unwrap();
    std::fs::write(conf.path().join("core-site.xml"), "<configuration/>\n").unwrap();
    let port = free_port_pair();
    let hcl = HCL
        .replace("IMAGE", OPT_PLUGIN_IMAGE)
        .replace("CONF", conf.path().to_str().unwrap())
        .replace("PORT", &port.to_string());
    let p = Project::new("fft-shape", &hcl);
    let (jm, tm0, tm1) =
        ("fft-shape-shaped-jobmanager-0", "fft-shape-shaped-taskmanager-0", "fft-shape-shaped-taskmanager-1");
    p.ok(&["apply", "--auto-approve"]);
    let url = p.rest_url(jm);
    eventually("2 TaskManagers registered", Duration::from_secs(90), || overview(&url).filter(|o| o.0 == 2));

    // The plugin: linked from opt/ into its own plugins/ directory, and loaded by Flink.
    for c in [jm, tm0] {
        let listing = docker(&["exec", c, "ls", "-l", "/opt/flink/plugins/flink-metrics-jmx-2.3.0/"]);
        assert!(
            listing.contains("flink-metrics-jmx-2.3.0.jar -> /opt/flink/opt/flink-metrics-jmx-2.3.0.jar"),
            "{listing}"
        );
        let logs = docker_logs(c);
        assert!(logs.contains("Successfully enabled flink-metrics-jmx-2.3.0.jar"), "{c}: {logs}");
        assert!(
            logs.contains("Reporting metrics for reporter jmx of type org.apache.flink.metrics.jmx.JMXReporter"),
            "Flink loads the reporter from the plugin ({c})"
        );
    }

    // The Prometheus reporter on each TaskManager's own published port.
    for (i, _) in [tm0, tm1].iter().enumerate() {
        let metrics = eventually("the Prometheus reporter", Duration::from_secs(30), || {
            http_get(&format!("http://127.0.0.1:{}/metrics", port + i as u16))
        });
        assert!(metrics.contains("flink_taskmanager_Status_JVM_CPU_Load"), "TaskManager {i}");
    }

    // env (cluster and role), labels, user, the bind mount.
    let env = docker(&["exec", tm1, "env"]);
    assert!(env.contains("TZ=Europe/Berlin") && env.contains("ROLE_NOTE=worker"), "{env}");
    assert!(!docker(&["exec", jm, "env"]).contains("ROLE_NOTE"), "the TaskManagers' env is theirs");
    assert_eq!(docker(&["inspect", "-f", "{{index .Config.Labels \"team\"}}", jm]).trim(), "data");
    assert_eq!(docker(&["exec", tm0, "id", "-un"]).trim(), "flink");
    assert_eq!(docker(&["exec", jm, "cat", "/opt/extra-conf/core-site.xml"]), "<configuration/>\n");

    // A TaskManager-only change replaces the TaskManagers and keeps the JobManager.
    let jm_id = p.container_id(jm).unwrap();
    p.write("main.hcl", &std::fs::read_to_string(p.path().join("main.hcl")).unwrap().replace("\"worker\"", "\"busy\""));
    let plan = p.ok(&["plan"]);
    assert!(plan.contains("Plan: 2 to add, 0 to change, 2 to destroy."), "{plan}");
    assert!(plan.contains("env.ROLE_NOTE"), "{plan}");
    p.ok(&["apply", "--auto-approve"]);
    assert_eq!(p.container_id(jm).unwrap(), jm_id, "the JobManager was not touched");
    eventually("2 TaskManagers again", Duration::from_secs(90), || overview(&url).filter(|o| o.0 == 2));
    assert!(docker(&["exec", tm0, "env"]).contains("ROLE_NOTE=busy"));
    assert!(p.ok(&["plan"]).contains("No changes."));
}
