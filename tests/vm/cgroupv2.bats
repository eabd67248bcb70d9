#!/usr/bin/env bats
# Run INSIDE the VM (scripts/vm-test.sh): a pure cgroup v2 host with systemd
# as PID 1, which this project's own hosts do not have.

load ../integration/helpers

setup_file() {
	[ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ] || skip "not a cgroup v2 host"
	berth_setup_file
}
teardown_file() { berth_teardown_file; }
setup() {
	berth_setup
	setup_bundle
}
teardown() { berth_teardown; }

@test "v2: the init runs in its own cgroup, removed at delete" {
	set_args sleep 100
	id=$(new_id)
	run_detached "$id"
	pid=$(container_pid "$id")
	cg=$(sed -n 's/^0:://p' "/proc/$pid/cgroup")
	[[ "$cg" == */"$id" ]]
	grep -qx "$pid" "/sys/fs/cgroup$cg/cgroup.procs"
	run berth delete -f "$id"
	[ "$status" -eq 0 ]
	[ ! -d "/sys/fs/cgroup$cg" ]
}

@test "v2: an absolute cgroupsPath is under the root of the hierarchy" {
	id=$(new_id)
	update_config '.linux.cgroupsPath = $p' --arg p "/berth-vm-$id"
	set_args sleep 100
	run_detached "$id"
	pid=$(container_pid "$id")
	grep -qx "$pid" "/sys/fs/cgroup/berth-vm-$id/cgroup.procs"
	run berth delete -f "$id"
	[ "$status" -eq 0 ]
	[ ! -d "/sys/fs/cgroup/berth-vm-$id" ]
}

@test "v2: run returns the exit status and leaves no cgroup" {
	set_args sh -c 'exit 7'
	id=$(new_id)
	run berth run "$id"
	[ "$status" -eq 7 ]
	[ -z "$(find /sys/fs/cgroup -name "$id" -type d)" ]
}

@test "v2: with a cgroup namespace the container sees itself at the root" {
	update_config '.linux.namespaces |= (map(select(.type != "cgroup")) + [{"type": "cgroup"}])'
	set_args cat /proc/self/cgroup
	run berth run "$(new_id)"
	[ "$status" -eq 0 ]
	[ "$output" = "0::/" ]
}

@test "v2: kill --all reaches every process of the container" {
	set_args sh -c 'sleep 100 & sleep 100 & wait'
	id=$(new_id)
	run_detached "$id"
	pid=$(container_pid "$id")
	cg=$(sed -n 's/^0:://p' "/proc/$pid/cgroup")
	wait_for test "$(wc -l <"/sys/fs/cgroup$cg/cgroup.procs")" -ge 3
	run berth kill --all "$id" KILL
	[ "$status" -eq 0 ]
	wait_for status_is "$id" stopped
}
