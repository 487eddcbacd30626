# A Flink session cluster from the shared module, plus a supporting container beside it: a
# smoke-test probe that polls the JobManager's REST API and is ready when its healthcheck is.

flinkform {
  project = "platform"
}

variable "taskmanagers" {
  type    = number
  default = 2
}

variable "probes" {
  type        = number
  default     = 1
  description = "How many probe containers to run"
}

module "analytics" {
  source       = "../../modules/flink-session"
  taskmanagers = var.taskmanagers
}

container "probe" {
  count   = var.probes
  image   = "flinkform-offline/base:java17"
  command = ["bash", "-c", "while true; do curl -fsS http://${module.analytics.jobmanager_host}:8081/overview; echo; sleep 10; done"]
  network = module.analytics.network
  memory  = "64m"

  healthcheck {
    test     = ["CMD", "curl", "-fsS", "http://${module.analytics.jobmanager_host}:8081/overview"]
    interval = "2s"
  }
}

output "rest_url" {
  value = module.analytics.rest_url
}
