#!/usr/bin/env bats
# Run INSIDE the VM: checkpoint and restore under the systemd cgroup driver
# (berth --systemd-cgroup) on cgroup v2: the restored container gets its
# transient scope unit back, with config.json's limits. scripts/vm-test.sh
# stages the host's CRIU into the VM; without it these tests skip.

load ../integration/helpers
COUNT_PERIOD=0.1
load ../integration/criu

setup_file() {
	[ -d /run/systemd/system ] || skip "systemd is not running"
	berth_setup_file
}
teardown_file() { berth_teardown_file; }
setup() {
	berth_setup
	criu check >/dev/null 2>&1 || skip "no working criu on PATH (scripts/vm-test.sh stages the host's)"
	setup_bundle
	update_config '.root.readonly = false'
	set_args sh -c "$COUNTER"
	IMG="$TEST_DIR/img"
}
teardown() { berth_teardown; }

unit_prop() { systemctl show -p "$2" --value "$1"; }

@test "systemd: a restored container is back in its scope unit, with its limits, counting from where it stopped" {
	update_config '.linux.resources += {"memory": {"limit": 67108864}, "pids": {"limit": 20}}'
	id=$(new_id)
	run berth_detached --systemd-cgroup run --detach --bundle "$BUNDLE" "$id"
	[ "$status" -eq 0 ] || { echo "$output" >&2; false; }
	unit="berth-$id.scope"
	WAIT_TIMEOUT=30 wait_for count_above 3

	run berth --systemd-cgroup checkpoint --image-path "$IMG" "$id"
	[ "$status" -eq 0 ] || { echo "$output" >&2; false; }
	testcontainer "$id" stopped
	stopped_at=$(count)
	berth --systemd-cgroup delete "$id"
	! systemctl is-active -q "$unit"

	run berth_detached --systemd-cgroup restore --detach --bundle "$BUNDLE" --image-path "$IMG" "$id"
	[ "$status" -eq 0 ] || { echo "$output" >&2; false; }
	testcontainer "$id" running
	WAIT_TIMEOUT=30 wait_for count_above "$stopped_at"
	[ "$(count)" -lt $((stopped_at + 60)) ] # from where it stopped
	systemctl is-active "$unit"
	[ "$(unit_prop "$unit" MemoryMax)" = 67108864 ]
	[ "$(unit_prop "$unit" TasksMax)" = 20 ]
	pid=$(container_pid "$id")
	[ "$(sed -n 's/^0:://p' "/proc/$pid/cgroup")" = "/system.slice/$unit" ]
	[ "$(cat "/sys/fs/cgroup/system.slice/$unit/memory.max")" = 67108864 ]
	[ "$(cat "/sys/fs/cgroup/system.slice/$unit/pids.max")" = 20 ]

	berth --systemd-cgroup delete -f "$id"
	! systemctl is-active -q "$unit"
}

# The host's kernel has no soft-dirty bits (CONFIG_MEM_SOFT_DIRTY off), so
# CRIU cannot pre-dump there; the guest's Debian kernel has them.
@test "pre-dump chain: a pre-dump, then a dump with --parent-path, writes fewer pages and restores" {
	criu check --feature mem_dirty_track || { echo "the guest kernel should track dirty memory" >&2; false; }
	# Memory written once and never again: the pre-dump takes it and the
	# final dump must not. A bare counter is a few dozen pages, and it
	# dirties about as many between the two dumps as it has (one run
	# dumped 18 pages, then 24).
	set_args sh -c "ballast=\$(head -c 4000000 /dev/zero | tr '\\0' x); $COUNTER"
	id=$(new_id)
	run berth_detached run --detach --bundle "$BUNDLE" "$id"
	[ "$status" -eq 0 ] || { echo "$output" >&2; false; }
	WAIT_TIMEOUT=30 wait_for count_above 3

	run berth checkpoint --pre-dump --image-path "$IMG/pre" "$id"
	[ "$status" -eq 0 ] || { echo "$output" >&2; false; }
	testcontainer "$id" running
	[ -e "$IMG/pre/inventory.img" ]
	run berth checkpoint --parent-path ../pre --image-path "$IMG/final" "$id"
	[ "$status" -eq 0 ] || { echo "$output" >&2; false; }
	testcontainer "$id" stopped
	pre=$(du -cb "$IMG"/pre/pages-*.img | tail -1 | cut -f1)
	final=$(du -cb "$IMG"/final/pages-*.img | tail -1 | cut -f1)
	echo "pages: pre-dump $pre bytes, final dump $final bytes" >&2
	[ "$final" -lt "$pre" ]
	[ "$(readlink "$IMG/final/parent")" = ../pre ]

	stopped_at=$(count)
	berth delete "$id"
	run berth_detached restore --detach --bundle "$BUNDLE" --image-path "$IMG/final" "$id"
	[ "$status" -eq 0 ] || { echo "$output" >&2; false; }
	testcontainer "$id" running
	WAIT_TIMEOUT=30 wait_for count_above "$stopped_at"
	[ "$(count)" -lt $((stopped_at + 60)) ] # from where it stopped
	berth delete -f "$id"
}
