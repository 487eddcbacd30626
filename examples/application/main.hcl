# An application cluster: the JobManager runs one application (Flink's application mode, the
# image's `standalone-job`), baked into the image. Build the images first (offline):
#   ./examples/application/build.sh 1 && ./examples/application/build.sh 2
# Then `flinkform apply`, and `flinkform apply -var app_version=2`: flinkform stops the job with a
# savepoint and starts the new JobManager from it, so the job's keyed counts carry on.

flinkform {
  project = "application"
}

variable "app_version" {
  type    = string
  default = "1"
}

variable "upgrade_mode" {
  type    = string
  default = "savepoint"
}

variable "app_state" {
  type    = string
  default = "running"
}

cluster "counter" {
  image         = "flinkform-example/counter-app:${var.app_version}"
  flink_version = "2.3"

  flink_config = {
    "execution.checkpointing.interval" = "2s"
    "state.checkpoints.dir"            = "file:///flink-data/checkpoints"
    "state.savepoints.dir"             = "file:///flink-data/savepoints"
  }

  jobmanager {
    memory = "1024m"
  }

  taskmanager {
    replicas = 2
    slots    = 2
    memory   = "1024m"
  }

  application {
    entry_class  = "org.flinkform.examples.StatefulCounter"
    args         = ["20"]
    parallelism  = 2
    upgrade_mode = var.upgrade_mode # savepoint | last-state | stateless
    state        = var.app_state    # running | suspended
  }
}

output "rest_url" {
  value = cluster.counter.rest_url
}
