# A cluster with mutual TLS: internal connections (RPC, blobs, data exchange) and the REST API
# are encrypted and authenticated. flinkform derives the keystores from its key, writes them
# into the cluster's TLS volume and speaks to Flink with its own client certificate; after an
# apply, the same certificate is in .flinkform/tls/secure/ for curl:
#
#   curl --cacert .flinkform/tls/secure/ca.pem --cert .flinkform/tls/secure/client.pem \
#        --key .flinkform/tls/secure/client-key.pem "$(flinkform output -raw rest_url)/overview"
#
# Rotate every certificate (and restart every Flink container, as the plan shows):
#   flinkform apply -replace='cluster.secure.volume["tls"]'

flinkform {
  project = "secure"
}

variable "flink_image" {
  type        = string
  default     = "flinkform-offline/flink:2.3.0-java17"
  description = "Flink image following the apache/flink interface"
}

variable "tls" {
  type        = bool
  default     = true
  description = "Mutual TLS for internal connections and REST"
}

cluster "secure" {
  image = var.flink_image

  security {
    tls = var.tls
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

output "rest_url" {
  value = cluster.secure.rest_url
}

output "tls_bundle" {
  value       = cluster.secure.tls_bundle
  description = "ca.pem, client.pem and client-key.pem for curl --cert"
}
