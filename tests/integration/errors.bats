#!/usr/bin/env bats
# Bad input: every case exits non-zero and leaves nothing behind (no state
# dir, nothing in `list`, no mount of the bundle, no cgroup named after the
# id). Lines marked "# berth message" check berth's own error text and are
# skipped for other runtimes; the exit status is checked for all.

load helpers

setup_file() { berth_setup_file; }
teardown_file() { berth_teardown_file; }
setup() {
	berth_setup
	setup_bundle
	set_args true
}
teardown() { berth_teardown; }

# must_fail_to_create: both `create` and `run` of $BUNDLE must fail without
# a trace. The runtime's output of the last attempt is left in $output.
must_fail_to_create() {
	local cmd id
	for cmd in create run; do
		id=$(new_id)
		run berth_detached "$cmd" --bundle "$BUNDLE" "$id"
		echo "$cmd: status $status: $output"
		[ "$status" -ne 0 ]
		assert_no_trace "$id"
	done
}

@test "malformed config.json" {
	printf '{"ociVersion": "1.0.2", "process": {' >"$BUNDLE/config.json"
	must_fail_to_create
	berth_only
	[[ "$output" == *config.json* ]] # berth message
}

@test "config.json that is not an object" {
	echo '[1, 2, 3]' >"$BUNDLE/config.json"
	must_fail_to_create
}

@test "missing config.json" {
	rm "$BUNDLE/config.json"
	must_fail_to_create
	berth_only
	[[ "$output" == *config.json* ]] # berth message
}

@test "wrong type: process.user.uid is a string" {
	update_config '.process.user.uid = "0"'
	must_fail_to_create
	berth_only
	[[ "$output" == *'process.user.uid'* ]] # berth message
}

@test "missing rootfs" {
	rm -rf "$BUNDLE/rootfs"
	must_fail_to_create
	berth_only
	[[ "$output" == *rootfs* ]] # berth message
}

@test "unknown namespace type" {
	update_config '.linux.namespaces += [{"type": "foo"}]'
	must_fail_to_create
	berth_only
	[[ "$output" == *'linux.namespaces'* && "$output" == *'"foo"'* ]] # berth message
}

@test "duplicate namespace" {
	update_config '.linux.namespaces += [{"type": "pid"}]'
	must_fail_to_create
	berth_only
	[[ "$output" == *'linux.namespaces'* && "$output" == *pid* ]] # berth message
}

@test "invalid container ids" {
	for bad in "" ".." "." "a/b" "../escape" "/abs"; do
		for cmd in create run; do
			run berth_detached "$cmd" --bundle "$BUNDLE" "$bad"
			echo "$cmd \"$bad\": status $status: $output"
			[ "$status" -ne 0 ]
			assert_no_trace ""
			# Nothing was made next to or above the root either.
			[ -d "$BERTH_ROOT" ]
			[ ! -e "$BERTH_ROOT/a" ]
			[ ! -e "$SUITE_DIR/escape" ]
		done
	done
	run berth_detached create --bundle "$BUNDLE" "a/b"
	berth_only
	[[ "$output" == *'"a/b"'* ]] # berth message
}

@test "create with an id that already exists" {
	set_args sleep 100
	id=$(new_id)
	create_container "$id"
	pid="$(container_pid "$id")"

	for cmd in create run; do
		run berth_detached "$cmd" --bundle "$BUNDLE" "$id"
		[ "$status" -ne 0 ]
		# Only the first container, untouched.
		run berth list -q
		[ "$output" = "$id" ]
		testcontainer "$id" created
		[ "$(container_pid "$id")" = "$pid" ]
		pid_alive "$pid"
	done
	run berth_detached create --bundle "$BUNDLE" "$id"
	berth_only
	[[ "$output" == *"$id"* ]] # berth message
}

@test "state, kill, delete, start of a non-existent container" {
	missing="test_missing_$RANDOM"
	for cmd in state kill delete start; do
		run berth "$cmd" "$missing"
		echo "$cmd: status $status: $output"
		[ "$status" -ne 0 ]
	done
	run berth delete --force "$missing"
	# runc accepts delete --force of a missing container; either way nothing
	# may appear.
	assert_no_trace "$missing"
	run berth state "$missing"
	berth_only
	[[ "$output" == *"$missing"* ]] # berth message
}

@test "unknown command and unknown flag" {
	run berth no-such-command
	[ "$status" -ne 0 ]
	run berth list --no-such-flag
	[ "$status" -ne 0 ]
}
