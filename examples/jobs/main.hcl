# A stateful job next to its cluster. Build the jar first (offline, against the image's jars):
#   ./examples/jobs/build.sh
# Then `flinkform apply`. Change `parallelism` and apply again: flinkform stops the job with a
# savepoint and restarts it from that savepoint, so its keyed counts carry on.

flinkform {
  project = "jobs"
}

variable "flink_image" {
  type    = string
  default = "flinkform-offline/flink:2.3.0-java17"
}

variable "parallelism" {
  type    = number
  default = 2
}

variable "job_state" {
  type    = string
  default = "running"
}

cluster "jobs" {
  image = var.flink_image

  flink_config = {
    "state.savepoints.dir"  = "file:///flink-data/savepoints"
    "state.checkpoints.dir" = "file:///flink-data/checkpoints"
  }

  jobmanager {
    memory = "1024m"
  }

  taskmanager {
    replicas = 2
    slots    = 2
    memory   = "1024m"
  }
}

job "counter" {
  cluster      = cluster.jobs.name
  jar          = "stateful-counter.jar"
  entry_class  = "org.flinkform.examples.StatefulCounter"
  args         = ["20"]
  parallelism  = var.parallelism
  upgrade_mode = "savepoint"
  state        = var.job_state
}

output "rest_url" {
  value = cluster.jobs.rest_url
}
