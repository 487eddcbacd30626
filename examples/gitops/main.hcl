# A GitOps repository: this file is reviewed in pull requests; CI plans it, posts the plan,
# and applies exactly the reviewed plan after merge (see README.md and ci.sh). The state is
# shared by every runner in PostgreSQL: the connection comes from FLINKFORM_PG_CONN_STR (or
# PGHOST, PGUSER, PGPASSWORD…), a CI secret, never from this file.

flinkform {
  project = "gitops"

  backend "postgres" {
    schema = "flinkform"
  }
}

variable "alert_token" {
  type        = string
  sensitive   = true
  description = "A token the jobs use (FLINKFORM_VAR_alert_token, from the CI's secret store)"
}

variable "flink_image" {
  type    = string
  default = "flinkform-offline/flink:2.3.0-java17"
}

cluster "streaming" {
  image = var.flink_image

  flink_config = {
    "state.checkpoints.dir" = "file:///flink-data/checkpoints"
    "example.alerts.token"  = var.alert_token
  }

  jobmanager {
    memory = "1024m"
  }

  taskmanager {
    replicas = 1
    slots    = 2
    memory   = "1024m"
  }
}

output "rest_url" {
  value = cluster.streaming.rest_url
}
