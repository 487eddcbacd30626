# Flink's REST API (job submission, cancellation) is published on loopback only: a port bound
# on every interface hands the cluster to anyone who reaches the host.
package main

import rego.v1

public_prefixes := ["0.0.0.0:", "[::]:", ":::"]

deny_public_port contains msg if {
	some rc in input.resource_changes
	rc.change.after != null
	some container_port, binding in rc.change.after.port
	public(binding)
	msg := sprintf("%s publishes %s on every interface (%s): set `rest_bind = \"127.0.0.1\"` or bind the port to one address", [rc.address, container_port, binding])
}

public(binding) if {
	some prefix in public_prefixes
	startswith(binding, prefix)
}

# A binding without a host address ("8081") is every interface too.
public(binding) if not contains(binding, ":")
