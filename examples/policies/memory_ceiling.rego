# No Flink process above a ceiling: a TaskManager's memory (taskmanager.memory.process.size)
# at most 8 GiB, a JobManager's at most 4 GiB. Bigger needs more TaskManagers, not larger ones.
package main

import rego.v1

ceiling_mib := {
	"flinkform_cluster_taskmanager": 8192,
	"flinkform_cluster_jobmanager": 4096,
}

# "1728m" → 1728, "8g" → 8192 (Flink's and Docker's spellings).
mib(text) := to_number(trim_suffix(lower(text), "m")) if endswith(lower(text), "m")

mib(text) := to_number(trim_suffix(lower(text), "g")) * 1024 if endswith(lower(text), "g")

deny_memory contains msg if {
	some rc in input.resource_changes
	limit := ceiling_mib[rc.type]
	size := mib(rc.change.after.memory)
	size > limit
	msg := sprintf("%s asks for %s of memory, above the ceiling of %d MiB for its role", [rc.address, rc.change.after.memory, limit])
}
