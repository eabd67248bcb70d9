#!/usr/bin/env bats
# exec: a new process in a running container, with runc's flags.

load helpers

setup_file() {
	berth_setup_file
	build_recvtty
	build_recvpidfd
}
teardown_file() { berth_teardown_file; }
setup() {
	berth_setup
	setup_bundle
	update_config '.hostname = "exec-host" | .process.env += ["FROM_CONFIG=yes"]'
	set_args sleep 1000
	FROZEN_DIR=""
	SUB_CGROUPS=()
}
teardown() {
	# Thaw and remove what a failed test may have left before deleting.
	if [ -n "$FROZEN_DIR" ]; then
		echo THAWED >"$FROZEN_DIR/freezer.state" 2>/dev/null || true
	fi
	local id
	while read -r id; do
		berth delete -f "$id" >/dev/null 2>&1 || true
	done <"$TEST_DIR/ids"
	local d
	for d in "${SUB_CGROUPS[@]}"; do
		rmdir "$d" 2>/dev/null || true
	done
	berth_teardown
}

# build_recvpidfd: set RECVPIDFD to the tests/cmd/recvpidfd helper, built
# once per bats run.
build_recvpidfd() {
	local out="$RECORD_DIR/recvpidfd"
	if [ ! -x "$out" ]; then
		(cd "$REPO_DIR" && "$(command -v go || echo /usr/local/go/bin/go)" build -o "$out.tmp.$$" ./tests/cmd/recvpidfd) || return 1
		mv "$out.tmp.$$" "$out"
	fi
	RECVPIDFD="$out"
	export RECVPIDFD
}

# start_container: a running container ($ID) whose init is sleep.
start_container() {
	ID=$(new_id)
	run_detached "$ID"
	INIT_PID="$(container_pid "$ID")"
	wait_for comm_is "$INIT_PID" sleep
}

# freezer_dir PID: the v1 freezer cgroup directory of PID (host view).
freezer_dir() {
	local path
	path="$(awk -F: '$2 == "freezer" { print $3 }' "/proc/$1/cgroup")"
	[ -n "$path" ] || return 1
	echo "/sys/fs/cgroup/freezer$path"
}

# cgroup_of PID CONTROLLER: PID's v1 cgroup path for CONTROLLER.
cgroup_of() {
	awk -F: -v c="$2" '$2 == c { print $3 }' "/proc/$1/cgroup"
}

@test "exec: sees the container's hostname (uts namespace)" {
	start_container
	run berth exec "$ID" hostname
	[ "$status" -eq 0 ]
	[ "$output" = exec-host ]
}

@test "exec: joins the pid namespace: not pid 1, and pid 1 is the container's init" {
	start_container
	run berth exec "$ID" sh -c 'echo $$; cat /proc/1/comm; ls /proc | grep -c "^[0-9]"'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" != 1 ]
	[ "${lines[1]}" = sleep ]
	# init, sh, and the ls/grep pipeline: not the host's processes.
	[ "${lines[2]}" -le 5 ]
}

@test "exec: sees the container's mounts and rootfs, not the host's" {
	echo only-in-rootfs >"$BUNDLE/rootfs/marker"
	start_container
	run berth exec "$ID" sh -c "cat /marker; ls -d '$BUNDLE' 2>/dev/null || echo no-bundle"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = only-in-rootfs ]
	[ "${lines[1]}" = no-bundle ]
}

@test "exec: user from the config by default, --user uid:gid and --additional-gids" {
	start_container
	run berth exec "$ID" id -u
	[ "$status" -eq 0 ]
	[ "$output" = 0 ]
	run berth exec --user 1000:1000 "$ID" sh -c 'id -u; id -g'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 1000 ]
	[ "${lines[1]}" = 1000 ]
	run berth exec -u 1000:1000 -g 10 -g 20 "$ID" id -G
	[ "$status" -eq 0 ]
	[[ " $output " == *" 10 "* ]]
	[[ " $output " == *" 20 "* ]]
}

@test "exec: cwd is the config's by default, --cwd changes it, inside the container" {
	update_config '.process.cwd = "/root"'
	start_container
	run berth exec "$ID" pwd
	[ "$status" -eq 0 ]
	[ "$output" = /root ]
	run berth exec --cwd /tmp "$ID" sh -c 'pwd; ls -d /tmp/../marker-not-here 2>/dev/null; ls /tmp/..'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = /tmp ]
	# .. of the cwd is the container's /, not the host's.
	[[ " $(echo ${lines[@]:1}) " == *" bin "* ]]
	run berth exec --cwd /does-not-exist "$ID" true
	[ "$status" -eq 255 ]
}

@test "exec: env is the config's plus --env; --env replaces a config variable" {
	start_container
	run berth exec -e FOO=bar -e PATH=/bin "$ID" sh -c 'echo "$FOO $FROM_CONFIG $PATH"'
	[ "$status" -eq 0 ]
	[ "$output" = "bar yes /bin" ]
}

@test "exec: the exit status is the process's, 128+N after signal N" {
	start_container
	run berth exec "$ID" sh -c 'exit 7'
	[ "$status" -eq 7 ]
	run berth exec "$ID" sh -c 'kill -9 $$'
	[ "$status" -eq 137 ]
	run berth exec "$ID" true
	[ "$status" -eq 0 ]
	testcontainer "$ID" running
}

@test "exec: stdio passes through in the foreground" {
	start_container
	run berth exec "$ID" sh -c 'read line; echo "got $line"; echo to-stderr >&2' <<<"hello"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "got hello" ]
	[ "${lines[1]}" = to-stderr ]
}

@test "exec --detach --pid-file: the pid file exists when berth returns, the process runs" {
	start_container
	run berth_detached exec --detach --pid-file "$TEST_DIR/exec.pid" "$ID" sleep 1000
	[ "$status" -eq 0 ]
	[ -s "$TEST_DIR/exec.pid" ]
	pid="$(cat "$TEST_DIR/exec.pid")"
	pid_alive "$pid"
	wait_for comm_is "$pid" sleep
	# Same pid namespace and cgroup as the init.
	[ "$(readlink "/proc/$pid/ns/pid")" = "$(readlink "/proc/$INIT_PID/ns/pid")" ]
	[ "$(readlink "/proc/$pid/ns/mnt")" = "$(readlink "/proc/$INIT_PID/ns/mnt")" ]
	[ "$(cat "/proc/$pid/cgroup")" = "$(cat "/proc/$INIT_PID/cgroup")" ]
}

@test "exec: no fd of berth reaches the process" {
	start_container
	run berth exec "$ID" ls /proc/self/fd
	[ "$status" -eq 0 ]
	# 3 is ls's own directory fd.
	[ "$(echo $output)" = "0 1 2 3" ]
	run berth_detached exec -d --pid-file "$TEST_DIR/exec.pid" "$ID" sleep 1000
	[ "$status" -eq 0 ]
	pid="$(cat "$TEST_DIR/exec.pid")"
	wait_for comm_is "$pid" sleep
	[ "$(ls "/proc/$pid/fd" | sort -n | tr '\n' ' ')" = "0 1 2 " ]
}

@test "exec --preserve-fds 1 passes fd 3" {
	start_container
	echo "through fd 3" >"$TEST_DIR/fd3"
	run berth exec --preserve-fds 1 "$ID" cat /proc/self/fd/3 3<"$TEST_DIR/fd3"
	[ "$status" -eq 0 ]
	[ "$output" = "through fd 3" ]
}

@test "exec --tty --console-socket: the process runs on a pty" {
	start_container
	start_recvtty single --no-stdin
	run berth exec --tty --detach --console-socket "$CONSOLE_SOCKET" "$ID" \
		sh -c 'tty; [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo all-ttys'
	[ "$status" -eq 0 ]
	wait_recvtty
	[[ "${TTY_OUT%%$'\n'*}" =~ ^/dev/pts/[0-9]+$ ]]
	[ "${TTY_OUT#*$'\n'}" = all-ttys ]
}

@test "exec --tty in the foreground proxies the pty and keeps the exit status" {
	command -v script >/dev/null || skip "no script(1)"
	start_container
	local cmd
	printf -v cmd '%q ' "$BERTH" --root "$BERTH_ROOT" exec -t "$ID" \
		sh -c '[ -t 0 ] && [ -t 1 ] && echo is-a-tty; exit 4'
	run timeout -k 5 20 script -qec "$cmd" /dev/null </dev/null
	output="$(tr -d '\r\0' <<<"$output" | sed 's/\^@//g')"
	echo "status $status: $output"
	[ "$status" -eq 4 ]
	[ "$output" = is-a-tty ]
}

@test "exec --tty --detach without --console-socket fails" {
	start_container
	run berth exec -t -d "$ID" true
	[ "$status" -eq 255 ]
	berth_only
	[[ "$output" == *"--console-socket"* ]]
}

@test "exec --process runs the process.json" {
	start_container
	cat >"$TEST_DIR/process.json" <<-EOF
		{"args": ["sh", "-c", "echo \$FROM_FILE; pwd; id -u"], "cwd": "/tmp",
		 "env": ["FROM_FILE=file", "PATH=/bin"], "user": {"uid": 1000, "gid": 1000}}
	EOF
	run berth exec --process "$TEST_DIR/process.json" "$ID"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = file ]
	[ "${lines[1]}" = /tmp ]
	[ "${lines[2]}" = 1000 ]
}

@test "exec --process with an invalid field fails, naming the field" {
	start_container
	echo '{"args": [], "cwd": "/"}' >"$TEST_DIR/process.json"
	run berth exec --process "$TEST_DIR/process.json" "$ID"
	[ "$status" -eq 255 ]
	echo '{"args": ["true"], "cwd": "relative"}' >"$TEST_DIR/process2.json"
	run berth exec --process "$TEST_DIR/process2.json" "$ID"
	[ "$status" -eq 255 ]
	testcontainer "$ID" running
	berth_only
	run berth exec --process "$TEST_DIR/process.json" "$ID"
	[[ "$output" == *"process.json: args: must not be empty"* ]]
	run berth exec --process "$TEST_DIR/process2.json" "$ID"
	[[ "$output" == *"process.json: cwd: \"relative\" is not an absolute path"* ]]
}

@test "exec --cap adds a capability (CapEff)" {
	start_container
	# CAP_SYS_ADMIN is bit 21; runc's default config does not have it.
	run berth exec "$ID" sh -c 'grep CapEff /proc/self/status'
	[ "$status" -eq 0 ]
	[ $((0x${output##*:$'\t'} >> 21 & 1)) -eq 0 ]
	run berth exec --cap CAP_SYS_ADMIN "$ID" sh -c 'grep CapEff /proc/self/status'
	[ "$status" -eq 0 ]
	[ $((0x${output##*:$'\t'} >> 21 & 1)) -eq 1 ]
}

@test "exec --cap with an unknown capability fails" {
	start_container
	run berth exec --cap CAP_NOT_A_CAP "$ID" true
	[ "$status" -eq 255 ]
	berth_only
	[[ "$output" == *"CAP_NOT_A_CAP"* ]]
}

@test "exec --no-new-privs sets NoNewPrivs" {
	update_config '.process.noNewPrivileges = false'
	start_container
	run berth exec "$ID" grep NoNewPrivs /proc/self/status
	[ "$status" -eq 0 ]
	[ "$output" = $'NoNewPrivs:\t0' ]
	run berth exec --no-new-privs "$ID" grep NoNewPrivs /proc/self/status
	[ "$status" -eq 0 ]
	[ "$output" = $'NoNewPrivs:\t1' ]
}

@test "exec: the config's rlimits and seccomp filter apply to the process" {
	update_config '.root.readonly = false
		| .process.rlimits = [{"type": "RLIMIT_NOFILE", "soft": 777, "hard": 777}]
		| .linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
			"syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}'
	start_container
	run berth exec "$ID" sh -c 'ulimit -n; mkdir /tmp/x; echo "rc=$?"'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 777 ]
	[[ "$output" == *"rc=1"* ]]
}

@test "exec into a stopped container fails" {
	set_args true
	ID=$(new_id)
	run_detached "$ID"
	wait_for status_is "$ID" stopped
	run berth exec "$ID" true
	[ "$status" -eq 255 ]
	berth_only
	[[ "$output" == *"stopped"* ]]
}

@test "exec into a container that does not exist fails" {
	run berth exec nosuchcontainer true
	[ "$status" -eq 255 ]
}

@test "exec into a created container works (as runc), and it stays created" {
	ID=$(new_id)
	create_container "$ID"
	run berth exec "$ID" hostname
	[ "$status" -eq 0 ]
	[ "$output" = exec-host ]
	testcontainer "$ID" created
}

@test "exec --cgroup: a sub-cgroup of the container's; outside it is an error" {
	start_container
	local base
	base="$(cgroup_of "$INIT_PID" pids)"
	[ -n "$base" ] || skip "no v1 pids controller"
	SUB_CGROUPS+=("/sys/fs/cgroup/pids$base/sub")
	mkdir "/sys/fs/cgroup/pids$base/sub"
	run berth_detached exec -d --cgroup pids:sub --pid-file "$TEST_DIR/exec.pid" "$ID" sleep 1000
	[ "$status" -eq 0 ]
	pid="$(cat "$TEST_DIR/exec.pid")"
	[ "$(cgroup_of "$pid" pids)" = "$base/sub" ]
	[ "$(cgroup_of "$pid" memory)" = "$(cgroup_of "$INIT_PID" memory)" ]
	kill -9 "$pid"
	wait_for pid_gone "$pid"

	run berth exec --cgroup ../.. "$ID" true
	[ "$status" -eq 255 ]
	run berth exec --cgroup pids:../other "$ID" true
	[ "$status" -eq 255 ]
	run berth exec --cgroup pids:no-such-sub "$ID" true
	[ "$status" -eq 255 ]
	berth_only
	run berth exec --cgroup ../.. "$ID" true
	[[ "$output" == *"outside the container's cgroup"* ]]
}

@test "exec into a paused container fails without --ignore-paused" {
	start_container
	FROZEN_DIR="$(freezer_dir "$INIT_PID")" || skip "no v1 freezer"
	echo FROZEN >"$FROZEN_DIR/freezer.state"
	wait_for status_is "$ID" paused
	run berth exec "$ID" echo ok
	[ "$status" -eq 255 ]
	[[ "$output" == *"paused"* ]]
	echo THAWED >"$FROZEN_DIR/freezer.state"
	FROZEN_DIR=""
	run berth exec "$ID" echo ok
	[ "$status" -eq 0 ]
}

@test "exec --ignore-paused runs once the container is thawed" {
	start_container
	FROZEN_DIR="$(freezer_dir "$INIT_PID")" || skip "no v1 freezer"
	echo FROZEN >"$FROZEN_DIR/freezer.state"
	wait_for status_is "$ID" paused
	(
		sleep 1
		echo THAWED >"$FROZEN_DIR/freezer.state"
	) 3>&- &
	run berth exec --ignore-paused "$ID" echo ok
	wait
	[ "$status" -eq 0 ]
	[ "$output" = ok ]
}

@test "exec --pidfd-socket sends a pidfd of the process" {
	start_container
	"$RECVPIDFD" --pid-file "$TEST_DIR/recvpidfd.pid" "$TEST_DIR/pidfd.sock" \
		</dev/null >"$TEST_DIR/pidfd.out" 2>&1 3>&- &
	local helper=$!
	track_pid "$helper"
	wait_for test -s "$TEST_DIR/recvpidfd.pid"
	run berth_detached exec -d --pidfd-socket "$TEST_DIR/pidfd.sock" --pid-file "$TEST_DIR/exec.pid" "$ID" sleep 1000
	[ "$status" -eq 0 ]
	pid="$(cat "$TEST_DIR/exec.pid")"
	wait_for grep -q "^pid " "$TEST_DIR/pidfd.out"
	[ "$(head -1 "$TEST_DIR/pidfd.out")" = "pid $pid" ]
	kill -9 "$pid"
	wait_for pid_gone "$helper"
	[ "$(tail -1 "$TEST_DIR/pidfd.out")" = exited ]
}

@test "exec --apparmor and --process-label are refused: not supported" {
	start_container
	run berth exec --apparmor unconfined "$ID" true
	[ "$status" -eq 255 ]
	run berth exec --process-label system_u:system_r:container_t:s0 "$ID" true
	[ "$status" -eq 255 ]
	berth_only
	[[ "$output" == *"not supported"* ]]
}

@test "exec: flags after the command belong to the command" {
	start_container
	run berth exec "$ID" sh -c 'echo -c is an argument'
	[ "$status" -eq 0 ]
	[ "$output" = "-c is an argument" ]
	run berth exec "$ID" -- echo after-dashes
	[ "$status" -eq 0 ]
	[ "$output" = after-dashes ]
}

@test "exec: a missing executable fails with 255 and the container keeps running" {
	start_container
	run berth exec "$ID" /no/such/binary
	[ "$status" -eq 255 ]
	testcontainer "$ID" running
	berth_only
	[[ "$output" == *"/no/such/binary"* ]]
}

@test "exec joins a user namespace: root inside, uid 100000 outside" {
	mkdir -p "$BUNDLE/rootfs/proc" "$BUNDLE/rootfs/dev" "$BUNDLE/rootfs/sys"
	update_config '.linux.namespaces += [{"type": "user"}]
		| .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]'
	start_container
	run berth exec "$ID" sh -c 'id -u; cat /proc/self/uid_map'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 0 ]
	[ "$(echo ${lines[1]})" = "0 100000 65536" ]
	run berth_detached exec -d -u 1000 --pid-file "$TEST_DIR/exec.pid" "$ID" sleep 1000
	[ "$status" -eq 0 ]
	pid="$(cat "$TEST_DIR/exec.pid")"
	[ "$(readlink "/proc/$pid/ns/user")" = "$(readlink "/proc/$INIT_PID/ns/user")" ]
	[ "$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")" = 101000 ]
}

@test "exec joins a time namespace (the offsets of the container)" {
	[ -e /proc/self/ns/time ] || skip "no time namespaces"
	update_config '.linux.namespaces += [{"type": "time"}]
		| .linux.timeOffsets = {"boottime": {"secs": 86400000, "nanosecs": 0}}'
	start_container
	run berth exec "$ID" cat /proc/uptime
	[ "$status" -eq 0 ]
	# A thousand days of extra uptime.
	[ "${output%%.*}" -ge 86400000 ]
}

@test "exec into a container without a pid namespace" {
	update_config '.linux.namespaces |= map(select(.type != "pid"))'
	start_container
	run berth exec "$ID" sh -c 'echo $$'
	[ "$status" -eq 0 ]
	[ "$output" -gt 1 ]
	run berth exec "$ID" sh -c 'exit 9'
	[ "$status" -eq 9 ]
}

@test "exec in the foreground forwards signals to the process" {
	start_container
	berth exec "$ID" sh -c 'trap "echo got-term; exit 3" TERM; echo ready; while :; do sleep 0.1; done' \
		>"$TEST_DIR/out" 2>&1 3>&- &
	local exec_pid=$!
	track_pid "$exec_pid"
	wait_for grep -q ready "$TEST_DIR/out"
	# $exec_pid is the timeout(1) wrapper of the berth helper; signal berth.
	local berth_pid
	berth_pid="$(children_of "$exec_pid")"
	kill -TERM "$berth_pid"
	local rc=0
	wait "$exec_pid" || rc=$?
	cat "$TEST_DIR/out"
	[ "$rc" -eq 3 ]
	grep -q got-term "$TEST_DIR/out"
}

@test "exec: the config's oomScoreAdj applies to the exec'd process" {
	update_config '.process.oomScoreAdj = 123'
	start_container
	run berth exec "$ID" cat /proc/self/oom_score_adj
	[ "$status" -eq 0 ]
	[ "$output" = 123 ]
}

@test "exec --process: execCPUAffinity.final sets the process's CPUs" {
	[ "$(nproc)" -ge 2 ] || skip "needs 2 CPUs"
	start_container
	cat >"$TEST_DIR/process.json" <<-EOF
		{"args": ["sh", "-c", "grep Cpus_allowed_list /proc/self/status"], "cwd": "/",
		 "execCPUAffinity": {"initial": "0", "final": "1"}}
	EOF
	run berth exec --process "$TEST_DIR/process.json" "$ID"
	[ "$status" -eq 0 ]
	[ "$output" = $'Cpus_allowed_list:\t1' ]
	echo '{"args": ["true"], "cwd": "/", "execCPUAffinity": {"final": "x"}}' >"$TEST_DIR/bad.json"
	run berth exec --process "$TEST_DIR/bad.json" "$ID"
	[ "$status" -eq 255 ]
	berth_only
	[[ "$output" == *"process.json: execCPUAffinity.final"* ]]
}

@test "exec --ignore-paused does not hold the container's lock while frozen (berth resume works)" {
	berth resume --help >/dev/null 2>&1 || skip "no resume command"
	start_container
	run berth pause "$ID"
	[ "$status" -eq 0 ]
	FROZEN_DIR="$(freezer_dir "$INIT_PID")" || true
	(
		sleep 1
		berth resume "$ID"
	) 3>&- &
	run berth exec --ignore-paused "$ID" echo ok
	wait
	[ "$status" -eq 0 ]
	[ "$output" = ok ]
	testcontainer "$ID" running
}

# exec_orphan_parent ARGS...: exec into a container without a pid namespace
# a process that orphans a sleep; print the comm of the sleep's new parent.
exec_orphan_parent() {
	update_config '.linux.namespaces |= map(select(.type != "pid"))'
	set_args sleep 100
	id=$(new_id)
	run_detached "$id"
	run berth exec "$@" "$id" sh -c '(sleep 30 & echo $! >/tmp/orphan); sleep 0.3
		p=$(awk "/^PPid:/ { print \$2 }" /proc/$(cat /tmp/orphan)/status)
		cat /proc/$p/comm; kill $(cat /tmp/orphan); exit 5'
	[ "$status" -eq 5 ]
}

@test "exec adopts what the process orphans; --no-subreaper leaves it to the host" {
	update_config '.root.readonly = false'
	exec_orphan_parent
	[ "$output" = berth ]
	exec_orphan_parent --no-subreaper
	[ "$output" != berth ]
}
