#!/usr/bin/env bats
# linux.resources on this host's cgroup v1 (hybrid) layout: each value shows
# in the container's cgroup files, the cheap ones are enforced, and values
# the host cannot apply or that contradict each other fail create cleanly.

load helpers

setup_file() { berth_setup_file; }
teardown_file() { berth_teardown_file; }
setup() {
	berth_setup
	setup_bundle
	set_args sleep 1000
}
teardown() { berth_teardown; }

# cg_file ID CONTROLLER FILE: print FILE of the container's cgroup in the
# hierarchy of CONTROLLER ("unified" for the cgroup2 mount).
cg_file() {
	local dir
	dir="$(jq -r --arg c "$2" '.cgroupPaths[$c]' "$BERTH_ROOT/$1/state.json")"
	cat "$dir/$3"
}

# resources FILTER [JQ-ARGS...]: merge into .linux.resources.
resources() {
	local filter="$1"
	shift
	update_config ".linux.resources += ($filter)" "$@"
}

# must_fail_to_create: create fails without a trace; output in $output.
must_fail_to_create() {
	local id
	id=$(new_id)
	run berth_detached create --bundle "$BUNDLE" "$id"
	echo "status $status: $output"
	[ "$status" -ne 0 ]
	assert_no_trace "$id"
}

@test "memory: limit, reservation, swap, swappiness, kernelTCP, disableOOMKiller" {
	resources '{"memory": {"limit": 67108864, "reservation": 33554432, "swap": 134217728,
		"swappiness": 10, "kernelTCP": 16777216, "disableOOMKiller": false}}'
	id=$(new_id)
	run_detached "$id"
	[ "$(cg_file "$id" memory memory.limit_in_bytes)" = 67108864 ]
	[ "$(cg_file "$id" memory memory.soft_limit_in_bytes)" = 33554432 ]
	[ "$(cg_file "$id" memory memory.memsw.limit_in_bytes)" = 134217728 ]
	[ "$(cg_file "$id" memory memory.swappiness)" = 10 ]
	[ "$(cg_file "$id" memory memory.kmem.tcp.limit_in_bytes)" = 16777216 ]
	cg_file "$id" memory memory.oom_control | grep -qx 'oom_kill_disable 0'
}

@test "memory: disableOOMKiller true" {
	resources '{"memory": {"limit": 67108864, "disableOOMKiller": true}}'
	id=$(new_id)
	run_detached "$id"
	cg_file "$id" memory memory.oom_control | grep -qx 'oom_kill_disable 1'
}

@test "cpu: shares, quota, period, burst, realtime, idle, cpus, mems" {
	resources '{"cpu": {"shares": 512, "quota": 50000, "period": 200000, "burst": 10000,
		"realtimePeriod": 1000000, "realtimeRuntime": 1000, "idle": 0, "cpus": "0", "mems": "0"}}'
	id=$(new_id)
	run_detached "$id"
	[ "$(cg_file "$id" cpu cpu.shares)" = 512 ]
	[ "$(cg_file "$id" cpu cpu.cfs_quota_us)" = 50000 ]
	[ "$(cg_file "$id" cpu cpu.cfs_period_us)" = 200000 ]
	[ "$(cg_file "$id" cpu cpu.cfs_burst_us)" = 10000 ]
	[ "$(cg_file "$id" cpu cpu.rt_period_us)" = 1000000 ]
	[ "$(cg_file "$id" cpu cpu.rt_runtime_us)" = 1000 ]
	[ "$(cg_file "$id" cpu cpu.idle)" = 0 ]
	[ "$(cg_file "$id" cpuset cpuset.cpus)" = 0 ]
	[ "$(cg_file "$id" cpuset cpuset.mems)" = 0 ]
}

@test "blockIO: read/write bps and iops throttles" {
	dev="$(cat /sys/block/vda/dev 2>/dev/null || true)"
	[ -n "$dev" ] || skip "no vda block device"
	maj="${dev%:*}" min="${dev#*:}"
	resources '{"blockIO": {
		"throttleReadBpsDevice": [{"major": $maj, "minor": $min, "rate": 1048576}],
		"throttleWriteBpsDevice": [{"major": $maj, "minor": $min, "rate": 2097152}],
		"throttleReadIOPSDevice": [{"major": $maj, "minor": $min, "rate": 100}],
		"throttleWriteIOPSDevice": [{"major": $maj, "minor": $min, "rate": 200}]}}' \
		--argjson maj "$maj" --argjson min "$min"
	id=$(new_id)
	run_detached "$id"
	[ "$(cg_file "$id" blkio blkio.throttle.read_bps_device)" = "$dev 1048576" ]
	[ "$(cg_file "$id" blkio blkio.throttle.write_bps_device)" = "$dev 2097152" ]
	[ "$(cg_file "$id" blkio blkio.throttle.read_iops_device)" = "$dev 100" ]
	[ "$(cg_file "$id" blkio blkio.throttle.write_iops_device)" = "$dev 200" ]
}

@test "blockIO: weight; per-device weight where the device's scheduler takes it" {
	dev="$(cat /sys/block/vda/dev 2>/dev/null || true)"
	[ -n "$dev" ] || skip "no vda block device"
	resources '{"blockIO": {"weight": 300}}'
	id=$(new_id)
	run_detached "$id"
	if [ -e "$(jq -r '.cgroupPaths.blkio' "$BERTH_ROOT/$id/state.json")/blkio.weight" ]; then
		[ "$(cg_file "$id" blkio blkio.weight)" = 300 ]
	else
		cg_file "$id" blkio blkio.bfq.weight | grep -qw 300
	fi
	berth delete -f "$id"

	resources '{"blockIO": {"weightDevice": [{"major": $maj, "minor": $min, "weight": 200}]}}' \
		--argjson maj "${dev%:*}" --argjson min "${dev#*:}"
	if grep -q '\[bfq\]' /sys/block/vda/queue/scheduler; then
		id=$(new_id)
		run_detached "$id"
		cg_file "$id" blkio blkio.bfq.weight_device | grep -qx "$dev 200"
	else
		# No proportional-weight scheduler on vda: a clear error, no trace.
		must_fail_to_create
		berth_only
		[[ "$output" == *"linux.resources.blockIO.weightDevice[0].weight: write blkio."*"weight_device \"$dev 200\""* ]]
	fi
}

@test "pids.limit shows in pids.max" {
	resources '{"pids": {"limit": 42}}'
	id=$(new_id)
	run_detached "$id"
	[ "$(cg_file "$id" pids pids.max)" = 42 ]
}

@test "hugepageLimits: written on the cgroup2 side of this hybrid host" {
	[ -d /sys/kernel/mm/hugepages/hugepages-2048kB ] || skip "no 2MB huge pages"
	grep -qw hugetlb /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null || skip "hugetlb is not on the cgroup2 mount"
	resources '{"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]}'
	id=$(new_id)
	run_detached "$id"
	[ "$(cg_file "$id" unified hugetlb.2MB.max)" = 4194304 ]
}

@test "a process over the memory limit is OOM-killed" {
	# swap = limit: no swap to escape to. tail buffers a line that never ends.
	resources '{"memory": {"limit": 33554432, "swap": 33554432}}'
	set_args tail /dev/zero
	id=$(new_id)
	run_detached "$id"
	wait_for status_is "$id" stopped
	cg_file "$id" memory memory.oom_control | grep -qx 'oom_kill 1'
}

@test "the pids limit stops a fork loop" {
	resources '{"pids": {"limit": 10}}'
	set_args sh -c 'i=0; while [ $i -lt 40 ]; do sleep 1000 & i=$((i+1)); done; wait'
	id=$(new_id)
	run_detached "$id"
	wait_for eval '[ "$(cg_file "$id" pids pids.events)" != "max 0" ]'
	[ "$(cg_file "$id" pids pids.current)" -le 10 ]
	[ "$(berth ps --format json "$id" | jq length)" -le 10 ] || true # ps is tested in cgroups_commands.bats
}

@test "inconsistent values fail before anything is created" {
	resources '{"memory": {"limit": 67108864, "swap": 33554432}}'
	must_fail_to_create
	berth_only
	[[ "$output" == *"linux.resources.memory.swap: 33554432 is below memory.limit 67108864"* ]]
}

@test "negative limits and unknown device types are refused" {
	resources '{"memory": {"limit": -5}}'
	must_fail_to_create
	[[ "$(runtime_name)" != berth ]] || [[ "$output" == *"linux.resources.memory.limit: -5"* ]]

	resources '{"memory": null, "devices": [{"allow": true, "type": "x", "access": "rwm"}]}'
	must_fail_to_create
	[[ "$(runtime_name)" != berth ]] || [[ "$output" == *"linux.resources.devices[0].type"* ]]
}

@test "values this host cannot apply name the field and leave nothing behind" {
	berth_only # runc ignores some of these silently
	resources '{"blockIO": {"leafWeight": 500}}' # CFQ only, gone since 5.0
	must_fail_to_create
	[[ "$output" == *"linux.resources.blockIO.leafWeight: blkio.leaf_weight: no such cgroup file on this kernel"* ]]

	resources '{"blockIO": null, "network": {"classID": 1048577}}'
	must_fail_to_create
	[[ "$output" == *"linux.resources.network.classID: the net_cls cgroup controller is not mounted"* ]]

	resources '{"network": null, "unified": {"memory.high": "1M"}}'
	must_fail_to_create
	[[ "$output" == *"linux.resources.unified: cgroup v2 files cannot be set on a cgroup v1 host"* ]]

	resources '{"unified": null, "rdma": {"mlx5_0": {"hcaHandles": 2}}}'
	must_fail_to_create
	[[ "$output" == *"linux.resources.rdma: the rdma cgroup controller is not mounted"* ]]
}
