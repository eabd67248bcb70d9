#!/usr/bin/env bats
# systemd integration: NOTIFY_SOCKET relay, socket activation (LISTEN_FDS),
# --pidfd-socket on create and run, run --no-subreaper.

load helpers

setup_file() {
	berth_setup_file
	build_sdnotify
	build_recvpidfd_helper
}
teardown_file() { berth_teardown_file; }
setup() {
	berth_setup
	setup_bundle
	cp "$SDNOTIFY" "$BUNDLE/rootfs/sdnotify"
	mkdir -m 0755 "$TEST_DIR/host"
	HOST_SOCK="$TEST_DIR/host/notify"
}
teardown() { berth_teardown; }

# go_build NAME PKG [ENV...]: build PKG once per bats run into the record dir.
go_build() {
	local out="$RECORD_DIR/$1" pkg="$2"
	shift 2
	if [ ! -x "$out" ]; then
		(cd "$REPO_DIR" && env "$@" "$(command -v go || echo /usr/local/go/bin/go)" build -o "$out.tmp.$$" "$pkg") || return 1
		mv "$out.tmp.$$" "$out"
	fi
	echo "$out"
}

# build_sdnotify: SDNOTIFY, the static tests/cmd/sdnotify (it runs in busybox).
build_sdnotify() {
	SDNOTIFY="$(go_build sdnotify ./tests/cmd/sdnotify CGO_ENABLED=0)" || return 1
	export SDNOTIFY
}

build_recvpidfd_helper() {
	RECVPIDFD="$(go_build recvpidfd ./tests/cmd/recvpidfd)" || return 1
	export RECVPIDFD
}

# start_listener: the host's "systemd": every variable it receives on
# $HOST_SOCK goes to $TEST_DIR/notified, one per line.
start_listener() {
	"$SDNOTIFY" listen "$HOST_SOCK" </dev/null >"$TEST_DIR/notified" 2>&1 3>&- &
	track_pid $!
	wait_for test -S "$HOST_SOCK"
}

# start_recvpidfd: a --pidfd-socket receiver on $TEST_DIR/pidfd.sock.
start_recvpidfd() {
	"$RECVPIDFD" --pid-file "$TEST_DIR/recvpidfd.pid" "$TEST_DIR/pidfd.sock" \
		</dev/null >"$TEST_DIR/pidfd.out" 2>&1 3>&- &
	RECV_PID=$!
	track_pid "$RECV_PID"
	wait_for test -s "$TEST_DIR/recvpidfd.pid"
}

@test "NOTIFY_SOCKET: READY=1 reaches the host only after start, which waits for it" {
	start_listener
	# The socket is at the host's path inside, and MAINPID/NOTIFYACCESS from
	# the container are not passed on.
	set_args sh -c '[ "$NOTIFY_SOCKET" = "'"$HOST_SOCK"'" ] || exit 9
		sleep 1
		/sdnotify send "$(printf "STATUS=starting\nMAINPID=1\nNOTIFYACCESS=all")" READY=1
		exec sleep 100'
	id=$(new_id)
	NOTIFY_SOCKET="$HOST_SOCK" create_container "$id"
	[ -d "$BERTH_ROOT/$id/notify" ]
	sleep 0.3
	[ ! -s "$TEST_DIR/notified" ]

	local t0=$SECONDS
	NOTIFY_SOCKET="$HOST_SOCK" run berth start "$id"
	[ "$status" -eq 0 ]
	# start returned once READY=1 was through (the container waits 1s).
	grep -qx "READY=1" "$TEST_DIR/notified"
	[ $((SECONDS - t0)) -ge 1 ]
	grep -qx "STATUS=starting" "$TEST_DIR/notified"
	grep -qx "MAINPID=$(container_pid "$id")" "$TEST_DIR/notified"
	! grep -q "MAINPID=1$" "$TEST_DIR/notified"
	! grep -q NOTIFYACCESS "$TEST_DIR/notified"
	[ "$(sed -n 1p "$TEST_DIR/notified")" = STATUS=starting ]
	testcontainer "$id" running
}

@test "NOTIFY_SOCKET: run --detach returns after READY=1 with MAINPID of the init" {
	start_listener
	set_args sh -c 'sleep 0.5; /sdnotify send READY=1; exec sleep 100'
	id=$(new_id)
	NOTIFY_SOCKET="$HOST_SOCK" run_detached "$id"
	grep -qx "READY=1" "$TEST_DIR/notified"
	grep -qx "MAINPID=$(container_pid "$id")" "$TEST_DIR/notified"
}

@test "NOTIFY_SOCKET: run in the foreground relays until the container exits, MAINPID is berth" {
	start_listener
	set_args sh -c '/sdnotify send READY=1; sleep 0.2; /sdnotify send STATUS=later; sleep 0.2; exit 4'
	id=$(new_id)
	NOTIFY_SOCKET="$HOST_SOCK" run berth run "$id"
	[ "$status" -eq 4 ]
	wait_for grep -qx "STATUS=later" "$TEST_DIR/notified"
	grep -qx "READY=1" "$TEST_DIR/notified"
	local main
	main="$(sed -n 's/^MAINPID=//p' "$TEST_DIR/notified")"
	[ -n "$main" ]
	# berth's pid: gone now, and not the container's pid 1.
	[ "$main" != 1 ]
}

@test "NOTIFY_SOCKET: start and run -d do not hang when the container exits without READY=1" {
	start_listener
	set_args sh -c 'sleep 0.3; exit 0'
	id=$(new_id)
	NOTIFY_SOCKET="$HOST_SOCK" create_container "$id"
	NOTIFY_SOCKET="$HOST_SOCK" run berth start "$id"
	[ "$status" -eq 0 ]
	id2=$(new_id)
	NOTIFY_SOCKET="$HOST_SOCK" run_detached "$id2"
	[ ! -s "$TEST_DIR/notified" ]
}

@test "NOTIFY_SOCKET: an abstract host socket gives the container /run/notify/notify.sock" {
	set_args sh -c 'echo "$NOTIFY_SOCKET"; ls -l /run/notify/'
	id=$(new_id)
	NOTIFY_SOCKET="@berth-test-$id" run berth run "$id"
	[ "$status" -eq 0 ]
	[[ "$output" == /run/notify/notify.sock* ]]
	[[ "$output" == *notify.sock* ]]
}

@test "without NOTIFY_SOCKET nothing is mounted and the env has no NOTIFY_SOCKET" {
	set_args sh -c 'echo "[$NOTIFY_SOCKET]"; grep -c notify /proc/self/mountinfo'
	id=$(new_id)
	env -u NOTIFY_SOCKET "$BERTH" --root "$BERTH_ROOT" create "$id" </dev/null >/dev/null 2>&1
	[ ! -e "$BERTH_ROOT/$id/notify" ]
	id2=$(new_id)
	run env -u NOTIFY_SOCKET "$BERTH" --root "$BERTH_ROOT" run "$id2"
	[ "${lines[0]}" = "[]" ]
	[ "${lines[1]}" = 0 ]
}

@test "LISTEN_FDS: a socket-activated listener is fd 3 of the container, LISTEN_PID its pid" {
	set_args /sdnotify accept
	id=$(new_id)
	timeout 60 "$SDNOTIFY" activate "$TEST_DIR/act.sock" "$BERTH" --root "$BERTH_ROOT" run "$id" \
		</dev/null >"$TEST_DIR/run.out" 2>&1 3>&- &
	local runner=$!
	track_pid "$runner"
	wait_for test -S "$TEST_DIR/act.sock"
	run "$SDNOTIFY" connect "$TEST_DIR/act.sock"
	[ "$status" -eq 0 ]
	[ "$output" = "pid=1 LISTEN_PID=1 LISTEN_FDS=1" ]
	wait "$runner"
}

@test "LISTEN_FDS with --preserve-fds: the preserved fds follow the listeners" {
	set_args sh -c '/sdnotify accept && echo extra >&4'
	id=$(new_id)
	timeout 60 "$SDNOTIFY" activate "$TEST_DIR/act.sock" "$BERTH" --root "$BERTH_ROOT" run --preserve-fds 1 "$id" \
		</dev/null >"$TEST_DIR/run.out" 2>&1 4>"$TEST_DIR/fd4" &
	local runner=$!
	track_pid "$runner"
	wait_for test -S "$TEST_DIR/act.sock"
	run "$SDNOTIFY" connect "$TEST_DIR/act.sock"
	[ "$status" -eq 0 ]
	[[ "$output" == *" LISTEN_PID=1 LISTEN_FDS=1" ]]
	wait "$runner"
	[ "$(cat "$TEST_DIR/fd4")" = extra ]
}

@test "LISTEN_FDS without a pid namespace: LISTEN_PID is the init's own (host) pid" {
	update_config '.linux.namespaces |= map(select(.type != "pid"))'
	set_args /sdnotify accept
	id=$(new_id)
	timeout 60 "$SDNOTIFY" activate "$TEST_DIR/act.sock" "$BERTH" --root "$BERTH_ROOT" run "$id" \
		</dev/null >"$TEST_DIR/run.out" 2>&1 3>&- &
	local runner=$!
	track_pid "$runner"
	wait_for test -S "$TEST_DIR/act.sock"
	run "$SDNOTIFY" connect "$TEST_DIR/act.sock"
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^pid=([0-9]+)\ LISTEN_PID=([0-9]+)\ LISTEN_FDS=1$ ]]
	[ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ]
	[ "${BASH_REMATCH[1]}" != 1 ]
	wait "$runner"
}

@test "LISTEN_FDS is ignored when LISTEN_PID is not berth's pid" {
	set_args sh -c 'echo "[$LISTEN_FDS]"'
	id=$(new_id)
	LISTEN_FDS=1 LISTEN_PID=1 run berth run "$id" 3>/dev/null
	[ "$status" -eq 0 ]
	[ "$output" = "[]" ]
}

@test "create --pidfd-socket sends a pidfd of the container's init" {
	start_recvpidfd
	set_args sleep 100
	id=$(new_id)
	create_container "$id" --pidfd-socket "$TEST_DIR/pidfd.sock"
	wait_for grep -q "^pid " "$TEST_DIR/pidfd.out"
	[ "$(head -1 "$TEST_DIR/pidfd.out")" = "pid $(container_pid "$id")" ]
	berth start "$id"
	berth kill "$id" KILL
	wait_for pid_gone "$RECV_PID"
	[ "$(tail -1 "$TEST_DIR/pidfd.out")" = exited ]
}

@test "run --pidfd-socket sends a pidfd of the init, detached and in the foreground" {
	start_recvpidfd
	set_args sleep 100
	id=$(new_id)
	run_detached "$id" --pidfd-socket "$TEST_DIR/pidfd.sock"
	wait_for grep -q "^pid " "$TEST_DIR/pidfd.out"
	[ "$(head -1 "$TEST_DIR/pidfd.out")" = "pid $(container_pid "$id")" ]
	berth kill "$id" KILL
	wait_for pid_gone "$RECV_PID"
	[ "$(tail -1 "$TEST_DIR/pidfd.out")" = exited ]

	rm -f "$TEST_DIR/pidfd.sock" "$TEST_DIR/recvpidfd.pid"
	start_recvpidfd
	set_args sh -c 'exit 5'
	id2=$(new_id)
	run berth run --pidfd-socket "$TEST_DIR/pidfd.sock" "$id2"
	[ "$status" -eq 5 ]
	wait_for pid_gone "$RECV_PID"
	grep -q "^pid [0-9]" "$TEST_DIR/pidfd.out"
	[ "$(tail -1 "$TEST_DIR/pidfd.out")" = exited ]
}

@test "--pidfd-socket to a socket nobody listens on fails and leaves nothing" {
	id=$(new_id)
	run berth create --pidfd-socket "$TEST_DIR/nobody.sock" "$id"
	[ "$status" -ne 0 ]
	[[ "$output" == *pidfd-socket* ]]
	[ ! -e "$BERTH_ROOT/$id" ]
}

# orphan_parent_is_berth: run a container without a pid namespace whose
# init orphans a sleep, and tell whether the sleep was reparented to berth.
orphan_parent_comm() {
	update_config '.linux.namespaces |= map(select(.type != "pid"))'
	add_shared_dir
	set_args sh -c '(sleep 30 & echo $! >/shared/orphan); sleep 0.3
		awk "/^PPid:/ { print \$2 }" /proc/$(cat /shared/orphan)/status >/shared/ppid
		cat /proc/$(cat /shared/ppid)/comm; exit 6'
	id=$(new_id)
	run berth run "$@" "$id"
	[ "$status" -eq 6 ]
}

@test "run adopts what a container without a pid namespace orphans (child subreaper)" {
	orphan_parent_comm
	[ "$output" = berth ]
}

@test "run --no-subreaper: orphans go elsewhere, and the exit status is still berth's" {
	orphan_parent_comm --no-subreaper
	[ "$output" != berth ]
	# In a new pid namespace (the stub forks the init) the status comes through.
	update_config '.linux.namespaces += [{"type": "pid"}]'
	set_args sh -c 'exit 7'
	id=$(new_id)
	run berth run --no-subreaper "$id"
	[ "$status" -eq 7 ]
	run berth run --no-subreaper --keep "$id"
	[ "$status" -eq 7 ]
	testcontainer "$id" stopped
}
