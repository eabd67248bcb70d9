#!/usr/bin/env bats
# Run INSIDE the VM: the systemd cgroup driver (berth --systemd-cgroup): the
# container's cgroup is a transient scope unit, made over D-Bus.

load ../integration/helpers

setup_file() {
	[ -d /run/systemd/system ] || skip "systemd is not running"
	berth_setup_file
}
teardown_file() { berth_teardown_file; }
setup() {
	berth_setup
	setup_bundle
	set_args sleep 1000
}
teardown() { berth_teardown; }

unit_prop() {
	systemctl show -p "$2" --value "$1"
}

@test "systemd: the default cgroupsPath is system.slice:berth:<id>; limits on the unit and in its cgroup; gone at delete" {
	update_config '.linux.resources += {"memory": {"limit": 67108864}, "pids": {"limit": 20}, "cpu": {"shares": 1024, "quota": 50000, "period": 100000}}'
	id=$(new_id)
	run berth_detached --systemd-cgroup run --detach --bundle "$BUNDLE" "$id"
	echo "$output"
	[ "$status" -eq 0 ]
	unit="berth-$id.scope"
	systemctl is-active "$unit"
	[ "$(unit_prop "$unit" Slice)" = system.slice ]
	[ "$(unit_prop "$unit" MemoryMax)" = 67108864 ]
	[ "$(unit_prop "$unit" TasksMax)" = 20 ]
	[ "$(unit_prop "$unit" CPUWeight)" = 39 ]
	[ "$(unit_prop "$unit" Delegate)" = yes ]
	pid=$(container_pid "$id")
	[ "$(sed -n 's/^0:://p' "/proc/$pid/cgroup")" = "/system.slice/$unit" ]
	[ "$(cat "/sys/fs/cgroup/system.slice/$unit/memory.max")" = 67108864 ]
	[ "$(cat "/sys/fs/cgroup/system.slice/$unit/pids.max")" = 20 ]
	[ "$(cat "/sys/fs/cgroup/system.slice/$unit/cpu.max")" = "50000 100000" ]
	run berth update --memory 134217728 "$id"
	[ "$status" -eq 0 ]
	[ "$(unit_prop "$unit" MemoryMax)" = 134217728 ]
	[ "$(cat "/sys/fs/cgroup/system.slice/$unit/memory.max")" = 134217728 ]
	berth pause "$id"
	testcontainer "$id" paused
	berth resume "$id"
	testcontainer "$id" running
	berth events --stats "$id" | jq -e '.data.memory.usage.limit == 134217728'
	run berth delete -f "$id"
	[ "$status" -eq 0 ]
	[ "$(unit_prop "$unit" LoadState)" = not-found ]
	[ ! -d "/sys/fs/cgroup/system.slice/$unit" ]
}

@test "systemd: slice:prefix:name and annotations as unit properties" {
	id=$(new_id)
	update_config '.linux.cgroupsPath = $p | .annotations = {
		"org.systemd.property.TimeoutStopSec": "7",
		"org.systemd.property.CollectMode": "'"'inactive-or-failed'"'",
		"org.systemd.property.CPUWeight": "uint64 123"}' --arg p "machine.slice:vmtest:$id"
	run berth_detached --systemd-cgroup run --detach --bundle "$BUNDLE" "$id"
	echo "$output"
	[ "$status" -eq 0 ]
	unit="vmtest-$id.scope"
	[ "$(unit_prop "$unit" Slice)" = machine.slice ]
	[ "$(unit_prop "$unit" TimeoutStopUSec)" = 7s ]
	[ "$(unit_prop "$unit" CollectMode)" = inactive-or-failed ]
	[ "$(unit_prop "$unit" CPUWeight)" = 123 ]
	[ -d "/sys/fs/cgroup/machine.slice/$unit" ]
	berth delete -f "$id"
	[ "$(unit_prop "$unit" LoadState)" = not-found ]
}

@test "systemd: run returns the exit status and leaves no unit" {
	set_args sh -c 'exit 3'
	id=$(new_id)
	run berth --systemd-cgroup run "$id"
	[ "$status" -eq 3 ]
	[ "$(unit_prop "berth-$id.scope" LoadState)" = not-found ]
}

@test "systemd: bad cgroupsPath forms and annotations are errors naming the field; nothing is created" {
	for p in /abs/path 'a:b' 'notaslice:p:n' 'system.slice:p:a/b' 'a:b:c:d'; do
		update_config '.linux.cgroupsPath = $p' --arg p "$p"
		id=$(new_id)
		run berth_detached --systemd-cgroup run --detach --bundle "$BUNDLE" "$id"
		echo "$p: $output"
		[ "$status" -ne 0 ]
		[[ "$output" == *linux.cgroupsPath* ]]
		assert_no_trace "$id"
	done
	update_config '.linux.cgroupsPath = "" | .annotations = {"org.systemd.property.TimeoutStopSec": "'"'x'"'"}'
	id=$(new_id)
	run berth_detached --systemd-cgroup run --detach --bundle "$BUNDLE" "$id"
	[ "$status" -ne 0 ]
	[[ "$output" == *'org.systemd.property.TimeoutStopSec'* ]]
	assert_no_trace "$id"
}
