# A GitOps repository: this file is reviewed in pull requests; CI plans it, posts the plan,
# and applies exactly the reviewed plan after merge (see README.md and ci.sh).

flinkform {
  project = "gitops"
}

variable "flink_image" {
  type    = string
  default = "flinkform-offline/flink:2.3.0-java17"
}

cluster "streaming" {
  image = var.flink_image

  flink_config = {
    "state.checkpoints.dir" = "file:///flink-data/checkpoints"
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
