# High availability: one ZooKeeper, two JobManagers (a leader and a standby) sharing HA storage
# on the cluster's data volume, two TaskManagers. Kill the leading JobManager and the standby
# takes over; TaskManagers re-register with it.
#
# Images default to the offline builds from images/build.sh; with a registry use
#   --var flink_image=apache/flink:2.3.0-java17 --var zookeeper_image=zookeeper:3.8

flinkform {
  project = "ha"
}

variable "flink_image" {
  type    = string
  default = "flinkform-offline/flink:2.3.0-java17"
}

variable "zookeeper_image" {
  type    = string
  default = "flinkform-offline/zookeeper:3.8"
}

cluster "ha" {
  image = var.flink_image

  flink_config = {
    "state.checkpoints.dir" = "file:///flink-data/checkpoints"
    "state.savepoints.dir"  = "file:///flink-data/savepoints"
  }

  zookeeper {
    replicas = 1
    image    = var.zookeeper_image
    memory   = "512m"
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

  high_availability {
    storage_dir     = "file:///flink-data/ha"
    session_timeout = 15000
  }
}

output "rest_url" {
  value = cluster.ha.rest_url
}
