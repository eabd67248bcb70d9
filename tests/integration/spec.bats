#!/usr/bin/env bats
# `spec`: writes a default config.json.

load helpers

setup_file() { berth_setup_file; }
teardown_file() { berth_teardown_file; }
setup() { berth_setup; }
teardown() { berth_teardown; }

@test "spec writes a valid config.json in the current directory" {
	cd "$TEST_DIR"
	run berth spec
	[ "$status" -eq 0 ]
	[ -f config.json ]

	# Valid JSON with the basics a user will edit.
	run jq -e '.ociVersion | type == "string" and length > 0' config.json
	[ "$status" -eq 0 ]
	run jq -r '.process.terminal' config.json
	[ "$output" = "true" ]
	run jq -r '.root.path' config.json
	[ "$output" = "rootfs" ]
	run jq -e '.process.args | length > 0' config.json
	[ "$status" -eq 0 ]
	run jq -e '[.linux.namespaces[].type] | index("mount") != null' config.json
	[ "$status" -eq 0 ]
}

@test "spec refuses to overwrite an existing config.json" {
	cd "$TEST_DIR"
	echo '{"mine": true}' >config.json
	run berth spec
	[ "$status" -ne 0 ]
	# The file is untouched.
	run jq -r '.mine' config.json
	[ "$output" = "true" ]
}

@test "spec --bundle DIR writes DIR/config.json" {
	mkdir "$TEST_DIR/b"
	cd "$TEST_DIR"
	run berth spec --bundle "$TEST_DIR/b"
	[ "$status" -eq 0 ]
	[ -f "$TEST_DIR/b/config.json" ]
	[ ! -e "$TEST_DIR/config.json" ]
	run jq -e '.ociVersion' "$TEST_DIR/b/config.json"
	[ "$status" -eq 0 ]
}

@test "spec --rootless has a user namespace with mappings and no network namespace" {
	cd "$TEST_DIR"
	run berth spec --rootless
	[ "$status" -eq 0 ]

	run jq -e '[.linux.namespaces[].type] | index("user") != null' config.json
	[ "$status" -eq 0 ]
	run jq -e '[.linux.namespaces[].type] | index("network") == null' config.json
	[ "$status" -eq 0 ]
	run jq -e '(.linux.uidMappings | length) > 0 and (.linux.gidMappings | length) > 0' config.json
	[ "$status" -eq 0 ]
	# Container root maps to the uid/gid that ran spec.
	run jq -r '.linux.uidMappings[0] | "\(.containerID) \(.hostID) \(.size)"' config.json
	[ "$output" = "0 $(id -u) 1" ]
	run jq -r '.linux.gidMappings[0] | "\(.containerID) \(.hostID) \(.size)"' config.json
	[ "$output" = "0 $(id -g) 1" ]
}
