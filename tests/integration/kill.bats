#!/usr/bin/env bats
# `kill`: signals to the container's init (or all its processes).

load helpers

setup_file() { berth_setup_file; }
teardown_file() { berth_teardown_file; }
setup() {
	berth_setup
	setup_bundle
}
teardown() { berth_teardown; }

# A pid-namespace init only receives signals it has a handler for, so the
# test containers trap the catchable ones and exit with a telling status.
TRAPPING_INIT='trap "exit 42" TERM; trap "exit 43" USR1; while :; do sleep 0.1; done'

# start_sleeper ID: a running container whose init exits on TERM/USR1.
start_sleeper() {
	set_args sh -c "$TRAPPING_INIT"
	run_detached "$1"
	testcontainer "$1" running
}

@test "kill without a signal sends SIGTERM and stops the container" {
	id=$(new_id)
	start_sleeper "$id"
	pid="$(container_pid "$id")"

	run berth kill "$id"
	[ "$status" -eq 0 ]
	wait_for status_is "$id" stopped
	wait_for pid_gone "$pid"
}

@test "kill TERM of a created container ends its init (no handler of the user's yet)" {
	set_args /bin/true
	id=$(new_id)
	create_container "$id"
	pid="$(container_pid "$id")"
	run berth kill "$id" TERM
	[ "$status" -eq 0 ]
	wait_for status_is "$id" stopped
	wait_for pid_gone "$pid"
}

@test "kill by name: KILL and SIGKILL" {
	for sig in KILL SIGKILL; do
		id=$(new_id)
		start_sleeper "$id"
		pid="$(container_pid "$id")"
		run berth kill "$id" "$sig"
		[ "$status" -eq 0 ]
		wait_for status_is "$id" stopped
		wait_for pid_gone "$pid"
	done
}

@test "kill by number: 9" {
	id=$(new_id)
	start_sleeper "$id"
	pid="$(container_pid "$id")"
	run berth kill "$id" 9
	[ "$status" -eq 0 ]
	wait_for status_is "$id" stopped
	wait_for pid_gone "$pid"
}

@test "kill delivers the named signal (USR1 reaches the init's trap)" {
	add_shared_dir
	set_args sh -c 'trap "echo usr1 >/shared/got; exit 0" USR1; while :; do sleep 0.1; done'
	id=$(new_id)
	run_detached "$id"
	run berth kill "$id" USR1
	[ "$status" -eq 0 ]
	wait_for test -s "$TEST_DIR/shared/got"
	[ "$(cat "$TEST_DIR/shared/got")" = usr1 ]
	wait_for status_is "$id" stopped
}

@test "kill with an unknown signal fails and the container keeps running" {
	id=$(new_id)
	start_sleeper "$id"
	pid="$(container_pid "$id")"
	for sig in NOSUCHSIGNAL SIGFOO 1000 -1; do
		run berth kill "$id" "$sig"
		[ "$status" -ne 0 ]
	done
	testcontainer "$id" running
	pid_alive "$pid"
}

@test "kill of a stopped container fails" {
	set_args true
	id=$(new_id)
	run_detached "$id"
	wait_for status_is "$id" stopped

	run berth kill "$id" KILL
	[ "$status" -ne 0 ]
	testcontainer "$id" stopped
}

@test "kill --all KILL kills every process in the container" {
	set_args sh -c 'sleep 1000 & sleep 1000 & sleep 1000 & wait'
	id=$(new_id)
	run_detached "$id"
	init="$(container_pid "$id")"
	children_ready() { [ "$(children_of "$init" | wc -l)" -eq 3 ]; }
	wait_for children_ready
	kids=$(children_of "$init")

	run berth kill --all "$id" KILL
	[ "$status" -eq 0 ]
	wait_for status_is "$id" stopped
	for p in $init $kids; do
		wait_for pid_gone "$p"
	done
}

@test "kill --all reaches processes that a signal to init alone does not" {
	# Init has no TERM handler, so as a pid-namespace init it ignores TERM;
	# its children do not.
	set_args sh -c 'sleep 1000 & sleep 1000 & while :; do sleep 0.1; done'
	id=$(new_id)
	run_detached "$id"
	init="$(container_pid "$id")"
	sleepers() {
		local p
		for p in $(children_of "$init"); do
			[ "$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)" = "sleep 1000 " ] && echo "$p"
		done
		return 0
	}
	two_sleepers() { [ "$(sleepers | wc -l)" -eq 2 ]; }
	wait_for two_sleepers
	kids=$(sleepers)

	# Plain kill: only init gets it, and drops it.
	run berth kill "$id" TERM
	[ "$status" -eq 0 ]
	sleep 0.2
	for p in $kids; do pid_alive "$p"; done

	run berth kill --all "$id" TERM
	[ "$status" -eq 0 ]
	for p in $kids; do wait_for pid_gone "$p"; done
	testcontainer "$id" running
	pid_alive "$init"
}
