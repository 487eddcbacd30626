//! End to end: the HA example shape (ZooKeeper, two JobManagers, two TaskManagers) on real
//! Flink; killing the leading JobManager leaves the REST API answering through the standby
//! (issue 2, test 4).

mod common;
use common::*;
use std::time::Duration;

const HCL: &str = r#"
flinkform {
  project = "PROJECT"
}

cluster "ha" {
  image = "flinkform-offline/flink:2.3.0-java17"

  zookeeper {
    replicas = 1
    image    = "flinkform-offline/zookeeper:3.8"
  }

  jobmanager {
    replicas = 2
    memory   = "1024m"
  }

  taskmanager {
    replicas = 2
    slots    = 2
    memory   = "1024m"
  }
}
"#;

fn running(name: &str) -> bool {
    docker(&["inspect", "-f", "{{.State.Running}}", name]).trim() == "true"
}

#[test]
fn ha_cluster_survives_the_leader_being_killed() {
    if !require_docker() {
        return;
    }
    let p = Project::new("fft-ha", HCL);
    let (zk, jm0, jm1) = ("fft-ha-ha-zookeeper-0", "fft-ha-ha-jobmanager-0", "fft-ha-ha-jobmanager-1");
    p.ok(&["apply", "--auto-approve"]);
    assert!(running(zk) && running(jm0) && running(jm1), "ZooKeeper and both JobManagers run");
    let srvr = docker(&["exec", zk, "bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/2181; printf srvr >&3; cat <&3"]);
    assert!(srvr.contains("Mode: standalone"), "{srvr}");

    // Flink itself reports ZooKeeper HA.
    let url0 = p.rest_url(jm0);
    let config: serde_json::Value =
        serde_json::from_str(&http_get(&format!("{url0}/jobmanager/config")).unwrap()).unwrap();
    let get = |key: &str| {
        config.as_array().unwrap().iter().find(|e| e["key"] == key).map(|e| e["value"].as_str().unwrap().to_string())
    };
    assert_eq!(get("high-availability.type").as_deref(), Some("zookeeper"));
    assert_eq!(get("high-availability.zookeeper.quorum").as_deref(), Some("fft-ha-ha-zookeeper-0:2181"));
    assert_eq!(get("high-availability.storageDir").as_deref(), Some("file:///flink-data/ha"));
    assert_eq!(overview(&url0), Some((2, 4)));

    // Issue 15, item 19: every container of the cluster runs locked down, and still serves.
    for (name, _) in p.containers() {
        let host = docker(&[
            "inspect",
            "-f",
            "{{json .HostConfig.SecurityOpt}} {{json .HostConfig.CapDrop}} {{.HostConfig.PidsLimit}}",
            &name,
        ]);
        assert_eq!(host.trim(), r#"["no-new-privileges:true"] ["ALL"] 4096"#, "{name}");
        let status = docker(&["exec", &name, "grep", "NoNewPrivs", "/proc/1/status"]);
        assert!(status.split_whitespace().last() == Some("1"), "{name}: {status}");
    }

    // Kill the leader; the REST API answers again (standby or restart) with both TaskManagers.
    let leader = [jm0, jm1]
        .into_iter()
        .find(|jm| docker_logs(jm).contains("was granted leadership"))
        .expect("one JobManager logged that it leads");
    let other = if leader == jm0 { jm1 } else { jm0 };
    let other_url = p.rest_url(other);
    docker(&["kill", leader]);
    let got = eventually(
        "the REST API to answer with 2 TaskManagers after the leader was killed",
        Duration::from_secs(150),
        || overview(&other_url).filter(|o| *o == (2, 4)), // re-registered, slots reported
    );
    assert_eq!(got, (2, 4));

    // flinkform sees the killed JobManager and brings it back.
    if !running(leader) {
        let plan = p.ok(&["plan"]);
        assert!(plan.contains("stopped outside flinkform"), "{plan}");
        p.ok(&["apply", "--auto-approve"]);
    }
    assert!(running(jm0) && running(jm1));
    assert!(p.ok(&["plan"]).contains("No changes."));
}
