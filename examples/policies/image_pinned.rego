# Every image is pinned: by digest, or by a version tag. `latest` or no tag at all moves under
# a running cluster at the next pull.
package main

import rego.v1

# Each image once (a plan names the same few images many times).
images contains rc.change.after.image if {
	some rc in input.resource_changes
	rc.change.after.image
}

unpinned contains image if {
	some image in images
	not pinned(image)
}

deny_image contains msg if {
	some rc in input.resource_changes
	image := rc.change.after.image
	image in unpinned
	msg := sprintf("%s runs image \"%s\", which is not pinned: use a version tag (flink:2.3.0-java17) or a digest (@sha256:…)", [rc.address, image])
}

pinned(image) if contains(image, "@sha256:")

pinned(image) if {
	tag := tag_of(image)
	tag != "latest"
	regex.match(`[0-9]`, tag)
}

# The tag is what follows the last ":" after the last "/" (a registry's port is not a tag).
tag_of(image) := tag if {
	parts := split(image, "/")
	last := parts[count(parts) - 1]
	contains(last, ":")
	tag := split(last, ":")[1]
}
