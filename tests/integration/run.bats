#!/usr/bin/env bats
# `run`: create + start (+ wait + delete) in one step.

load helpers

setup_file() { berth_setup_file; }
teardown_file() { berth_teardown_file; }
setup() {
	berth_setup
	setup_bundle
}
teardown() { berth_teardown; }

# no_pid_ns: drop the pid namespace, so the container process is not a pid
# namespace init (which the kernel protects from its own signals).
no_pid_ns() {
	update_config '.linux.namespaces |= map(select(.type != "pid"))'
}

@test "run returns the exit status of the process" {
	set_args sh -c 'exit 7'
	run berth run "$(new_id)"
	[ "$status" -eq 7 ]

	set_args true
	run berth run "$(new_id)"
	[ "$status" -eq 0 ]
}

@test "run of a process killed by SIGKILL returns 137" {
	no_pid_ns
	set_args sh -c 'kill -KILL $$; sleep 10'
	run berth run "$(new_id)"
	[ "$status" -eq 137 ]
}

@test "run of a process killed by SIGTERM returns 143" {
	no_pid_ns
	set_args sh -c 'kill -TERM $$; sleep 10'
	run berth run "$(new_id)"
	[ "$status" -eq 143 ]
}

@test "stdout and stderr of the container reach the caller" {
	set_args sh -c 'echo to-stdout; echo to-stderr >&2'
	run --separate-stderr berth run "$(new_id)"
	[ "$status" -eq 0 ]
	[ "$output" = "to-stdout" ]
	[ "$stderr" = "to-stderr" ]
}

@test "stdin of the caller reaches the container" {
	set_args sh -c 'read line; echo "got $line"'
	run berth run "$(new_id)" <<<"hello"
	[ "$status" -eq 0 ]
	[ "$output" = "got hello" ]
}

@test "run --detach returns at once with a running container" {
	set_args sleep 100
	id=$(new_id)
	start=$SECONDS
	run_detached "$id"
	[ $((SECONDS - start)) -lt 5 ]
	testcontainer "$id" running
	pid_alive "$(container_pid "$id")"
}

@test "run --keep leaves the stopped container until delete" {
	set_args sh -c 'exit 3'
	id=$(new_id)
	run berth run --keep "$id"
	[ "$status" -eq 3 ]

	run berth list -q
	[ "$status" -eq 0 ]
	[ "$output" = "$id" ]
	run berth list --format json
	[ "$status" -eq 0 ]
	[ "$(jq -r '.[0].status' <<<"$output")" = stopped ]
	testcontainer "$id" stopped

	run berth delete "$id"
	[ "$status" -eq 0 ]
	run berth list -q
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run berth state "$id"
	[ "$status" -ne 0 ]
}

@test "run without --keep leaves nothing behind" {
	set_args true
	id=$(new_id)
	run berth run "$id"
	[ "$status" -eq 0 ]
	run berth list -q
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run berth state "$id"
	[ "$status" -ne 0 ]
	[ -z "$(ls -A "$BERTH_ROOT")" ]
}

@test "hostname inside is the config's hostname" {
	update_config '.hostname = "berth-box"'
	set_args hostname
	run berth run "$(new_id)"
	[ "$status" -eq 0 ]
	[ "$output" = "berth-box" ]
}

@test "the process is pid 1 in its pid namespace" {
	set_args sh -c 'echo $$'
	run berth run "$(new_id)"
	[ "$status" -eq 0 ]
	[ "$output" = "1" ]
}

@test "env and cwd come from the config" {
	update_config '.process.env += ["GREETING=hello world", "EMPTY="] | .process.cwd = "/tmp"'
	set_args sh -c 'echo "$GREETING"; echo "[${EMPTY-unset}]"; pwd'
	run berth run "$(new_id)"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "hello world" ]
	[ "${lines[1]}" = "[]" ]
	[ "${lines[2]}" = "/tmp" ]
}

@test "process.user sets uid, gid, additional gids and umask" {
	update_config '.process.user = {"uid": 65534, "gid": 65534, "additionalGids": [10, 20], "umask": 23}'
	set_args sh -c 'id -u; id -g; id -G; umask'
	run berth run "$(new_id)"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "65534" ]
	[ "${lines[1]}" = "65534" ]
	# Primary gid first, then the additional ones (order of those is free).
	read -ra groups <<<"${lines[2]}"
	[ "${groups[0]}" = 65534 ]
	[ "$(printf '%s\n' "${groups[@]:1}" | sort -n | tr '\n' ' ')" = "10 20 " ]
	[ "${lines[3]}" = "0027" ]
}

@test "--preserve-fds 1 passes fd 3 into the container" {
	echo "through fd 3" >"$TEST_DIR/fd3-file"
	set_args cat /proc/self/fd/3
	run berth run --preserve-fds 1 "$(new_id)" 3<"$TEST_DIR/fd3-file"
	[ "$status" -eq 0 ]
	[ "$output" = "through fd 3" ]
}

@test "without --preserve-fds no extra fd reaches the container" {
	echo "secret" >"$TEST_DIR/fd3-file"
	set_args sh -c 'ls /proc/self/fd'
	run berth run "$(new_id)" 3<"$TEST_DIR/fd3-file"
	[ "$status" -eq 0 ]
	# ls itself opens fd 3 for the directory; nothing above it.
	for fd in "${lines[@]}"; do
		[ "$fd" -le 3 ]
	done
}

@test "run --no-pivot works" {
	set_args sh -c 'echo ok; ls /bin/busybox'
	run berth run --no-pivot "$(new_id)"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = ok ]
	[ "${lines[1]}" = /bin/busybox ]
}

@test "run --no-new-keyring is accepted and the container runs" {
	set_args echo ok
	run berth run --no-new-keyring "$(new_id)"
	[ "$status" -eq 0 ]
	[ "$output" = ok ]
}
