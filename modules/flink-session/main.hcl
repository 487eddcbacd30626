# A Flink session cluster: one JobManager and `taskmanagers` TaskManagers on their own network.

variable "image" {
  type        = string
  default     = "flinkform-offline/flink:2.3.0-java17"
  description = "Flink image (official apache/flink interface)"
}

variable "taskmanagers" {
  type        = number
  default     = 1
  description = "TaskManager containers"

  validation {
    condition     = var.taskmanagers >= 0 && var.taskmanagers <= 100
    error_message = "taskmanagers must be between 0 and 100."
  }
}

variable "slots" {
  type        = number
  default     = 2
  description = "Task slots per TaskManager"

  validation {
    condition     = var.slots >= 1
    error_message = "slots must be at least 1."
  }
}

variable "jobmanager_memory" {
  type    = string
  default = "1024m"
}

variable "taskmanager_memory" {
  type    = string
  default = "1024m"
}

variable "rest_port" {
  type        = number
  default     = null
  description = "Host port of the REST API; null = an ephemeral port"
}

variable "flink_config" {
  type        = map(string)
  default     = {}
  description = "Extra Flink configuration (flat dotted keys)"
}

cluster "flink" {
  image        = var.image
  flink_config = var.flink_config

  jobmanager {
    memory    = var.jobmanager_memory
    rest_port = var.rest_port
  }

  taskmanager {
    replicas = var.taskmanagers
    slots    = var.slots
    memory   = var.taskmanager_memory
  }
}

output "name" {
  value       = cluster.flink.name
  description = "Cluster name, for `job` blocks: cluster = module.<name>.name"
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

output "slots_total" {
  value = cluster.flink.slots_total
}
