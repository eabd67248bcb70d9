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

# cgroups_empty ID: no process left in any cgroup named after ID.
cgroups_empty() {
	local d
	for d in $(cgroups_named "$1"); do
		[ -z "$(cat "$d/cgroup.procs" 2>/dev/null)" ] || return 1
	done
}

@test "delete clears what a create killed midway left: the id is free again" {
	berth_only # runc removes the state dir but leaves the cgroups
	# The createRuntime hook holds the create in the middle: state dir and
	# cgroups made, state.json not yet written.
	update_config '.hooks.createRuntime = [{path: "/bin/sh",
		args: ["sh", "-c", "echo $$ >" + $pid + "; exec sleep 30"]}]' \
		--arg pid "$TEST_DIR/hook.pid"
	set_args true
	id=$(new_id)
	"$BERTH" --root "$BERTH_ROOT" create --bundle "$BUNDLE" "$id" </dev/null >/dev/null 2>&1 &
	create_pid=$!
	track_pid "$create_pid"
	wait_for test -s "$TEST_DIR/hook.pid"
	track_pid "$(cat "$TEST_DIR/hook.pid")"
	kill -9 "$create_pid"
	kill "$(cat "$TEST_DIR/hook.pid")"
	wait "$create_pid" || true
	# The init dies with its end of the sync socket.
	wait_for cgroups_empty "$id"
	[ -d "$BERTH_ROOT/$id" ]
	[ -n "$(cgroups_named "$id")" ]

	# No command sees a container, yet the id is taken.
	run berth state "$id"
	[ "$status" -ne 0 ]
	run berth_detached create --bundle "$BUNDLE" "$id"
	[ "$status" -ne 0 ]

	# delete (as runc's) removes the leftovers and still says it is gone.
	run berth delete "$id"
	[ "$status" -ne 0 ]
	[[ "$output" == *"does not exist"* ]]
	assert_no_trace "$id"

	update_config 'del(.hooks)'
	create_container "$id"
	run berth delete -f "$id"
	[ "$status" -eq 0 ]
	assert_no_trace "$id"
}
