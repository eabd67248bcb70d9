#!/usr/bin/env bats
# Run INSIDE the VM: linux.resources on a pure cgroup v2 host (the v2 fs
# driver): values in the v2 files, translated as runc does, and enforced;
# the eBPF device filter; update, pause/resume and events on v2.

load ../integration/helpers

setup_file() {
	[ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ] || skip "not a cgroup v2 host"
	berth_setup_file
}
teardown_file() { berth_teardown_file; }
setup() {
	berth_setup
	setup_bundle
	set_args sleep 1000
}
teardown() { berth_teardown; }

# cg ID FILE: FILE of the container's cgroup.
cg() {
	cat "$(jq -r '.cgroupPaths.unified' "$BERTH_ROOT/$1/state.json")/$2"
}

resources() {
	local filter="$1"
	shift
	update_config ".linux.resources += ($filter)" "$@"
}

@test "v2 memory: limit, swap (v1 total -> v2 swap only), reservation" {
	resources '{"memory": {"limit": 67108864, "swap": 100663296, "reservation": 33554432}}'
	id=$(new_id)
	run_detached "$id"
	[ "$(cg "$id" memory.max)" = 67108864 ]
	[ "$(cg "$id" memory.swap.max)" = 33554432 ]
	[ "$(cg "$id" memory.low)" = 33554432 ]
}

@test "v2 memory: a process over the limit is OOM-killed" {
	resources '{"memory": {"limit": 33554432, "swap": 33554432}}'
	set_args tail /dev/zero
	id=$(new_id)
	run_detached "$id"
	wait_for status_is "$id" stopped
	cg "$id" memory.events | grep -qx 'oom_kill 1'
}

@test "v2 cpu: shares -> cpu.weight, quota/period -> cpu.max, burst, cpuset" {
	resources '{"cpu": {"shares": 1024, "quota": 50000, "period": 100000, "burst": 10000, "cpus": "0", "mems": "0"}}'
	id=$(new_id)
	run_detached "$id"
	[ "$(cg "$id" cpu.weight)" = 39 ]
	[ "$(cg "$id" cpu.max)" = "50000 100000" ]
	[ "$(cg "$id" cpu.max.burst)" = 10000 ]
	[ "$(cg "$id" cpuset.cpus)" = 0 ]
}

@test "v2 pids: pids.max stops a fork loop" {
	resources '{"pids": {"limit": 10}}'
	set_args sh -c 'i=0; while [ $i -lt 40 ]; do sleep 1000 & i=$((i+1)); done; wait'
	id=$(new_id)
	run_detached "$id"
	[ "$(cg "$id" pids.max)" = 10 ]
	wait_for eval '[ "$(cg "$id" pids.events)" != "max 0" ]'
	[ "$(cg "$id" pids.current)" -le 10 ]
}

@test "v2 io.weight and unified keys; a bad unified key fails cleanly" {
	resources '{"blockIO": {"weight": 500}, "unified": {"pids.max": "42", "memory.high": "50000000"}}'
	id=$(new_id)
	run_detached "$id"
	w="$(cg "$id" io.bfq.weight 2>/dev/null || cg "$id" io.weight)"
	[[ "$w" == *4950* || "$w" == *500* ]]
	[ "$(cg "$id" pids.max)" = 42 ]
	[ "$(cg "$id" memory.high)" = 49999872 ] || [ "$(cg "$id" memory.high)" = 50000000 ]
	berth delete -f "$id"
	update_config '.linux.resources.unified = {"cgroup.procs": "1"}'
	id=$(new_id)
	run berth_detached run --detach --bundle "$BUNDLE" "$id"
	[ "$status" -ne 0 ]
	[[ "$output" == *'linux.resources.unified["cgroup.procs"]'* ]]
	assert_no_trace "$id"
	update_config '.linux.resources.unified = {"nosuch.file": "1"}'
	run berth_detached run --detach --bundle "$BUNDLE" "$id"
	[ "$status" -ne 0 ]
	[[ "$output" == *'linux.resources.unified["nosuch.file"]'* ]]
	assert_no_trace "$id"
}

@test "v2 devices: /dev/null works, a disallowed device node cannot be opened, an allowed one can" {
	update_config '.process.capabilities.bounding += ["CAP_MKNOD"] | .process.capabilities.effective += ["CAP_MKNOD"] | .process.capabilities.permitted += ["CAP_MKNOD"]'
	# /dev/console (5:1) is not among the default devices.
	set_args sh -c 'echo hi >/dev/null && mknod /dev/xconsole c 5 1 && exec 3</dev/xconsole'
	run berth run "$(new_id)"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Operation not permitted"* ]]
	resources '{"devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 5, "minor": 1, "access": "r"}]}'
	set_args sh -c 'mknod /dev/xconsole c 5 1 && exec 3</dev/xconsole && echo "read ok" && exec 4>/dev/xconsole'
	run berth run "$(new_id)"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"read ok"* ]]
	[[ "$output" == *"Operation not permitted"* ]]
}

@test "v2 update: memory, cpu, pids" {
	resources '{"memory": {"limit": 67108864}}'
	id=$(new_id)
	run_detached "$id"
	run berth update --memory 134217728 --memory-swap 268435456 --cpu-quota 20000 --cpu-period 100000 --pids-limit 50 --cpu-share 2048 "$id"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(cg "$id" memory.max)" = 134217728 ]
	[ "$(cg "$id" memory.swap.max)" = 134217728 ]
	[ "$(cg "$id" cpu.max)" = "20000 100000" ]
	[ "$(cg "$id" pids.max)" = 50 ]
	[ "$(cg "$id" cpu.weight)" = 79 ]
	run berth update --cpu-rt-runtime 1000 "$id"
	[ "$status" -ne 0 ]
	[[ "$output" == *realtime* ]]
}

@test "v2 pause and resume through cgroup.freeze" {
	set_args sh -c 'while :; do :; done'
	id=$(new_id)
	run_detached "$id"
	berth pause "$id"
	testcontainer "$id" paused
	[ "$(cg "$id" cgroup.freeze)" = 1 ]
	cg "$id" cgroup.events | grep -qx 'frozen 1'
	berth resume "$id"
	testcontainer "$id" running
	cg "$id" cgroup.events | grep -qx 'frozen 0'
}

@test "v2 events --stats and a pushed OOM event" {
	resources '{"pids": {"limit": 99}, "memory": {"limit": 33554432, "swap": 33554432}}'
	add_shared_dir
	set_args sh -c 'while [ ! -e /shared/go ]; do sleep 0.05; done; tail /dev/zero; sleep 1000'
	id=$(new_id)
	run_detached "$id"
	run --separate-stderr berth events --stats "$id"
	echo "$output $stderr"
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.data.pids == {"current": 2, "limit": 99} or .data.pids == {"current": 1, "limit": 99}'
	echo "$output" | jq -e '.data.memory.usage.limit == 33554432 and .data.memory.usage.usage > 0'
	echo "$output" | jq -e '.data.cpu.usage.total > 0'
	berth events --interval 5s "$id" >"$TEST_DIR/events" 2>"$TEST_DIR/events.err" 3>&- &
	events_pid=$!
	track_pid "$events_pid"
	sleep 1
	touch "$TEST_DIR/shared/go"
	wait_for grep -q '"type":"oom"' "$TEST_DIR/events"
	testcontainer "$id" running
	berth delete -f "$id"
	wait_for pid_gone "$events_pid"
}
