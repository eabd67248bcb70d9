#!/usr/bin/env bats
# checkpoint and restore with CRIU: the state must survive, not only the
# exit codes. Needs a working criu on PATH (scripts/install-criu.sh).

load helpers
load criu

setup_file() { berth_setup_file; }
teardown_file() { berth_teardown_file; }
setup() {
	berth_setup
	criu check >/dev/null 2>&1 || skip "no working criu on PATH (scripts/install-criu.sh)"
	setup_bundle
	# The counter (criu.bash) writes into its rootfs.
	update_config '.root.readonly = false'
	set_args sh -c "$COUNTER"
	IMG="$TEST_DIR/img"
}
teardown() { berth_teardown; }


@test "checkpoint stops the container; restore keeps counting from where it stopped" {
	id=$(new_id)
	start_counter "$id"

	run berth checkpoint --image-path "$IMG" "$id"
	[ "$status" -eq 0 ] || { echo "$output" >&2; false; }
	testcontainer "$id" stopped
	[ -e "$IMG/inventory.img" ]
	stopped_at=$(count)
	sleep 0.3
	[ "$(count)" -eq "$stopped_at" ] # nothing counts while checkpointed

	restore_detached "$id"
	[ "$status" -eq 0 ] || { echo "$output" >&2; false; }
	testcontainer "$id" running
	# From where it stopped, not from 1: the next values follow stopped_at.
	wait_for count_above "$stopped_at"
	[ "$(count)" -lt $((stopped_at + 40)) ]
	# A normal container: exec, cgroup, kill, delete.
	run berth exec "$id" cat /tmp/count
	[ "$status" -eq 0 ] && [ "$output" -gt "$stopped_at" ]
	pid=$(container_pid "$id")
	grep -q "/$id\$" "/proc/$pid/cgroup"
	[ -z "$(mounts_mentioning "$BERTH_ROOT")" ] # criu's root bind is gone
	run berth kill "$id" KILL
	[ "$status" -eq 0 ]
	wait_for status_is "$id" stopped
	run berth delete "$id"
	[ "$status" -eq 0 ]
	[ -z "$(cgroups_named "$id")" ]
}

@test "checkpoint --leave-running, then restore under a new id, and checkpoint it again" {
	id=$(new_id)
	start_counter "$id"
	run berth checkpoint --leave-running --image-path "$IMG" "$id"
	[ "$status" -eq 0 ] || { echo "$output" >&2; false; }
	testcontainer "$id" running
	at=$(count)
	wait_for count_above $((at + 3)) # still counting
	berth delete -f "$id"

	id2=$(new_id)
	restore_detached "$id2"
	[ "$status" -eq 0 ] || { echo "$output" >&2; false; }
	testcontainer "$id2" running
	pid=$(container_pid "$id2")
	grep -q "/$id2\$" "/proc/$pid/cgroup"
	! grep -q "/$id\$" "/proc/$pid/cgroup"
	[ "$(berth state "$id2" | jq -r .id)" = "$id2" ]

	# The restored container checkpoints and restores like any other.
	IMG="$TEST_DIR/img2"
	run berth checkpoint --image-path "$IMG" "$id2"
	[ "$status" -eq 0 ] || { echo "$output" >&2; false; }
	testcontainer "$id2" stopped
	at=$(count)
	restore_detached "$id2"
	[ "$status" -eq 0 ] || { echo "$output" >&2; false; }
	wait_for count_above "$at"
	berth delete -f "$id2"
	[ -z "$(cgroups_named "$id2")" ]
}

@test "pre-dump then dump with --parent-path writes fewer pages (or says which feature is missing)" {
	id=$(new_id)
	start_counter "$id"
	run berth checkpoint --pre-dump --image-path "$IMG/pre" "$id"
	if ! criu check --feature mem_dirty_track >/dev/null 2>&1; then
		# No soft-dirty bits on this kernel (CONFIG_MEM_SOFT_DIRTY off):
		# CRIU's pre-dump enforces memory tracking, in every
		# --pre-dump-mode, and aborts ("BUG at criu/mem.c:46"), so
		# there is no pre-dump without it. The preflight must refuse,
		# say so, and leave the container and the image dir alone.
		[ "$status" -ne 0 ]
		testcontainer "$id" running
		[ ! -e "$IMG/pre/inventory.img" ]
		berth_only
		[[ "$output" == *"--pre-dump needs a CRIU feature this host lacks: memory dirty tracking"* ]]
		skip "kernel $(uname -r) has no memory dirty tracking (CONFIG_MEM_SOFT_DIRTY off): checked the preflight's message; tests/vm/checkpoint.bats runs the chain in the VM"
	fi
	ok_or_show
	testcontainer "$id" running
	run berth checkpoint --parent-path ../pre --image-path "$IMG/final" "$id"
	ok_or_show
	testcontainer "$id" stopped
	pre=$(du -cb "$IMG"/pre/pages-*.img | tail -1 | cut -f1)
	final=$(du -cb "$IMG"/final/pages-*.img | tail -1 | cut -f1)
	[ "$final" -lt "$pre" ]
	# The chain restores: the final image with its parent's pages.
	at=$(count)
	IMG="$IMG/final"
	restore_detached "$id"
	ok_or_show
	wait_for count_above "$at"
}

@test "checkpoint of a stopped or created container fails and says why" {
	id=$(new_id)
	set_args true
	run_detached "$id"
	wait_for status_is "$id" stopped
	run berth checkpoint --image-path "$IMG" "$id"
	[ "$status" -ne 0 ]
	berth_only
	[[ "$output" == *"cannot checkpoint container \"$id\": it is stopped"* ]]
	[ ! -e "$IMG/inventory.img" ]
}

@test "restore from a missing or corrupt image directory fails, names the cause and leaves nothing" {
	id=$(new_id)
	run berth restore --detach --bundle "$BUNDLE" --image-path "$TEST_DIR/nothing-here" "$id"
	[ "$status" -ne 0 ]
	berth_only
	[[ "$output" == *"nothing-here"*"no such file or directory"* ]]
	assert_no_trace "$id"

	mkdir -p "$IMG"
	echo garbage >"$IMG/inventory.img"
	restore_detached "$id"
	[ "$status" -ne 0 ]
	[[ "$output" == *"criu restore failed"* ]]
	[[ "$output" == *"Error (criu/image.c"*"Magic doesn't match for inventory.img"* ]]
	[[ "$output" == *"full log: $IMG/restore.log"* ]]
	assert_no_trace "$id"

	rm "$IMG/inventory.img"
	restore_detached "$id"
	[ "$status" -ne 0 ]
	[[ "$output" == *"no CRIU image (inventory.img)"* ]]
	assert_no_trace "$id"
}

@test "restore refuses --lsm-profile and --lsm-mount-context on a host without an LSM" {
	grep -qE 'apparmor|selinux' /sys/kernel/security/lsm 2>/dev/null && skip "this host has an LSM"
	id=$(new_id)
	mkdir -p "$IMG"
	for flag in --lsm-profile --lsm-mount-context; do
		run berth restore --detach --bundle "$BUNDLE" --image-path "$IMG" "$flag" foo "$id"
		[ "$status" -ne 0 ]
		berth_only
		[[ "$output" == *"$flag \"foo\": no AppArmor or SELinux is active on this host"* ]]
	done
	assert_no_trace "$id"
}

@test "features reports checkpoint support truthfully" {
	berth_only
	run berth features
	[ "$status" -eq 0 ]
	[ "$(jq -r '.annotations["io.github.berthrt.berth.checkpoint.enabled"]' <<<"$output")" = true ]
	# No criu on PATH, or one that fails `criu check` here: false.
	run env PATH=/nonexistent "$BERTH" --root "$BERTH_ROOT" features
	[ "$status" -eq 0 ]
	[ "$(jq -r '.annotations["io.github.berthrt.berth.checkpoint.enabled"]' <<<"$output")" = false ]
	mkdir -p "$TEST_DIR/badcriu"
	printf '#!/bin/sh\n[ "$1" = check ] && { echo "Error (criu/cr-check.c:1): broken" >&2; exit 1; }\nexec %s "$@"\n' \
		"$(command -v criu)" >"$TEST_DIR/badcriu/criu"
	chmod +x "$TEST_DIR/badcriu/criu"
	run env PATH="$TEST_DIR/badcriu:$PATH" "$BERTH" --root "$BERTH_ROOT" features
	[ "$status" -eq 0 ]
	[ "$(jq -r '.annotations["io.github.berthrt.berth.checkpoint.enabled"]' <<<"$output")" = false ]
}

# criu_in DIR: the pids of criu processes working in DIR (their cwd).
criu_in() {
	local p
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/cwd" 2>/dev/null)" = "$1" ] || continue
		grep -q criu "$p/cmdline" 2>/dev/null && echo "${p#/proc/}"
	done
	return 0
}

# rooted_in DIR: the pids of processes whose root is DIR or below.
rooted_in() {
	local p r
	for p in /proc/[0-9]*; do
		r=$(readlink "$p/root" 2>/dev/null) || continue
		[[ "$r" == "$1" || "$r" == "$1"/* ]] && echo "${p#/proc/}"
	done
	return 0
}

@test "SIGTERM to restore kills criu and undoes everything: no state, cgroup, mount or process left" {
	id=$(new_id)
	start_counter "$id"
	run berth checkpoint --image-path "$IMG" "$id"
	ok_or_show
	berth delete "$id"

	# A createRuntime hook holds the restore while CRIU is mid-way (the
	# tree's namespaces made, its cgroups populated); the test signals
	# berth then.
	update_config '.hooks = {createRuntime: [{path: "/bin/sh", args: ["sh", "-c", $cmd]}]}' \
		--arg cmd "cat >/dev/null; touch $TEST_DIR/hook-ran; sleep 2"
	"$BERTH" --root "$BERTH_ROOT" restore --detach --bundle "$BUNDLE" --image-path "$IMG" "$id" \
		</dev/null >"$TEST_DIR/restore.out" 2>&1 3>&- &
	berth_pid=$!
	track_pid "$berth_pid"
	WAIT_TIMEOUT=20 wait_for test -e "$TEST_DIR/hook-ran"
	criu_pids=$(criu_in "$IMG")
	[ -n "$criu_pids" ]
	[ -n "$(cgroups_named "$id")" ]
	term_interrupts "$berth_pid" "$TEST_DIR/restore.out"
	for p in $criu_pids; do wait_for pid_gone "$p"; done
	[ -z "$(criu_in "$IMG")" ]
	[ ! -e "$BERTH_ROOT/$id" ]
	[ -z "$(berth list -q)" ]
	[ -z "$(cgroups_named "$id")" ]
	! grep -qE " ($IMG|$BERTH_ROOT/$id)[/ ]" /proc/self/mountinfo
	[ -z "$(rooted_in "$BERTH_ROOT/$id")" ]
	[ -z "$(rooted_in "$BUNDLE/rootfs")" ]

	# The image is intact: the same restore, left alone, works.
	update_config 'del(.hooks)'
	restore_detached "$id"
	ok_or_show
	wait_for count_above "$(count)"
}

@test "restore --no-pivot is accepted and restores as without it (CRIU pivots itself, as under runc)" {
	id=$(new_id)
	start_counter "$id"
	run berth checkpoint --image-path "$IMG" "$id"
	ok_or_show
	stopped_at=$(count)
	restore_detached "$id" --no-pivot
	ok_or_show
	testcontainer "$id" running
	wait_for count_above "$stopped_at"
	[ "$(count)" -lt $((stopped_at + 60)) ] # from where it stopped
	# The restored tree is rooted in the rootfs, as CRIU's pivot left it.
	pid=$(container_pid "$id")
	run berth exec "$id" cat /tmp/count
	[ "$status" -eq 0 ] && [ "$output" -gt "$stopped_at" ]
	[ "$(stat -Lc %i "/proc/$pid/root/tmp/count")" = "$(stat -c %i "$BUNDLE/rootfs/tmp/count")" ]
}

@test "--work-path: CRIU's logs go there, not into the image directory" {
	id=$(new_id)
	start_counter "$id"
	run berth checkpoint --image-path "$IMG" --work-path "$TEST_DIR/work-dump" "$id"
	ok_or_show
	[ -s "$TEST_DIR/work-dump/dump.log" ]
	[ ! -e "$IMG/dump.log" ]
	berth delete "$id"
	restore_detached "$id" --work-path "$TEST_DIR/work-restore"
	ok_or_show
	[ -s "$TEST_DIR/work-restore/restore.log" ]
	[ ! -e "$IMG/restore.log" ]
	berth delete -f "$id"
}

# pages_allocated DIR: bytes the page images of DIR take on disk (holes
# punched by --auto-dedup do not count).
pages_allocated() { du -cB1 "$1"/pages-*.img | tail -1 | cut -f1; }

@test "restore --auto-dedup punches the restored pages out of the image; without it the image stays whole" {
	id=$(new_id)
	start_counter "$id"
	run berth checkpoint --image-path "$IMG" "$id"
	ok_or_show
	cp -a "$IMG" "$TEST_DIR/img2"
	full=$(pages_allocated "$IMG")
	[ "$full" -gt 0 ]
	berth delete "$id"

	restore_detached "$id"
	ok_or_show
	[ "$(pages_allocated "$IMG")" -eq "$full" ] # untouched
	berth delete -f "$id"

	IMG="$TEST_DIR/img2"
	restore_detached "$id" --auto-dedup
	ok_or_show
	after=$(pages_allocated "$IMG")
	echo "page images: $full bytes before, $after after restore --auto-dedup" >&2
	[ "$after" -lt $((full / 2)) ]
	at=$(count)
	wait_for count_above "$at" # and the container goes on
	berth delete -f "$id"
}

@test "--link-remap: an open file removed from its path but linked elsewhere is refused without it, linked back with it" {
	# /tmp/a is opened, then removed; /tmp/b keeps the inode alive (nlink 1),
	# so CRIU can neither reopen it by its path nor treat it as a ghost.
	set_args sh -c "exec </dev/null >/dev/null 2>&1; echo kept >/tmp/a; ln /tmp/a /tmp/b; exec 7</tmp/a; rm /tmp/a; $COUNT_LOOP"
	id=$(new_id)
	start_counter "$id"
	run berth checkpoint --image-path "$IMG" "$id"
	[ "$status" -ne 0 ]
	[[ "$output" == *"link-remap"* || "$output" == *"link_remap"* ]] || { echo "$output" >&2; false; }
	testcontainer "$id" running

	run berth checkpoint --link-remap --image-path "$IMG" "$id"
	ok_or_show
	ls -a "$BUNDLE/rootfs/tmp" | grep -q '^link_remap\.' || { ls -la "$BUNDLE/rootfs/tmp" >&2; false; }
	berth delete "$id"
	restore_detached "$id"
	ok_or_show
	pid=$(container_pid "$id")
	[ "$(cat "/proc/$pid/fd/7")" = kept ]
	berth delete -f "$id"
}

# add_flock: the host's flock(1) and the libraries it loads, into the rootfs
# (busybox has no flock applet).
add_flock() {
	local f
	for f in /usr/bin/flock $(ldd /usr/bin/flock | grep -o '/[^ ]*'); do
		mkdir -p "$BUNDLE/rootfs$(dirname "$f")"
		cp -L "$f" "$BUNDLE/rootfs$f"
	done
}

@test "--file-locks: a held flock is refused without it, and held again after restore with it" {
	add_flock
	set_args sh -c "exec </dev/null >/dev/null 2>&1 9>/tmp/lock; /usr/bin/flock -x 9 || exit 1; $COUNT_LOOP"
	id=$(new_id)
	start_counter "$id"
	! flock -n "$BUNDLE/rootfs/tmp/lock" true # the container holds it

	run berth checkpoint --image-path "$IMG" "$id"
	[ "$status" -ne 0 ]
	[[ "$output" == *"file-locks"* || "$output" == *"file lock"* ]] || { echo "$output" >&2; false; }
	testcontainer "$id" running

	run berth checkpoint --file-locks --image-path "$IMG" "$id"
	ok_or_show
	testcontainer "$id" stopped
	flock -n "$BUNDLE/rootfs/tmp/lock" true # released with the container
	berth delete "$id"
	at=$(count)
	restore_detached "$id" --file-locks
	ok_or_show
	wait_for count_above "$at"
	! flock -n "$BUNDLE/rootfs/tmp/lock" true # held again
	berth delete -f "$id"
}

# lo_flags ID: the container's loopback flags (0x9: up, 0x8: down).
lo_flags() { berth exec "$1" cat /sys/class/net/lo/flags; }

@test "--empty-ns network: the network namespace's content is neither dumped nor restored" {
	id=$(new_id)
	start_counter "$id"
	berth exec --cap CAP_NET_ADMIN "$id" ip link set lo up
	[ "$(lo_flags "$id")" = 0x9 ]

	# Without it, the loopback comes back up.
	run berth checkpoint --image-path "$IMG/full" "$id"
	ok_or_show
	berth delete "$id"
	IMG="$TEST_DIR/img/full" restore_detached "$id"
	ok_or_show
	[ "$(lo_flags "$id")" = 0x9 ]

	# With it, the restored namespace is empty: loopback down.
	run berth checkpoint --empty-ns network --image-path "$IMG/empty" "$id"
	ok_or_show
	! ls "$IMG"/empty/netdev-*.img >/dev/null 2>&1 # no links dumped
	berth delete "$id"
	IMG="$TEST_DIR/img/empty" restore_detached "$id" --empty-ns network
	ok_or_show
	[ "$(lo_flags "$id")" = 0x8 ]
	at=$(count)
	wait_for count_above "$at"
	berth delete -f "$id"
}

@test "--shell-job: a container whose stdio is a terminal outside it is refused without it (CRIU's words) and dumped with it" {
	set_args sh -c "$COUNT_LOOP"
	id=$(new_id)
	# script(1) gives berth, and so the detached container, a pty of the
	# host's devpts as stdio: a terminal CRIU cannot find in the container.
	script -qec "$BERTH --root $BERTH_ROOT run --detach --bundle $BUNDLE $id" /dev/null
	wait_for count_above 5
	run berth checkpoint --leave-running --image-path "$IMG/no" "$id"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Can't lookup mount"*"/dev/pts/"* ]] || { echo "$output" >&2; false; }
	testcontainer "$id" running
	run berth checkpoint --leave-running --shell-job --image-path "$IMG/yes" "$id"
	ok_or_show
	[ -e "$IMG/yes/inventory.img" ]
	testcontainer "$id" running
	berth delete -f "$id"
}
