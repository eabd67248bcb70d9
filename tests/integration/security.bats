#!/usr/bin/env bats
# No host resource reaches the container: fds (CVE-2024-21626), cwd outside
# the rootfs, the caller's session keyring.

load helpers

setup_file() { berth_setup_file; }
teardown_file() { berth_teardown_file; }
setup() {
	berth_setup
	setup_bundle
}
teardown() { berth_teardown; }

@test "only fds 0, 1, 2 reach the process (run)" {
	set_args ls /proc/self/fd
	run berth run "$(new_id)"
	[ "$status" -eq 0 ]
	# 3 is ls's own directory fd.
	[ "$(echo $output)" = "0 1 2 3" ]
}

@test "only fds 0, 1, 2 are open in a running container's init" {
	set_args sleep 100
	id=$(new_id)
	run_detached "$id"
	pid="$(container_pid "$id")"
	wait_for comm_is "$pid" sleep
	ls -l "/proc/$pid/fd"
	[ "$(ls "/proc/$pid/fd" | sort -n | tr '\n' ' ')" = "0 1 2 " ]
}

@test "only fds 0, 1, 2 after create + start" {
	set_args sleep 100
	id=$(new_id)
	create_container "$id"
	run berth start "$id"
	[ "$status" -eq 0 ]
	pid="$(container_pid "$id")"
	wait_for comm_is "$pid" sleep
	ls -l "/proc/$pid/fd"
	[ "$(ls "/proc/$pid/fd" | sort -n | tr '\n' ' ')" = "0 1 2 " ]
}

@test "the cwd is process.cwd inside the rootfs" {
	echo marker >"$BUNDLE/rootfs/root/in-rootfs"
	for cwd in / /tmp /root; do
		update_config '.process.cwd = $c' --arg c "$cwd"
		set_args sh -c 'readlink /proc/self/cwd; pwd -P; ls /proc/self/cwd/'
		run berth run "$(new_id)"
		echo "cwd $cwd: $output"
		[ "$status" -eq 0 ]
		[ "${lines[0]}" = "$cwd" ]
		[ "${lines[1]}" = "$cwd" ]
	done
	[[ "$output" == *in-rootfs* ]]
}

@test "a new session keyring named after the container" {
	update_config '.linux.maskedPaths -= ["/proc/keys"]'
	set_args cat /proc/keys
	id=$(new_id)
	run berth run "$id"
	echo "$output"
	[ "$status" -eq 0 ]
	# The description is the id (runc: "_ses.<id>").
	grep -E "keyring +(_ses\.)?$id:" <<<"$output"
}

@test "--no-new-keyring: no keyring named after the container" {
	update_config '.linux.maskedPaths -= ["/proc/keys"]'
	set_args cat /proc/keys
	id=$(new_id)
	run berth run --no-new-keyring "$id"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" != *"$id"* ]]
}
