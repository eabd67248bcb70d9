#!/usr/bin/env bats
# update, pause/resume, ps and events on this host's cgroup v1 layout.

load helpers

setup_file() { berth_setup_file; }
teardown_file() { berth_teardown_file; }
setup() {
	berth_setup
	setup_bundle
	set_args sleep 1000
}
teardown() { berth_teardown; }

# cg_file ID CONTROLLER FILE: FILE of the container's cgroup.
cg_file() {
	local dir
	dir="$(jq -r --arg c "$2" '.cgroupPaths[$c]' "$BERTH_ROOT/$1/state.json")"
	cat "$dir/$3"
}

# snapshot ID FILTER: jq FILTER over the container's config snapshot.
snapshot() {
	jq -c "$2" "$BERTH_ROOT/$1/config.json"
}

@test "update with runc's flags changes the cgroup files and the config snapshot" {
	update_config '.linux.resources += {"memory": {"limit": 67108864, "swap": 67108864}}'
	id=$(new_id)
	run_detached "$id"
	run berth update --memory 128m --memory-swap 256M --memory-reservation 32m \
		--cpu-share 256 --cpu-period 200000 --cpu-quota 100000 --cpu-burst 5000 \
		--cpu-rt-period 1000000 --cpu-rt-runtime 1000 --cpu-idle 0 \
		--cpuset-cpus 0 --cpuset-mems 0 --pids-limit 30 --blkio-weight 200 "$id"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(cg_file "$id" memory memory.limit_in_bytes)" = 134217728 ]
	[ "$(cg_file "$id" memory memory.memsw.limit_in_bytes)" = 268435456 ]
	[ "$(cg_file "$id" memory memory.soft_limit_in_bytes)" = 33554432 ]
	[ "$(cg_file "$id" cpu cpu.shares)" = 256 ]
	[ "$(cg_file "$id" cpu cpu.cfs_period_us)" = 200000 ]
	[ "$(cg_file "$id" cpu cpu.cfs_quota_us)" = 100000 ]
	[ "$(cg_file "$id" cpu cpu.cfs_burst_us)" = 5000 ]
	[ "$(cg_file "$id" cpu cpu.rt_runtime_us)" = 1000 ]
	[ "$(cg_file "$id" cpuset cpuset.cpus)" = 0 ]
	[ "$(cg_file "$id" pids pids.max)" = 30 ]
	berth_only # the snapshot is berth's own state
	[ "$(snapshot "$id" .linux.resources.memory)" = '{"limit":134217728,"reservation":33554432,"swap":268435456}' ]
	[ "$(snapshot "$id" .linux.resources.pids.limit)" = 30 ]
	[ "$(snapshot "$id" .linux.resources.cpu.shares)" = 256 ]
	[ "$(snapshot "$id" .linux.resources.blockIO.weight)" = 200 ]
}

@test "update -r reads a JSON resources object from a file or stdin" {
	id=$(new_id)
	run_detached "$id"
	echo '{"pids": {"limit": 11}, "memory": {"limit": 100000000}}' >"$TEST_DIR/r.json"
	run berth update -r "$TEST_DIR/r.json" "$id"
	[ "$status" -eq 0 ]
	[ "$(cg_file "$id" pids pids.max)" = 11 ]
	[ "$(cg_file "$id" memory memory.limit_in_bytes)" = 99999744 ] # page-rounded
	run berth update -r - "$id" <<<'{"pids": {"limit": 12}}'
	[ "$status" -eq 0 ]
	[ "$(cg_file "$id" pids pids.max)" = 12 ]
}

@test "update: bad values fail and change nothing" {
	update_config '.linux.resources += {"pids": {"limit": 20}}'
	id=$(new_id)
	run_detached "$id"
	run berth update --memory lots "$id"
	[ "$status" -ne 0 ]
	run berth update --memory 64m --memory-swap 32m "$id"
	[ "$status" -ne 0 ]
	berth_only
	[[ "$output" == *"linux.resources.memory.swap: 33554432 is below memory.limit 67108864"* ]]
	[ "$(cg_file "$id" pids pids.max)" = 20 ]
	[ "$(snapshot "$id" .linux.resources.memory)" = null ]
}

@test "update of a stopped container fails" {
	set_args true
	id=$(new_id)
	run_detached "$id"
	wait_for status_is "$id" stopped
	run berth update --pids-limit 5 "$id"
	[ "$status" -ne 0 ]
}

@test "pause and resume: status, freezer, processes stopped" {
	set_args sh -c 'while :; do echo x >/dev/null; done'
	id=$(new_id)
	run_detached "$id"
	pid="$(container_pid "$id")"
	run berth pause "$id"
	[ "$status" -eq 0 ]
	testcontainer "$id" paused
	[ "$(cg_file "$id" freezer freezer.state)" = FROZEN ]
	berth list | grep -q "$id.*paused"
	t1="$(awk '{print $14}' "/proc/$pid/stat")"
	sleep 0.3
	[ "$(awk '{print $14}' "/proc/$pid/stat")" = "$t1" ] # no CPU time while frozen
	run berth resume "$id"
	[ "$status" -eq 0 ]
	testcontainer "$id" running
	[ "$(cg_file "$id" freezer freezer.state)" = THAWED ]
}

@test "resume of a container that is not paused is an error; pause of a stopped one too" {
	id=$(new_id)
	run_detached "$id"
	run berth resume "$id"
	[ "$status" -ne 0 ]
	berth kill "$id" KILL
	wait_for status_is "$id" stopped
	run berth pause "$id"
	[ "$status" -ne 0 ]
}

@test "delete -f of a paused container" {
	id=$(new_id)
	run_detached "$id"
	pid="$(container_pid "$id")"
	berth pause "$id"
	run berth delete -f "$id"
	[ "$status" -eq 0 ]
	wait_for pid_gone "$pid"
	[ -z "$(cgroups_named "$id")" ]
}

@test "ps: json lists the container's pids, table filters ps(1) output" {
	set_args sh -c 'sleep 1000 & sleep 1000; true'
	id=$(new_id)
	run_detached "$id"
	wait_for eval '[ "$(berth ps --format json "$id" | jq length)" = 3 ]'
	run berth ps --format json "$id"
	[ "$status" -eq 0 ]
	pid="$(container_pid "$id")"
	echo "$output" | jq -e --argjson p "$pid" 'index($p) != null'
	run berth ps "$id"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *PID* ]]
	[ "${#lines[@]}" -eq 4 ] # header + 3
	run berth ps "$id" -o pid,comm
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "    PID COMMAND" ] || [[ "${lines[0]}" == *PID*COMMAND* ]]
	[ "$(printf '%s\n' "${lines[@]:1}" | awk '{print $2}' | sort | uniq -c | awk '{print $1 $2}' | tr '\n' ' ')" = "1sh 2sleep " ]
	run berth ps --format yaml "$id"
	[ "$status" -ne 0 ]
}

@test "events --stats prints one stats object in runc's schema" {
	update_config '.linux.resources += {"pids": {"limit": 99}, "memory": {"limit": 67108864}}'
	id=$(new_id)
	run_detached "$id"
	run --separate-stderr berth events --stats "$id"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	echo "$output" | jq -e --arg id "$id" '.type == "stats" and .id == $id'
	echo "$output" | jq -e '.data | has("cpu") and has("memory") and has("pids") and has("blkio") and has("hugetlb")'
	echo "$output" | jq -e '.data.pids == {"current": 1, "limit": 99}'
	echo "$output" | jq -e '.data.memory.usage.limit == 67108864 and .data.memory.usage.usage > 0'
	echo "$output" | jq -e '.data.cpu.usage.total > 0 and (.data.cpu.usage.percpu | length) > 0'
	echo "$output" | jq -e '.data.cpuset.cpus | length > 0'
}

@test "events streams stats every interval and pushes OOM kills" {
	# The init survives: its child (tail) is the process the kernel kills.
	update_config '.linux.resources += {"memory": {"limit": 33554432, "swap": 33554432}}'
	add_shared_dir
	set_args sh -c 'while [ ! -e /shared/go ]; do sleep 0.05; done; tail /dev/zero; sleep 1000'
	id=$(new_id)
	run_detached "$id"
	berth events --interval 200ms "$id" >"$TEST_DIR/events" 2>"$TEST_DIR/events.err" 3>&- &
	events_pid=$!
	track_pid "$events_pid"
	wait_for eval '[ "$(grep -c "\"type\":\"stats\"" "$TEST_DIR/events")" -ge 2 ]'
	touch "$TEST_DIR/shared/go"
	wait_for grep -q '"type":"oom"' "$TEST_DIR/events"
	grep '"type":"oom"' "$TEST_DIR/events" | head -1 | jq -e --arg id "$id" '. == {"type": "oom", "id": $id}'
	testcontainer "$id" running
	# The stream ends by itself once the container is gone.
	berth delete -f "$id"
	wait_for pid_gone "$events_pid"
	wait "$events_pid"
}

@test "events of a stopped container is an error" {
	set_args true
	id=$(new_id)
	run_detached "$id"
	wait_for status_is "$id" stopped
	run berth events --stats "$id"
	[ "$status" -ne 0 ]
	run berth events "$id"
	[ "$status" -ne 0 ]
}

# nprocs ID: the number of processes in the container's cgroup (v1 pids).
nprocs() {
	cg_file "$1" pids cgroup.procs | wc -l
}
nprocs_le() { [ "$(nprocs "$1")" -le "$2" ]; }
nprocs_ge() { [ "$(nprocs "$1")" -ge "$2" ]; }

@test "placement: the init is cloned into the cgroup2 part of a hybrid host, then joins every v1 hierarchy" {
	id=$(new_id)
	run berth_detached --debug run --detach --bundle "$BUNDLE" "$id"
	[ "$status" -eq 0 ]
	if [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
		echo "$output" | grep -q "container init: pid [0-9]* created inside cgroup /sys/fs/cgroup/unified/.*$id (clone3 CLONE_INTO_CGROUP)"
	else
		! echo "$output" | grep -q "created inside cgroup"
	fi
	pid=$(container_pid "$id")
	# Every hierarchy the host mounts, each at the container's cgroup.
	run grep -vc "/$id\$" "/proc/$pid/cgroup"
	[ "$output" = 0 ]
	run berth --debug exec "$id" true
	[ "$status" -eq 0 ]
}

@test "kill --all with a signal other than KILL goes pid by pid, the freezer left thawed" {
	set_args sh -c 'for i in 1 2 3 4 5 6 7 8; do sleep 1000 & done; wait; sleep 1000'
	id=$(new_id)
	run_detached "$id"
	wait_for nprocs_ge "$id" 9
	run berth --debug kill --all "$id" TERM
	[ "$status" -eq 0 ]
	! echo "$output" | grep -q "cgroup.kill"
	# The sleeps die; sh, the pid namespace's init, has no TERM handler.
	wait_for nprocs_le "$id" 2
	[ "$(cg_file "$id" freezer freezer.state)" = THAWED ]
	testcontainer "$id" running
}

@test "kill --all of a paused container: TERM leaves it paused, KILL stops it" {
	set_args sh -c 'sleep 1000 & sleep 1000 & wait'
	id=$(new_id)
	run_detached "$id"
	wait_for nprocs_ge "$id" 3
	run berth pause "$id"
	[ "$status" -eq 0 ]
	run berth kill --all "$id" TERM
	[ "$status" -eq 0 ]
	testcontainer "$id" paused
	[ "$(cg_file "$id" freezer freezer.state)" = FROZEN ]
	run berth kill --all "$id" KILL
	[ "$status" -eq 0 ]
	wait_for status_is "$id" stopped
	wait_for nprocs_le "$id" 0
}
