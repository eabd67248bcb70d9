#!/usr/bin/env bats
# Defences against container escapes through the runtime itself.

load helpers

setup_file() { berth_setup_file; }
teardown_file() { berth_teardown_file; }
setup() {
	berth_setup
	setup_bundle
}
teardown() { berth_teardown; }

# CVE-2019-5736: a process that can see the runtime's init (for example the
# container's own processes, before the init execs) opens /proc/<pid>/exe,
# waits for the runtime to go, then reopens that fd for writing to replace
# the runtime binary on the host. The init must run from a view of the binary
# that cannot be written to. The test attacks a copy of the runtime, so a
# failure cannot damage the binary under test.
@test "the binary of a container's init cannot be written through /proc/<pid>/exe" {
	berth_only
	copy="$TEST_DIR/berth-copy"
	cp "$BERTH" "$copy"
	before=$(sha256sum <"$copy")
	set_args sleep 100
	id=$(new_id)
	"$copy" --root "$BERTH_ROOT" create --bundle "$BUNDLE" "$id" </dev/null >/dev/null 2>&1
	pid=$(container_pid "$id")
	[ -n "$pid" ] && [ "$pid" != 0 ]

	exec 7<"/proc/$pid/exe" # the init is still berth: blocked before start
	"$copy" --root "$BERTH_ROOT" delete -f "$id"
	run bash -c 'echo overwritten >/proc/self/fd/7'
	exec 7<&-
	[ "$status" -ne 0 ]
	[[ "$output" == *"Read-only file system"* ]]
	[ "$(sha256sum <"$copy")" = "$before" ]
}
