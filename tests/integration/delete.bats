#!/usr/bin/env bats
# `delete`: removing containers.

load helpers

setup_file() { berth_setup_file; }
teardown_file() { berth_teardown_file; }
setup() {
	berth_setup
	setup_bundle
}
teardown() { berth_teardown; }

@test "delete of a running container without --force fails; it keeps running" {
	set_args sleep 100
	id=$(new_id)
	run_detached "$id"
	pid="$(container_pid "$id")"

	run berth delete "$id"
	[ "$status" -ne 0 ]
	testcontainer "$id" running
	pid_alive "$pid"
	[ "$(container_pid "$id")" = "$pid" ]
}

@test "delete --force of a running container kills it and removes it" {
	set_args sleep 100
	id=$(new_id)
	run_detached "$id"
	pid="$(container_pid "$id")"

	run berth delete --force "$id"
	[ "$status" -eq 0 ]
	wait_for pid_gone "$pid"
	run berth state "$id"
	[ "$status" -ne 0 ]
	run berth list -q
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ ! -e "$BERTH_ROOT/$id" ]
	[ -z "$(cgroups_named "$id")" ]
}

@test "delete -f (short flag) works too" {
	set_args sleep 100
	id=$(new_id)
	run_detached "$id"
	pid="$(container_pid "$id")"
	run berth delete -f "$id"
	[ "$status" -eq 0 ]
	wait_for pid_gone "$pid"
	run berth state "$id"
	[ "$status" -ne 0 ]
}

@test "delete of a created container removes it and kills its init" {
	add_shared_dir
	set_args sh -c 'touch /shared/ran'
	id=$(new_id)
	create_container "$id"
	testcontainer "$id" created
	pid="$(container_pid "$id")"
	pid_alive "$pid"

	run berth delete "$id"
	[ "$status" -eq 0 ]
	wait_for pid_gone "$pid"
	run berth state "$id"
	[ "$status" -ne 0 ]
	[ ! -e "$BERTH_ROOT/$id" ]
	[ -z "$(cgroups_named "$id")" ]
	# The user process never ran.
	[ ! -e "$TEST_DIR/shared/ran" ]
}

@test "delete of a stopped container removes it" {
	set_args true
	id=$(new_id)
	run_detached "$id"
	wait_for status_is "$id" stopped

	run berth delete "$id"
	[ "$status" -eq 0 ]
	run berth state "$id"
	[ "$status" -ne 0 ]
	[ ! -e "$BERTH_ROOT/$id" ]
	[ -z "$(cgroups_named "$id")" ]
}

@test "delete of a non-existent container fails" {
	run berth delete "no_such_container_$RANDOM"
	[ "$status" -ne 0 ]
}

@test "delete removes only the named container" {
	set_args sleep 100
	a=$(new_id)
	b=$(new_id)
	run_detached "$a"
	run_detached "$b"
	run berth delete -f "$a"
	[ "$status" -eq 0 ]
	run berth list -q
	[ "$status" -eq 0 ]
	[ "$output" = "$b" ]
	testcontainer "$b" running
}
