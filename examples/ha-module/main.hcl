# The HA cluster of examples/ha, written with the shared flink-ha module.

flinkform {
  project = "hamodule"
}

module "critical" {
  source       = "../../modules/flink-ha"
  jobmanagers  = 2
  taskmanagers = 1
}

output "rest_url" {
  value = module.critical.rest_url
}
