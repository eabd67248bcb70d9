#!/usr/bin/env bats
# Lifecycle edge cases: what an init without a pid namespace leaves behind,
# kill --all on a stopped container, and errors after the handshake.

load helpers

setup_file() { berth_setup_file; }
teardown_file() { berth_teardown_file; }
setup() {
	berth_setup
	setup_bundle
}
teardown() { berth_teardown; }

# pids_of_marker MARKER: pids whose command line holds MARKER.
pids_of_marker() {
	pgrep -f -- "$1" || true
}

@test "delete of a stopped container without a pid namespace kills what its init left" {
	update_config '.linux.namespaces |= map(select(.type != "pid"))'
	marker="sleep 4242$RANDOM"
	set_args sh -c "$marker & $marker & exit 0"
	id=$(new_id)
	run_detached "$id"
	wait_for status_is "$id" stopped
	wait_for test -n "$(pids_of_marker "$marker")"
	[ "$(pids_of_marker "$marker" | wc -l)" -eq 2 ]

	run berth delete "$id"
	[ "$status" -eq 0 ]
	[ -z "$(pids_of_marker "$marker")" ]
	[ -z "$(cgroups_named "$id")" ]
}

@test "kill --all signals what is left of a stopped container" {
	update_config '.linux.namespaces |= map(select(.type != "pid"))'
	marker="sleep 4343$RANDOM"
	set_args sh -c "$marker & exit 0"
	id=$(new_id)
	run_detached "$id"
	wait_for status_is "$id" stopped
	wait_for test -n "$(pids_of_marker "$marker")"

	# Without --all a stopped container cannot be signalled...
	run berth kill "$id" KILL
	[ "$status" -ne 0 ]
	# ...with --all, the leftovers in its cgroup are.
	run berth kill --all "$id" KILL
	[ "$status" -eq 0 ]
	wait_for test -z "$(pids_of_marker "$marker")"
}

@test "an exec failure after start is reported on the container's stderr" {
	printf 'not an executable' >"$BUNDLE/rootfs/bin/bad"
	chmod 755 "$BUNDLE/rootfs/bin/bad"
	set_args /bin/bad
	run berth run --bundle "$BUNDLE" "$(new_id)"
	[ "$status" -ne 0 ]
	[[ "$output" == *"exec format error"* ]]
}

@test "a missing executable is reported at create, naming process.args[0]" {
	set_args /no/such/binary
	id=$(new_id)
	run berth_detached create --bundle "$BUNDLE" "$id"
	[ "$status" -ne 0 ]
	[[ "$output" == *"/no/such/binary"* ]]
	berth_only
	[[ "$output" == *"process.args[0]"* ]] # berth message
	assert_no_trace "$id"
}

@test "a capability missing from the runtime's own bounding set is refused, naming it" {
	# This host withholds some capabilities (CAP_SYS_RESOURCE): find one.
	bnd=$((16#$(sed -n 's/^CapBnd:\s*//p' /proc/self/status)))
	last=$(cat /proc/sys/kernel/cap_last_cap)
	missing=
	for n in $(seq 0 "$last"); do
		if [ $(((bnd >> n) & 1)) -eq 0 ]; then missing=$n; break; fi
	done
	[ -n "$missing" ] || skip "this host withholds no capability"
	name=$(capsh --decode=$((1 << missing)) 2>/dev/null | sed 's/.*=//' | tr a-z A-Z)
	[ -n "$name" ] || name=CAP_SYS_RESOURCE
	update_config '.process.capabilities.bounding += [$c] | .process.capabilities.permitted += [$c]' --arg c "$name"
	set_args true
	id=$(new_id)
	run berth_detached create --bundle "$BUNDLE" "$id"
	[ "$status" -ne 0 ]
	berth_only
	[[ "$output" == *"process.capabilities"*"$name"* ]] # berth message
	assert_no_trace "$id"
}

@test "create without a process works; start then fails, and delete removes it" {
	update_config 'del(.process)'
	id=$(new_id)
	create_container "$id"
	testcontainer "$id" created
	run berth start "$id"
	[ "$status" -ne 0 ]
	[[ "$output" == *"process"* ]]
	testcontainer "$id" created
	run berth delete "$id"
	[ "$status" -eq 0 ]
	assert_no_trace "$id"
}
