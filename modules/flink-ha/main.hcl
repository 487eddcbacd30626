# A highly available Flink session cluster: a ZooKeeper quorum, a leader JobManager with
# standbys, and TaskManagers; HA metadata on the cluster's shared data volume.

variable "image" {
  type    = string
  default = "flinkform-offline/flink:2.3.0-java17"
}

variable "zookeeper_image" {
  type    = string
  default = "flinkform-offline/zookeeper:3.8"
}

variable "zookeepers" {
  type        = number
  default     = 1
  description = "ZooKeeper servers (odd)"

  validation {
    condition     = var.zookeepers == 1 || var.zookeepers == 3 || var.zookeepers == 5
    error_message = "zookeepers must be 1, 3 or 5 (an odd quorum)."
  }
}

variable "jobmanagers" {
  type        = number
  default     = 2
  description = "JobManagers: one leader, the rest standbys"
}

variable "taskmanagers" {
  type    = number
  default = 1
}

variable "slots" {
  type    = number
  default = 2
}

variable "memory" {
  type    = object({ jobmanager = string, taskmanager = string, zookeeper = string })
  default = {
    jobmanager  = "1024m"
    taskmanager = "1024m"
    zookeeper   = "384m"
  }
}

variable "flink_config" {
  type    = map(string)
  default = {}
}

cluster "flink" {
  image        = var.image
  flink_config = var.flink_config

  zookeeper {
    replicas = var.zookeepers
    image    = var.zookeeper_image
    memory   = var.memory.zookeeper
  }

  jobmanager {
    replicas = var.jobmanagers
    memory   = var.memory.jobmanager
  }

  taskmanager {
    replicas = var.taskmanagers
    slots    = var.slots
    memory   = var.memory.taskmanager
  }

  high_availability {
    storage_dir = "file:///flink-data/ha"
  }
}

output "name" {
  value = cluster.flink.name
}

output "network" {
  value = cluster.flink.network
}

output "jobmanager_host" {
  value = cluster.flink.jobmanager_host
}

output "rest_url" {
  value = cluster.flink.rest_url
}
