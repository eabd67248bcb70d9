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

# nprocs_at CGDIR OP N: for wait_for, the number of processes in CGDIR
# compared with N (test's -ge, -le, -eq), read afresh on every try.
nprocs_at() {
	[ "$(wc -l <"$1/cgroup.procs")" "$2" "$3" ]
}

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
	wait_for nprocs_at "/sys/fs/cgroup$cg" -ge 3
	run berth kill --all "$id" KILL
	[ "$status" -eq 0 ]
	wait_for status_is "$id" stopped
}

# The createRuntime hook runs while the init waits before its pivot: what it
# reads in /proc/<pid>/cgroup is where the init has been since its clone.
@test "v2: the stub and the init are created inside the container's cgroup (clone3 CLONE_INTO_CGROUP)" {
	hook="$TEST_DIR/cg-hook.sh"
	cat >"$hook" <<-'EOS'
		#!/bin/sh
		pid=$(jq -r .pid)
		cat "/proc/$pid/cgroup" >"$1"
	EOS
	chmod 755 "$hook"
	update_config '.hooks.createRuntime = [{path: $h, args: [$h, $out]}]' \
		--arg h "$hook" --arg out "$TEST_DIR/hook-cgroup"
	set_args sleep 100
	id=$(new_id)
	run berth_detached --debug run --detach --bundle "$BUNDLE" "$id"
	[ "$status" -eq 0 ]
	echo "$output" | grep -q "container init: pid [0-9]* created inside cgroup /sys/fs/cgroup/.*/$id (clone3 CLONE_INTO_CGROUP)"
	! echo "$output" | grep -q "refused"
	[ "$(wc -l <"$TEST_DIR/hook-cgroup")" -eq 1 ]
	grep -qx "0::/.*/$id" "$TEST_DIR/hook-cgroup"
	pid=$(container_pid "$id")
	[ "$(cat "/proc/$pid/cgroup")" = "$(cat "$TEST_DIR/hook-cgroup")" ]
}

@test "v2: exec is created inside the container's cgroup, or inside its --cgroup sub-cgroup" {
	set_args sleep 100
	id=$(new_id)
	run_detached "$id"
	pid=$(container_pid "$id")
	cg=$(sed -n 's/^0:://p' "/proc/$pid/cgroup")
	run berth --debug exec "$id" true
	[ "$status" -eq 0 ]
	echo "$output" | grep -q "exec: pid [0-9]* created inside cgroup /sys/fs/cgroup$cg (clone3"
	mkdir "/sys/fs/cgroup$cg/sub"
	run berth --debug exec --cgroup sub "$id" cat /proc/self/cgroup
	[ "$status" -eq 0 ]
	echo "$output" | grep -q "exec: pid [0-9]* created inside cgroup /sys/fs/cgroup$cg/sub (clone3"
	# The config has a cgroup namespace rooted at the container's cgroup.
	echo "$output" | grep -qx "0::/sub"
	# Joining enabled no controller in the container's cgroup, which
	# would have made it a threaded root and sub "domain invalid".
	[ "$(cat "/sys/fs/cgroup$cg/cgroup.type")" = domain ]
	[ "$(cat "/sys/fs/cgroup$cg/sub/cgroup.type")" = domain ]
}

# Cloned into a frozen cgroup the stub would freeze before its execve, and
# the vfork-ing berth with it: a paused container takes the pid write.
@test "v2: exec --ignore-paused into a paused container joins by pid and runs once resumed" {
	set_args sleep 100
	id=$(new_id)
	run_detached "$id"
	run berth pause "$id"
	[ "$status" -eq 0 ]
	(
		sleep 1
		berth resume "$id"
	) 3>&- &
	run berth --debug exec --ignore-paused "$id" echo ok
	wait
	[ "$status" -eq 0 ]
	echo "$output" | grep -qx ok
	! echo "$output" | grep -q "created inside cgroup"
	testcontainer "$id" running
}

@test "v2: kill --all KILL empties a container of many processes through cgroup.kill" {
	# 40 sleeps and a loop that keeps forking while it is killed.
	set_args sh -c 'for i in $(seq 40); do sleep 100 & done; while :; do sleep 100 & sleep 1; done'
	id=$(new_id)
	run_detached "$id"
	pid=$(container_pid "$id")
	cg=/sys/fs/cgroup$(sed -n 's/^0:://p' "/proc/$pid/cgroup")
	[ -e "$cg/cgroup.kill" ] || skip "no cgroup.kill (Linux < 5.14)"
	WAIT_TIMEOUT=30 wait_for nprocs_at "$cg" -ge 42
	run berth --debug kill --all "$id" KILL
	[ "$status" -eq 0 ]
	echo "$output" | grep -q "killed through cgroup.kill"
	WAIT_TIMEOUT=30 wait_for nprocs_at "$cg" -eq 0
	WAIT_TIMEOUT=30 wait_for status_is "$id" stopped
	grep -qx "populated 0" "$cg/cgroup.events"
	run berth delete "$id"
	[ "$status" -eq 0 ]
	[ ! -d "$cg" ]
}

@test "v2: kill --all with another signal goes pid by pid and leaves the container thawed" {
	set_args sh -c 'for i in $(seq 10); do sleep 100 & done; wait; sleep 100'
	id=$(new_id)
	run_detached "$id"
	pid=$(container_pid "$id")
	cg=/sys/fs/cgroup$(sed -n 's/^0:://p' "/proc/$pid/cgroup")
	WAIT_TIMEOUT=30 wait_for nprocs_at "$cg" -ge 11
	run berth --debug kill --all "$id" TERM
	[ "$status" -eq 0 ]
	! echo "$output" | grep -q "cgroup.kill"
	# The sleeps die; sh, the pid namespace's init, has no TERM handler.
	WAIT_TIMEOUT=30 wait_for nprocs_at "$cg" -le 2
	[ "$(cat "$cg/cgroup.freeze")" = 0 ]
	testcontainer "$id" running
}

# cgroup_mount_report: the container's report on its /sys/fs/cgroup: the
# filesystem there, whether it is the root of the hierarchy or a bind of a
# directory in it, and whether the container's own processes are listed.
cgroup_mount_report() {
	set_args sh -c '
		awk "\$5 == \"/sys/fs/cgroup\" { for (i = 7; \$i != \"-\"; i++) ;
			print \$(i+1), (\$4 == \"/\" ? \"root\" : \"a directory\") }" /proc/self/mountinfo
		grep -qx $$ /sys/fs/cgroup/cgroup.procs && echo "lists the container"'
}

@test "v2: in a user namespace /sys/fs/cgroup is the container's own cgroup, from both inits" {
	# With a cgroup namespace the container mounts cgroup2 itself; without
	# one the kernel refuses it (EPERM) and its cgroup directory is bound
	# there instead. The C init and the Go init do the same.
	mkdir -p "$BUNDLE/rootfs/"{proc,dev,sys}
	update_config '.linux.namespaces |= (map(select(.type != "cgroup")) + [{"type": "cgroup"}, {"type": "user"}])
		| .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]'
	cgroup_mount_report
	local out_c
	run -0 berth run "$(new_id)"
	out_c=$output
	[ "$out_c" = $'cgroup2 root\nlists the container' ]
	run -0 env BERTH_GO_INIT=1 "$BERTH" --root "$BERTH_ROOT" run "$(new_id)"
	[ "$output" = "$out_c" ]

	update_config '.linux.namespaces |= map(select(.type != "cgroup"))'
	run -0 berth run "$(new_id)"
	out_c=$output
	[ "$out_c" = $'cgroup2 a directory\nlists the container' ]
	run -0 env BERTH_GO_INIT=1 "$BERTH" --root "$BERTH_ROOT" run "$(new_id)"
	[ "$output" = "$out_c" ]
}
