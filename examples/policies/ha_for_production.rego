# A production cluster (its name contains "prod") runs two JobManagers or more, with
# ZooKeeper high availability, so losing one JobManager loses no job.
package main

import rego.v1

jobmanagers(cluster) := [rc |
	some rc in input.resource_changes
	rc.type == "flinkform_cluster_jobmanager"
	rc.name == cluster
	not "delete" in rc.change.actions
]

production_clusters contains rc.name if {
	some rc in input.resource_changes
	rc.type == "flinkform_cluster_jobmanager"
	contains(rc.name, "prod")
	rc.change.after != null
}

deny_ha contains msg if {
	some cluster in production_clusters
	n := count(jobmanagers(cluster))
	n < 2
	msg := sprintf("cluster \"%s\" is a production cluster but runs %d JobManager(s): set `jobmanager { replicas = 2 }` and `ha { zookeeper { replicas = 3 } }`", [cluster, n])
}

deny_ha contains msg if {
	some cluster in production_clusters
	some rc in jobmanagers(cluster)
	not contains(rc.change.after.flink_config, "high-availability.type: zookeeper")
	msg := sprintf("%s runs without ZooKeeper high availability: add an `ha { zookeeper { … } }` block to cluster \"%s\"", [rc.address, cluster])
}
