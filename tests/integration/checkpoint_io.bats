#!/usr/bin/env bats
# checkpoint and restore of what a container holds besides its memory:
# lazy pages served over loopback, TCP connections, an external unix socket,
# a terminal, cgroup limits, restore-time hooks. Each test checks that the
# state survived, not only the exit codes. Needs a working criu on PATH.

load helpers
load criu

setup_file() {
	berth_setup_file
	build_recvtty
}
teardown_file() { berth_teardown_file; }
setup() {
	berth_setup
	criu check >/dev/null 2>&1 || skip "no working criu on PATH (scripts/install-criu.sh)"
	setup_bundle
	update_config '.root.readonly = false'
	IMG="$TEST_DIR/img"
}
teardown() {
	# The lazy-pages test raises fs.pipe-max-size; put it back.
	if [ -s "${TEST_DIR:-/nonexistent}/pipe-max-size" ]; then
		cat "$TEST_DIR/pipe-max-size" >/proc/sys/fs/pipe-max-size
	fi
	berth_teardown
}

# allow_lazy_pipes: raise fs.pipe-max-size to the 4 MiB CRIU's page server
# needs, unless this shell has CAP_SYS_RESOURCE; teardown puts it back.
allow_lazy_pipes() {
	has_cap_sys_resource && return 0
	[ "$(cat /proc/sys/fs/pipe-max-size)" -lt 4194304 ] || return 0
	cat /proc/sys/fs/pipe-max-size >"$TEST_DIR/pipe-max-size"
	echo 4194304 >/proc/sys/fs/pipe-max-size
}

# has_cap_sys_resource: this shell has CAP_SYS_RESOURCE (bit 24).
has_cap_sys_resource() {
	local eff
	eff=$(awk '/^CapEff:/ {print $2}' /proc/self/status)
	(( (16#$eff >> 24) & 1 ))
}

# rootfs_file NAME: a file of the container's /tmp, from the host.
rootfs_file() { cat "$BUNDLE/rootfs/tmp/$1" 2>/dev/null; }
file_has() { grep -q -- "$2" "$1" 2>/dev/null; }

lazy_dump_ended() {
	[ -s "$TEST_DIR/lazy.rc" ] || grep -q 'Lazy pages transfer FAILED' "$IMG/dump.log" 2>/dev/null
}




# free_port: a loopback TCP port nothing listens on now.
free_port() {
	local p
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 20000))
		ss -Htln "sport = :$p" 2>/dev/null | grep -q . || { echo "$p"; return 0; }
	done
	return 1
}

@test "lazy pages: checkpoint --lazy-pages with a page server on loopback, restore --lazy-pages keeps counting" {
	criu check --feature uffd-noncoop >/dev/null 2>&1 || skip "no userfaultfd with non-cooperative events here"
	set_args sh -c "$COUNTER"
	id=$(new_id)
	start_counter "$id"
	port=$(free_port)
	mkdir -p "$IMG"

	# CRIU's page server sizes its pipes to 4 MiB; without CAP_SYS_RESOURCE
	# that takes fs.pipe-max-size >= 4 MiB, or CRIU (ignoring the failed
	# F_SETPIPE_SZ) fails its first page request with "page-pipe: splice:
	# -1: Bad file descriptor". berth says so before freezing anything.
	if ! has_cap_sys_resource && [ "$(cat /proc/sys/fs/pipe-max-size)" -lt 4194304 ]; then
		run berth checkpoint --lazy-pages --page-server "127.0.0.1:$port" --image-path "$IMG" "$id"
		[ "$status" -ne 0 ]
		berth_only
		[[ "$output" == *"fs.pipe-max-size is"*"sysctl -w fs.pipe-max-size=4194304"* ]]
		testcontainer "$id" running
		[ ! -e "$IMG/inventory.img" ]
	fi
	allow_lazy_pipes

	# The dumping side stays up, serving pages, until the restored tree has
	# them all; it writes \0 to --status-fd once it listens.
	(rc=0
	berth checkpoint --lazy-pages --page-server "127.0.0.1:$port" --status-fd 5 \
		--image-path "$IMG" "$id" 5>"$TEST_DIR/lazy.status" \
		</dev/null >"$TEST_DIR/lazy.out" 2>&1 3>&- || rc=$?
	echo $rc >"$TEST_DIR/lazy.rc") &
	track_pid $!
	WAIT_TIMEOUT=20 wait_for test -s "$TEST_DIR/lazy.status"
	[ "$(od -An -c "$TEST_DIR/lazy.status" | tr -d ' ')" = '\0' ]
	[ -e "$IMG/inventory.img" ]
	stopped_at=$(count)
	sleep 0.3
	[ "$(count)" -eq "$stopped_at" ] # frozen while its pages wait

	criu lazy-pages --page-server --address 127.0.0.1 --port "$port" --images-dir "$IMG" \
		-o "$TEST_DIR/lazy-daemon.log" </dev/null >/dev/null 2>&1 3>&- &
	track_pid $!
	id2=$(new_id)
	(rc=0
	berth restore --detach --lazy-pages --bundle "$BUNDLE" --image-path "$IMG" "$id2" \
		</dev/null >"$TEST_DIR/restore.out" 2>&1 3>&- || rc=$?
	echo $rc >"$TEST_DIR/restore.rc") &
	track_pid $!
	WAIT_TIMEOUT=30 wait_for lazy_dump_ended
	[ "$(cat "$TEST_DIR/lazy.rc")" -eq 0 ] || { cat "$TEST_DIR/lazy.out" >&2; false; }
	WAIT_TIMEOUT=10 wait_for test -s "$TEST_DIR/restore.rc"
	[ "$(cat "$TEST_DIR/restore.rc")" -eq 0 ] || { cat "$TEST_DIR/restore.out" >&2; false; }
	testcontainer "$id" stopped
	testcontainer "$id2" running
	wait_for count_above "$stopped_at"
	[ "$(count)" -lt $((stopped_at + 60)) ] # from where it stopped
	run berth exec "$id2" cat /tmp/count
	[ "$status" -eq 0 ] && [ "$output" -gt "$stopped_at" ]
}

@test "a TCP connection inside the container survives checkpoint/restore with --tcp-established" {
	# A server and a client in the container's own network namespace; the
	# host feeds the client's input file and reads what the server got.
	# Bringing lo up takes CAP_NET_ADMIN (in the container's namespace);
	# the server's stdin must not end (busybox nc quits on its EOF).
	update_config '.process.capabilities |= with_entries(.value += ["CAP_NET_ADMIN"])'
	set_args sh -c 'exec </dev/null >/dev/null 2>&1
		ip link set lo up || exit 1
		: >/tmp/cli.in
		tail -f /dev/null | nc -l -p 5555 >/tmp/srv.out &
		sleep 0.3
		tail -f /tmp/cli.in | nc 127.0.0.1 5555 &
		wait'
	id=$(new_id)
	run_detached "$id"
	wait_for test -e "$BUNDLE/rootfs/tmp/cli.in"
	sleep 0.5
	echo before >>"$BUNDLE/rootfs/tmp/cli.in"
	WAIT_TIMEOUT=10 wait_for file_has "$BUNDLE/rootfs/tmp/srv.out" before
	pid=$(container_pid "$id")
	[ "$(nsenter -t "$pid" -n ss -Htn state established | wc -l)" -eq 2 ] # both ends

	run berth checkpoint --image-path "$IMG" "$id"
	[ "$status" -ne 0 ] # an established connection needs the flag
	testcontainer "$id" running
	berth_only
	[[ "$output" == *"Connected TCP socket, consider using --tcp-established option"* ]]

	rm -rf "$IMG"
	# (CRIU before 4.2 fails here on kernels >= 6.16, which refuse
	# SO_PASSCRED on TCP sockets: scripts/install-criu.sh installs 4.2.)
	run berth checkpoint --tcp-established --image-path "$IMG" "$id"
	ok_or_show
	testcontainer "$id" stopped
	restore_detached "$id" --tcp-established
	ok_or_show
	testcontainer "$id" running
	echo after >>"$BUNDLE/rootfs/tmp/cli.in"
	# nc -l took one connection only: "after" came over the restored one.
	WAIT_TIMEOUT=10 wait_for file_has "$BUNDLE/rootfs/tmp/srv.out" after
	[ "$(cat "$BUNDLE/rootfs/tmp/srv.out")" = "before
after" ]
}

@test "a terminal is restored through --console-socket and its output goes on in the new pty" {
	update_config '.process.terminal = true'
	set_args sh -c 'i=0; while :; do i=$((i+1)); echo "tick $i"; echo $i >/tmp/count.t; mv /tmp/count.t /tmp/count; sleep 0.1; done'
	start_recvtty single --no-stdin
	id=$(new_id)
	run_detached "$id" --console-socket "$CONSOLE_SOCKET"
	wait_for count_above 3
	wait_for file_has "$TEST_DIR/tty.out" "tick 3"

	run berth checkpoint --image-path "$IMG" "$id"
	ok_or_show
	testcontainer "$id" stopped
	wait_for pid_gone "$RECVTTY_PID" # the old pty is gone
	stopped_at=$(count)
	mv "$TEST_DIR/tty.out" "$TEST_DIR/tty.before"

	# The terminal's master is outside the container: without a socket
	# to send the new one to, restore refuses before it starts.
	run berth restore --detach --bundle "$BUNDLE" --image-path "$IMG" "$id"
	[ "$status" -ne 0 ]
	berth_only
	[[ "$output" == *"--console-socket"* ]]

	start_recvtty single --no-stdin
	restore_detached "$id" --console-socket "$CONSOLE_SOCKET"
	ok_or_show
	testcontainer "$id" running
	# The counter goes on from where it stopped, through the new pty.
	next=$((stopped_at + 2))
	WAIT_TIMEOUT=10 wait_for file_has "$TEST_DIR/tty.out" "tick $next"
	! grep -q "tick 1$(printf '\r')\$" "$TEST_DIR/tty.out"
	# Its stdio is a terminal again: the slave of the pty whose master
	# recvtty got (a new pty, not the dumped one).
	pid=$(container_pid "$id")
	[[ "$(readlink "/proc/$pid/fd/1")" == /dev/pts/* ]]
	run berth exec "$id" sh -c 'tty <&0 </proc/1/fd/0'
	[ "$status" -eq 0 ] && [[ "$output" == /dev/pts/* ]]
}

# cg_value ID CONTROLLER FILE: FILE of the container's cgroup, from the host.
cg_value() {
	local dir
	dir=$(berth state "$1" | jq -r --arg c "$2" '.cgroup_paths[$c] // .cgroupPaths[$c] // empty' 2>/dev/null)
	if [ -z "$dir" ]; then
		local pid
		pid=$(container_pid "$1")
		dir="/sys/fs/cgroup/$2$(awk -F: -v c="$2" '$2 == c {print $3}' "/proc/$pid/cgroup")"
	fi
	cat "$dir/$3"
}

# checkpoint_restore_mode MODE: checkpoint a counter and restore it under a
# new id ($id2), both with --manage-cgroups-mode MODE.
checkpoint_restore_mode() {
	IMG="$TEST_DIR/img-$1"
	id=$(new_id)
	run_detached "$id"
	wait_for count_above 3
	run berth checkpoint --manage-cgroups-mode "$1" --image-path "$IMG" "$id"
	ok_or_show
	testcontainer "$id" stopped
	at=$(count)
	id2=$(new_id)
	restore_detached "$id2" --manage-cgroups-mode "$1"
}

@test "cgroup limits survive restore with --manage-cgroups-mode soft, full and ignore; strict says why not" {
	update_config '.linux.resources.pids = {"limit": 123} | .linux.resources.memory = {"limit": 67108864}'
	set_args sh -c "$COUNTER"
	for mode in soft full ignore; do
		checkpoint_restore_mode "$mode"
		ok_or_show
		testcontainer "$id2" running
		wait_for count_above "$at"
		# The restored tree is in the new container's own cgroups with
		# config.json's limits: berth makes them and puts criu there
		# before the restore (soft: CRIU leaves existing cgroups' values;
		# full: CRIU writes the dumped ones, the same here; ignore: CRIU
		# neither dumps nor restores cgroups, berth's are all there is).
		pid=$(container_pid "$id2")
		grep -q "pids:.*/$id2\$" "/proc/$pid/cgroup"
		grep -q "memory:.*/$id2\$" "/proc/$pid/cgroup"
		[ "$(cg_value "$id2" pids pids.max)" = 123 ]
		[ "$(cg_value "$id2" memory memory.limit_in_bytes)" = 67108864 ]
		run berth exec "$id2" cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/memory/memory.limit_in_bytes
		[ "$status" -eq 0 ] && [ "$output" = "123
67108864" ]
		berth delete -f "$id"
		berth delete -f "$id2"
		[ -z "$(cgroups_named "$id2")" ]
	done

	# strict: CRIU makes every cgroup itself and refuses existing ones;
	# the container's cgroups exist before (as with runc), so it fails,
	# quoting CRIU, and leaves nothing. The image restores in soft mode.
	checkpoint_restore_mode strict
	[ "$status" -ne 0 ]
	[ -z "$(berth list -q | grep -x "$id2")" ]
	[ -z "$(cgroups_named "$id2")" ]
	berth_only
	[[ "$output" == *"Error (criu/cgroup.c"*"Abort restore of existing cgroups"* ]]
	restore_detached "$id2" --manage-cgroups-mode soft
	ok_or_show
	wait_for count_above "$at"
	[ "$(cg_value "$id2" pids pids.max)" = 123 ]

	run berth checkpoint --manage-cgroups-mode bogus --image-path "$IMG" "$id2"
	[ "$status" -ne 0 ]
	[[ "$output" == *"--manage-cgroups-mode"*"soft, full, strict, ignore"* ]]
}

@test "restore runs the prestart and createRuntime hooks, as runc does, with the restored pid" {
	set_args sh -c "$COUNTER"
	id=$(new_id)
	run_detached "$id"
	wait_for count_above 3
	run berth checkpoint --image-path "$IMG" "$id"
	ok_or_show

	# The hooks are read from the config restore is given.
	update_config '.hooks = {prestart: [$h], createRuntime: [$h]}' \
		--argjson h "$(jq -n --arg log "$TEST_DIR/hooks.log" \
			'{path: "/bin/sh", args: ["sh", "-c", "cat >>\($log); echo >>\($log)"]}')"
	restore_detached "$id"
	ok_or_show
	testcontainer "$id" running
	pid=$(container_pid "$id")
	[ "$(grep -c . "$TEST_DIR/hooks.log")" -eq 2 ] # each ran once
	while read -r line; do
		[ "$(jq -r .id <<<"$line")" = "$id" ]
		[ "$(jq -r .pid <<<"$line")" = "$pid" ]
		[ "$(jq -r .bundle <<<"$line")" = "$BUNDLE" ]
	done <"$TEST_DIR/hooks.log"
	berth delete -f "$id"

	# A failing hook fails the restore, which leaves nothing.
	update_config '.hooks = {createRuntime: [{path: "/bin/sh", args: ["sh", "-c", "echo no >&2; exit 3"]}]}'
	restore_detached "$id"
	[ "$status" -ne 0 ]
	berth_only
	[[ "$output" == *"hooks.createRuntime[0]"* ]]
	assert_no_trace "$id"
}

# build_dgram_sender: $TEST_DIR/rootfs binary /bin/dgram-send (static Go):
# dgram-send PATH connects a unix datagram socket to PATH and, every 50 ms,
# counts on: writes the count to /tmp/count (by rename) and sends it to PATH.
build_dgram_sender() {
	local go src="$TEST_DIR/dgram-send"
	go=$(command -v go || echo /usr/local/go/bin/go)
	mkdir -p "$src"
	cat >"$src/main.go" <<'GO'
package main

import (
	"net"
	"os"
	"strconv"
	"time"
)

func main() {
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: os.Args[1], Net: "unixgram"})
	if err != nil {
		os.Exit(1)
	}
	for i := 1; ; i++ {
		s := strconv.Itoa(i) + "\n"
		// A whole number even if it is frozen mid-way.
		os.WriteFile("/tmp/count.new", []byte(s), 0o644)
		os.Rename("/tmp/count.new", "/tmp/count")
		c.Write([]byte(s))
		time.Sleep(50 * time.Millisecond)
	}
}
GO
	(cd "$src" && printf 'module dgramsend\n\ngo 1.21\n' >go.mod &&
		CGO_ENABLED=0 GOFLAGS=-mod=mod "$go" build -o "$BUNDLE/rootfs/bin/dgram-send" .)
}

@test "a unix socket connected to the host survives checkpoint/restore with --ext-unix-sk" {
	# The host binds a datagram socket in a directory the container gets
	# at the same path (CRIU reconnects to the peer's name, the host's);
	# the container's counter sends each number over its connected socket.
	# CRIU finds a socket's peer through sock_diag of the dumped network
	# namespace: the container shares the host's.
	update_config '.linux.namespaces |= map(select(.type != "network"))'
	build_dgram_sender
	sock="$TEST_DIR/ext/ext.sock"
	mkdir -m 0777 -p "$TEST_DIR/ext"
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as out:
    while True:
        out.write(s.recv(64).decode())
' "$sock" "$TEST_DIR/got" </dev/null >/dev/null 2>&1 3>&- &
	track_pid $!
	wait_for test -S "$sock"
	update_config '.mounts += [{"destination": $d, "type": "bind", "source": $d, "options": ["rbind", "rw"]}]' \
		--arg d "$TEST_DIR/ext"
	set_args sh -c 'exec </dev/null >/dev/null 2>&1; exec /bin/dgram-send "$0"' "$sock"
	id=$(new_id)
	run_detached "$id"
	wait_for count_above 5
	wait_for file_has "$TEST_DIR/got" '^5$'

	# Its peer is outside the container: CRIU refuses without the flag,
	# and the container goes on.
	run berth checkpoint --image-path "$IMG" "$id"
	[ "$status" -ne 0 ]
	berth_only
	[[ "$output" == *"Error (criu/sk-unix.c"*"External socket is used. Consider using --ext-unix-sk option."* ]]
	testcontainer "$id" running
	rm -rf "$IMG"

	run berth checkpoint --ext-unix-sk --image-path "$IMG" "$id"
	ok_or_show
	testcontainer "$id" stopped
	stopped_at=$(count)
	last=$(tail -n1 "$TEST_DIR/got")
	# (it may have been stopped between writing the count and sending it)
	[ "$last" -le "$stopped_at" ] && [ "$last" -ge $((stopped_at - 1)) ]
	sleep 0.3
	[ "$(tail -n1 "$TEST_DIR/got")" -eq "$last" ] # nothing sent while it is on disk

	restore_detached "$id" --ext-unix-sk
	ok_or_show
	testcontainer "$id" running
	# The restored socket is connected to the same host socket: the
	# numbers go on arriving, from where they stopped.
	wait_for file_has "$TEST_DIR/got" "^$((stopped_at + 5))\$"
	[ "$(grep -c "^1\$" "$TEST_DIR/got")" -eq 1 ] # never restarted
	run berth exec "$id" cat /tmp/count
	[ "$status" -eq 0 ] && [ "$output" -gt "$stopped_at" ]
}

@test "SIGTERM to checkpoint kills criu: the container is thawed and goes on running" {
	# A lazy dump waits, its tree frozen, until its pages are fetched:
	# the test signals berth then.
	allow_lazy_pipes
	set_args sh -c "$COUNTER"
	id=$(new_id)
	start_counter "$id"
	port=$(free_port)
	mkdir -p "$IMG"
	"$BERTH" --root "$BERTH_ROOT" checkpoint --lazy-pages --page-server "127.0.0.1:$port" \
		--status-fd 5 --image-path "$IMG" "$id" 5>"$TEST_DIR/lazy.status" \
		</dev/null >"$TEST_DIR/ck.out" 2>&1 3>&- &
	berth_pid=$!
	track_pid "$berth_pid"
	WAIT_TIMEOUT=20 wait_for test -s "$TEST_DIR/lazy.status"
	stopped_at=$(count)
	sleep 0.3
	[ "$(count)" -eq "$stopped_at" ] # frozen
	term_interrupts "$berth_pid" "$TEST_DIR/ck.out"
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/cwd" 2>/dev/null)" = "$IMG" ] || continue
		! grep -q criu "$p/cmdline" 2>/dev/null
	done
	testcontainer "$id" running
	wait_for count_above $((stopped_at + 5)) # thawed, counting on
	run berth exec "$id" true
	[ "$status" -eq 0 ]
}
