# Helpers shared by the checkpoint/restore tests (checkpoint.bats,
# checkpoint_io.bats, tests/vm/checkpoint.bats); load after helpers.

# COUNT_LOOP counts into /tmp/count of the container, one value each
# COUNT_PERIOD seconds (0.05 unless set before loading). Each value is
# renamed into place: a dump that froze a plain `echo >` between its
# truncate and its write would leave the file empty.
COUNT_LOOP="i=0; while :; do i=\$((i+1)); echo \$i >/tmp/count.t; mv /tmp/count.t /tmp/count; sleep ${COUNT_PERIOD:-0.05}; done"
# COUNTER: the loop with the container's own /dev/null as stdio, so
# nothing of the host is open in the dumped tree.
COUNTER="exec </dev/null >/dev/null 2>&1; $COUNT_LOOP"

# count: the counter's last value (0 before the first).
count() { cat "$BUNDLE/rootfs/tmp/count" 2>/dev/null || echo 0; }
count_above() { [ "$(count)" -gt "$1" ]; }

# start_counter ID: run the configured counter detached, until it counts.
start_counter() {
	run_detached "$1"
	wait_for count_above 5
}

# restore_detached ID [FLAGS...]: berth restore -d from $IMG.
restore_detached() {
	local id="$1"
	shift
	run berth_detached restore --detach --bundle "$BUNDLE" --image-path "$IMG" "$@" "$id"
}

# ok_or_show: after `run`, succeed on status 0, else print what ran.
ok_or_show() {
	[ "$status" -eq 0 ] && return 0
	echo "exit $status: $output" >&2
	return 1
}

# term_interrupts PID OUT: SIGTERM to a berth checkpoint/restore (PID)
# makes it fail, and (berth's words) say criu was killed, in its output OUT.
term_interrupts() {
	local rc=0
	kill -TERM "$1"
	wait "$1" || rc=$?
	[ "$rc" -ne 0 ]
	berth_only
	grep -q "interrupted: criu was killed" "$2" || { cat "$2" >&2; false; }
}
