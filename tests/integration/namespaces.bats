#!/usr/bin/env bats
# linux.namespaces: new namespaces (user, time, uts, ipc) and joining an
# existing one by path.

load helpers

setup_file() { berth_setup_file; }
teardown_file() { berth_teardown_file; }
setup() {
	berth_setup
	setup_bundle
}
teardown() { berth_teardown; }

# requires_ns TYPE: skip if the runtime's `features` does not list the
# namespace type (runc 1.1 has no time namespace). berth must support all.
requires_ns() {
	[ "$(runtime_name)" = berth ] && return 0
	"$BERTH" features 2>/dev/null | jq -e --arg t "$1" '.linux.namespaces | index($t) != null' >/dev/null ||
		skip "$(runtime_name) does not support the $1 namespace"
}

# add_userns: a user namespace mapping 0..65535 inside to 100000.. outside.
# The suite's dirs are 0755, so uid 100000 can read the rootfs; the mount
# points a real image has are made here, since uid 100000 cannot write the
# rootfs to make them.
add_userns() {
	mkdir -p "$BUNDLE/rootfs/proc" "$BUNDLE/rootfs/dev" "$BUNDLE/rootfs/sys"
	update_config '.linux.namespaces += [{"type": "user"}]
		| .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]'
}

@test "user namespace: the process sees the mapping and is root inside" {
	add_userns
	set_args sh -c 'cat /proc/self/uid_map; cat /proc/self/gid_map; id -u; id -g'
	run berth run "$(new_id)"
	echo "$output"
	[ "$status" -eq 0 ]
	read -ra uidmap <<<"${lines[0]}"
	read -ra gidmap <<<"${lines[1]}"
	[ "${uidmap[*]}" = "0 100000 65536" ]
	[ "${gidmap[*]}" = "0 100000 65536" ]
	[ "${lines[2]}" = 0 ]
	[ "${lines[3]}" = 0 ]
}

@test "user namespace: from the host the container process is uid 100000" {
	add_userns
	set_args sleep 100
	id=$(new_id)
	run_detached "$id"
	pid="$(container_pid "$id")"
	# Until it execs, the init is not dumpable and /proc/PID is root's.
	wait_for comm_is "$pid" sleep
	[ "$(stat -c %u "/proc/$pid")" = 100000 ]
	[ "$(stat -c %g "/proc/$pid")" = 100000 ]
	[ "$(awk '/^Uid:/ {print $2}' "/proc/$pid/status")" = 100000 ]
	[ "$(readlink "/proc/$pid/ns/user")" != "$(readlink /proc/self/ns/user)" ]
}

@test "time namespace: timeOffsets.boottime moves /proc/uptime" {
	requires_ns time
	update_config '.linux.namespaces += [{"type": "time"}]
		| .linux.timeOffsets = {"boottime": {"secs": 86400, "nanosecs": 0}}'
	set_args cat /proc/uptime
	run berth run "$(new_id)"
	echo "$output (host: $(cat /proc/uptime))"
	[ "$status" -eq 0 ]
	up="${output%%.*}"
	host="$(cut -d. -f1 /proc/uptime)"
	[ "$up" -ge 86400 ]
	[ "$up" -ge $((host + 86400 - 5)) ]
}

@test "joining a network namespace by path" {
	set_args sleep 100
	a=$(new_id)
	run_detached "$a"
	apid="$(container_pid "$a")"
	anet="$(readlink "/proc/$apid/ns/net")"
	# A has a network namespace of its own.
	[ "$anet" != "$(readlink /proc/self/ns/net)" ]

	update_config '.linux.namespaces |= map(if .type == "network" then .path = $p else . end)' \
		--arg p "/proc/$apid/ns/net"
	set_args readlink /proc/self/ns/net
	run berth run "$(new_id)"
	echo "B: $output, A: $anet"
	[ "$status" -eq 0 ]
	[ "$output" = "$anet" ]
}

@test "uts namespace: hostname inside, the host's is unchanged" {
	host_name="$(hostname)"
	update_config '.hostname = "bats-uts-box"'
	set_args sh -c 'hostname; readlink /proc/self/ns/uts'
	run berth run "$(new_id)"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = bats-uts-box ]
	[ "${lines[1]}" != "$(readlink /proc/self/ns/uts)" ]
	[ "$(hostname)" = "$host_name" ]
}

@test "hostname without a uts namespace is refused" {
	update_config '.hostname = "bats-uts-box" | .linux.namespaces |= map(select(.type != "uts"))'
	set_args true
	id=$(new_id)
	run berth_detached run --bundle "$BUNDLE" "$id"
	echo "status $status: $output"
	[ "$status" -ne 0 ]
	assert_no_trace "$id"
}

@test "ipc namespace: differs from the host's, and is the host's without it" {
	host_ipc="$(readlink /proc/self/ns/ipc)"
	set_args readlink /proc/self/ns/ipc
	run berth run "$(new_id)"
	[ "$status" -eq 0 ]
	[[ "$output" == ipc:* ]]
	[ "$output" != "$host_ipc" ]

	update_config '.linux.namespaces |= map(select(.type != "ipc"))'
	run berth run "$(new_id)"
	[ "$status" -eq 0 ]
	[ "$output" = "$host_ipc" ]
}

@test "cgroup namespace: the process sees itself at the root of its cgroups" {
	update_config '.linux.namespaces |= (map(select(.type != "cgroup")) + [{"type": "cgroup"}])'
	set_args cat /proc/self/cgroup
	run berth run "$(new_id)"
	echo "$output"
	[ "$status" -eq 0 ]
	for line in "${lines[@]}"; do
		[ "${line##*:}" = / ]
	done
}
