# The quickstart: one JobManager and two TaskManagers with two slots each.
#
# The images default to the offline builds from images/build.sh. With access to a registry,
# use the official images instead:
#   flinkform apply --var flink_image=apache/flink:2.3.0-java17

flinkform {
  project = "quickstart"
}

variable "flink_image" {
  type        = string
  default     = "flinkform-offline/flink:2.3.0-java17"
  description = "Flink image following the apache/flink interface"
}

variable "taskmanagers" {
  type        = number
  default     = 2
  description = "TaskManager containers"
}

variable "slots" {
  type        = number
  default     = 2
  description = "Task slots per TaskManager"
}

cluster "quickstart" {
  image = var.flink_image

  flink_config = {
    "execution.checkpointing.interval" = "10s"
    "state.checkpoints.dir"            = "file:///flink-data/checkpoints"
    "state.savepoints.dir"             = "file:///flink-data/savepoints"
  }

  jobmanager {
    memory = "1024m"
  }

  taskmanager {
    replicas = var.taskmanagers
    slots    = var.slots
    memory   = "1024m"
  }
}

output "rest_url" {
  value = cluster.quickstart.rest_url
}

output "slots_total" {
  value = cluster.quickstart.slots_total
}
