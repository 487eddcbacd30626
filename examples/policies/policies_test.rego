# The example policies' own tests: `flinkform test policy examples/policies`.
package main

import rego.v1

jm(name, index, config, memory) := {
	"address": sprintf("cluster.%s.jobmanager[%d]", [name, index]),
	"type": "flinkform_cluster_jobmanager",
	"name": name,
	"index": index,
	"change": {"actions": ["create"], "after": {
		"image": "flinkform-offline/flink:2.3.0-java17",
		"memory": memory,
		"flink_config": config,
		"port": {"8081/tcp": "127.0.0.1:(ephemeral)"},
	}},
}

ha_config := "high-availability.type: zookeeper\n"

test_production_needs_two_jobmanagers if {
	count(deny_ha) == 1 with input as {"resource_changes": [jm("prod-eu", 0, ha_config, "1024m")]}
}

test_production_with_two_ha_jobmanagers_passes if {
	count(deny_ha) == 0 with input as {"resource_changes": [jm("prod-eu", 0, ha_config, "1024m"), jm("prod-eu", 1, ha_config, "1024m")]}
}

test_production_without_zookeeper_denied if {
	count(deny_ha) == 2 with input as {"resource_changes": [jm("prod-eu", 0, "", "1024m"), jm("prod-eu", 1, "", "1024m")]}
}

test_other_clusters_may_run_one_jobmanager if {
	count(deny_ha) == 0 with input as {"resource_changes": [jm("analytics", 0, "", "1024m")]}
}

test_memory_ceiling if {
	count(deny_memory) == 1 with input as {"resource_changes": [jm("a", 0, "", "6g")]}
	count(deny_memory) == 0 with input as {"resource_changes": [jm("a", 0, "", "4096m")]}
}

test_public_rest_bind_denied if {
	public := json.patch(jm("a", 0, "", "1024m"), [{"op": "replace", "path": "/change/after/port", "value": {"8081/tcp": "0.0.0.0:8081"}}])
	count(deny_public_port) == 1 with input as {"resource_changes": [public]}
	count(deny_public_port) == 0 with input as {"resource_changes": [jm("a", 0, "", "1024m")]}
}

test_images_pinned if {
	latest := json.patch(jm("a", 0, "", "1024m"), [{"op": "replace", "path": "/change/after/image", "value": "apache/flink:latest"}])
	untagged := json.patch(jm("a", 0, "", "1024m"), [{"op": "replace", "path": "/change/after/image", "value": "registry:5000/flink"}])
	digest := json.patch(jm("a", 0, "", "1024m"), [{"op": "replace", "path": "/change/after/image", "value": "apache/flink@sha256:0123"}])
	count(deny_image) == 2 with input as {"resource_changes": [latest, untagged]}
	count(deny_image) == 0 with input as {"resource_changes": [digest, jm("a", 1, "", "1024m")]}
}
