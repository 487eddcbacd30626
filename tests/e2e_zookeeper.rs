//! End to end: a ZooKeeper server keeps its data on its own volume (issue 15, item 20). A
//! replaced server (here: its memory changed) starts from that data: a znode written before is
//! read after, and Flink's JobManager keeps serving.

mod common;
use common::*;
use std::time::Duration;

const HCL: &str = r#"
flinkform {
  project = "PROJECT"
}

variable "zk_memory" {
  type    = string
  default = "512m"
}

cluster "zk" {
  image = "flinkform-offline/flink:2.3.0-java17"

  zookeeper {
    replicas = 1
    image    = "flinkform-offline/zookeeper:3.8"
    memory   = var.zk_memory
  }

  jobmanager {
    memory = "1024m"
  }

  taskmanager {
    replicas = 0
  }

  high_availability {
    storage_dir = "file:///flink-data/ha"
  }
}
"#;

const ZKCLI: &str = "/usr/share/zookeeper/bin/zkCli.sh";

fn zk(container: &str, command: &str) -> String {
    docker(&["exec", container, "bash", "-c", &format!("{ZKCLI} -server 127.0.0.1:2181 {command} 2>/dev/null")])
}

#[test]
fn a_replaced_zookeeper_server_keeps_its_data() {
    if !require_docker() {
        return;
    }
    let p = Project::new("fft-zkvol", HCL);
    let server = "fft-zkvol-zk-zookeeper-0";
    p.ok(&["apply", "--auto-approve"]);
    let before = p.container_id(server).expect("the server runs");
    let volume = docker(&["volume", "inspect", "-f", "{{.Name}}", "fft-zkvol-zk-zookeeper-0"]);
    assert_eq!(volume.trim(), "fft-zkvol-zk-zookeeper-0", "the server has its own named volume");
    zk(server, "create /flinkform-kept survives");
    assert!(zk(server, "get /flinkform-kept").contains("survives"), "written");

    let plan = p.ok(&["plan", "--var", "zk_memory=768m"]);
    assert!(plan.contains("cluster.zk.zookeeper[0] must be replaced"), "{plan}");
    p.ok(&["apply", "--auto-approve", "--var", "zk_memory=768m"]);
    let after = p.container_id(server).expect("the server runs again");
    assert_ne!(before, after, "the server was replaced");
    let read = eventually("the znode to be read back", Duration::from_secs(60), || {
        Some(zk(server, "get /flinkform-kept")).filter(|o| o.contains("survives"))
    });
    assert!(read.contains("survives"));
    let url = p.rest_url("fft-zkvol-zk-jobmanager-0");
    eventually("the JobManager to answer", Duration::from_secs(60), || http_get(&format!("{url}/overview")));
}
