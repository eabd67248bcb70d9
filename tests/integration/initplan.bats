#!/usr/bin/env bats
# The init plan: for common configs the C stub sets the container up and
# execs its process itself, without starting a Go runtime in the container
# (nsenter/plan.c). BERTH_GO_INIT=1 makes berth use the Go init for
# everything; the container must look the same either way.

load helpers

setup_file() { berth_setup_file; }
teardown_file() { berth_teardown_file; }
setup() {
	berth_setup
	setup_bundle
}
teardown() { berth_teardown; }

# threads_of PID: the Threads: line of /proc/PID/status.
threads_of() {
	awk '$1 == "Threads:" { print $2 }' "/proc/$1/status"
}

@test "initplan: a created container's init is the C stub, one thread, no Go runtime" {
	berth_only
	set_args /bin/true
	local id pid
	id="$(new_id)"
	create_container "$id"
	pid="$(container_pid "$id")"
	[ "$(threads_of "$pid")" = 1 ]
	berth delete -f "$id"

	# The Go init, for comparison: a Go runtime has several threads.
	id="$(new_id)"
	BERTH_GO_INIT=1 create_container "$id"
	pid="$(container_pid "$id")"
	[ "$(threads_of "$pid")" -gt 1 ]
}

# A config using what the plan expresses: binds (file and directory, ro,
# propagation, a recursive option), the cgroup mount, devices, sysctl,
# masked and readonly paths, a read-only root, hostname and domainname,
# rlimits, a cwd to create, a user with groups and umask, fewer
# capabilities, no_new_privs, seccomp, socket activation fds.
rich_config() {
	mkdir -p "$TEST_DIR/hostdir/sub"
	echo hello >"$TEST_DIR/hostfile"
	update_config '
		.mounts += [
			{"destination": "/mnt/file", "type": "bind", "source": $f, "options": ["ro", "rprivate"]},
			{"destination": "/mnt/dir", "type": "bind", "source": $d, "options": ["rbind", "rro", "nosuid"]},
			{"destination": "/work", "type": "tmpfs", "source": "tmpfs", "options": ["mode=1777"]}
		]
		| .root.readonly = true
		| .hostname = "planbox" | .domainname = "plan.example"
		| .linux.sysctl = {"net.ipv4.ip_forward": "1", "kernel.msgmax": "9000"}
		| .linux.devices = [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229,
			"fileMode": 432, "uid": 5, "gid": 6}]
		| .linux.maskedPaths += ["/etc/group"]
		| .linux.readonlyPaths += ["/tmp"]
		| .process.rlimits = [{"type": "RLIMIT_NOFILE", "soft": 321, "hard": 654},
			{"type": "RLIMIT_NPROC", "soft": 100, "hard": 200}]
		| .process.cwd = "/work/here"
		| .process.user = {"uid": 1000, "gid": 1000, "additionalGids": [5, 6], "umask": 63}
		| .process.env = ["PATH=/bin", "FOO=bar"]
		| .process.capabilities = {"bounding": ["CAP_CHOWN", "CAP_KILL"],
			"effective": ["CAP_KILL"], "permitted": ["CAP_KILL"], "inheritable": ["CAP_KILL"],
			"ambient": ["CAP_KILL"]}
		| .process.noNewPrivileges = true
		| .linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
			"syscalls": [{"names": ["mkdirat", "mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}
	' --arg f "$TEST_DIR/hostfile" --arg d "$TEST_DIR/hostdir"
	# What the container reports: its mounts (ids, majors and host
	# paths left out), credentials, limits, names, cwd, environment,
	# umask, /dev and what seccomp does to mkdir.
	set_args /bin/sh -c '
		awk "{ for (i = 1; \$i != \"-\"; i++) ; print \$5, \$6, \$(i+1), \$(i+3) }" /proc/self/mountinfo
		grep -E "^(Uid|Gid|Groups|Cap|NoNewPrivs|Seccomp:)" /proc/self/status
		ulimit -n; ulimit -Hn; ulimit -u
		hostname; cat /proc/sys/kernel/domainname /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/msgmax
		pwd; env | grep -v "^PWD=\|^SHLVL=" | sort; umask
		ls -ln /dev | awk "{ print \$1, \$3, \$4, \$5, \$6, \$NF }"
		cat /mnt/file; ls /mnt/dir; wc -c </etc/group
		mkdir /work/here/x 2>&1; ls -d /sys/fs/cgroup/*
		readlink /proc/$$/fd/3'
}

# same_from_both_inits: run the bundle (fd 3 preserved) through the C init,
# then the Go init; what the two print must be the same. out_c holds it.
same_from_both_inits() {
	run -0 berth run --preserve-fds 1 "$(new_id)" 3</dev/null
	out_c="$output"
	run -0 env BERTH_GO_INIT=1 "$BERTH" --root "$BERTH_ROOT" run --preserve-fds 1 "$(new_id)" 3</dev/null
	diff <(echo "$output") <(echo "$out_c")
}

@test "initplan: the C init and the Go init make the same container" {
	berth_only
	rich_config
	local out_c
	same_from_both_inits
	# and it is what was asked for
	[[ "$out_c" == *"planbox"* && "$out_c" == *"plan.example"* ]]
	[[ "$out_c" == *"Uid:	1000	1000	1000	1000"* && "$out_c" == *"Groups:	5 6"* ]]
	[[ "$out_c" == *"CapAmb:	0000000000000020"* && "$out_c" == *"NoNewPrivs:	1"* ]]
	[[ "$out_c" == *"/work/here"* && "$out_c" == *"HOME=/"* && "$out_c" == *"FOO=bar"* ]]
	[[ "$out_c" == *"Operation not permitted"* ]]
	grep -qx '321' <<<"$out_c"
	grep -qx 'crw-rw---- 5 6 10, 229 fuse' <<<"$out_c"
	grep -q '^/ ro,' <<<"$out_c"
	grep -q '^/mnt/file ro,' <<<"$out_c"
}

@test "initplan: in a user namespace too, the C init and the Go init make the same container" {
	# Devices are bound from the host there (mknod is not allowed), the
	# mounts' locked flags are kept, the ids are mapped.
	berth_only
	rich_config
	# the rootfs belongs to the host's root: the mount points must exist
	mkdir -p "$BUNDLE/rootfs/"{proc,dev,sys,mnt/dir,work}
	touch "$BUNDLE/rootfs/mnt/file"
	update_config '.linux.namespaces += [{"type": "user"}]
		| .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]'
	local out_c id pid
	same_from_both_inits
	[[ "$out_c" == *"Uid:	1000	1000	1000	1000"* && "$out_c" == *"planbox"* ]]
	# the host's node, with the host's mode, owned by an unmapped id
	grep -qx 'crw------- 65534 65534 10, 229 fuse' <<<"$out_c"

	set_args /bin/sleep 100
	id="$(new_id)"
	create_container "$id"
	pid="$(container_pid "$id")"
	[ "$(threads_of "$pid")" = 1 ]
}

@test "initplan: prestart and createRuntime hooks: the C init stops for them before its pivot" {
	# The parent runs them while the stub waits (OP_HOOKS); until the
	# pivot, the init's root is the host's "/".
	berth_only
	update_config '(["sh", "-c", "pid=$(jq -r .pid); if [ /proc/$pid/root -ef / ]; then echo before pivot;"
		+ " else echo after pivot; fi >>" + $out]) as $args
		| .hooks = {prestart: [{path: "/bin/sh", args: $args}], createRuntime: [{path: "/bin/sh", args: $args}]}' \
		--arg out "$TEST_DIR/hooks"
	set_args /bin/sleep 100
	local id pid
	id="$(new_id)"
	create_container "$id"
	pid="$(container_pid "$id")"
	[ "$(threads_of "$pid")" = 1 ]
	cat "$TEST_DIR/hooks"
	[ "$(cat "$TEST_DIR/hooks")" = "before pivot"$'\n'"before pivot" ]
	! [ "/proc/$pid/root" -ef / ]
}

@test "initplan: socket activation fds and LISTEN_PID from the C init" {
	berth_only
	set_args /bin/sh -c 'echo "$LISTEN_FDS $LISTEN_PID"; readlink /proc/$$/fd/3'
	# berth must be the process LISTEN_PID names
	run -0 bash -c 'export LISTEN_FDS=1 LISTEN_PID=$$; exec "$BERTH" --root "$BERTH_ROOT" run "$1" 3</dev/null' \
		_ "$(new_id)"
	[ "${lines[0]}" = "1 1" ]
	[ "${lines[1]}" = /dev/null ]
}

@test "initplan: a seccomp profile refusing close_range still gets no extra fd into the process" {
	berth_only
	# The filter is loaded before the fds are marked close-on-exec; the
	# init then walks /proc/self/fd instead.
	update_config '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
		"syscalls": [{"names": ["close_range"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}'
	set_args /bin/sh -c 'ls /proc/$$/fd | tr "\n" " "'
	run -0 berth run "$(new_id)" 3</dev/null 4</dev/null
	[ "$output" = "0 1 2 " ]
}

@test "initplan: a terminal from the C init is the one the Go init made" {
	berth_only
	command -v script >/dev/null || skip "no script(1)"
	update_config '.process.terminal = true | .process.consoleSize = {"height": 33, "width": 101}'
	# the tty, onlcr, the controlling terminal, /dev/console, the fds
	# (consoleSize: tty.bats, through a console socket)
	set_args sh -c 'tty; stty -a | grep -o -- "-*onlcr"
		[ "$(awk "{print \$7}" /proc/self/stat)" != 0 ] && echo has-ctty
		awk "\$5 == \"/dev/console\" { print \$5, \$6 }" /proc/self/mountinfo
		ls /proc/$$/fd | tr "\n" " "'
	local c go
	run_in_script "$(new_id)"
	c="$output"
	BERTH_GO_INIT=1 run_in_script "$(new_id)"
	go="$output"
	diff <(echo "$go") <(echo "$c")
	[[ "$c" == *"-onlcr"* && "$c" == *"has-ctty"* ]]
	[[ "$c" == *"/dev/console rw,"* ]]
}

@test "initplan: a terminal container's init is the C stub too" {
	berth_only
	update_config '.process.terminal = true'
	set_args /bin/true
	start_recvtty null
	local id pid
	id="$(new_id)"
	create_container "$id" --console-socket "$CONSOLE_SOCKET"
	pid="$(container_pid "$id")"
	[ "$(threads_of "$pid")" = 1 ]
}

@test "initplan: an exec'd process is set up by the C stub, the same as by the Go side" {
	berth_only
	update_config '.process.rlimits = [{"type": "RLIMIT_NOFILE", "soft": 321, "hard": 654}]
		| .process.env = ["PATH=/bin", "FOO=bar"]
		| .linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
			"syscalls": [{"names": ["mkdirat", "mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}'
	set_args sleep 100
	local id out_c out_go
	id="$(new_id)"
	run_detached "$id"
	# What the process reports: credentials, capabilities, no_new_privs,
	# seccomp, limits, cwd, environment, umask, fds, seccomp's effect.
	local report='grep -E "^(Uid|Gid|Groups|Cap|NoNewPrivs|Seccomp:)" /proc/self/status
		ulimit -n; ulimit -Hn; pwd; env | grep -v "^PWD=\|^SHLVL=" | sort; umask
		ls /proc/self/fd; readlink /proc/self/fd/3; mkdir /tmp/x 2>&1; true'
	run berth --debug exec --user 1000:1000 --additional-gids 5 --cap CAP_KILL --no-new-privs \
		--env BAR=baz --cwd /tmp --preserve-fds 1 "$id" sh -c "$report" 3</dev/null
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"the C stub sets the process up (exec plan"* ]]
	out_c="$(grep -v 'level=' <<<"$output")"
	run -0 env BERTH_GO_INIT=1 "$BERTH" --root "$BERTH_ROOT" --debug exec --user 1000:1000 \
		--additional-gids 5 --cap CAP_KILL --no-new-privs --env BAR=baz --cwd /tmp --preserve-fds 1 \
		"$id" sh -c "$report" 3</dev/null
	[[ "$output" == *"the Go side sets the process up"* ]]
	out_go="$(grep -v 'level=' <<<"$output")"
	diff <(echo "$out_go") <(echo "$out_c")
	# and it is what was asked for
	[[ "$out_c" == *"Uid:	1000	1000	1000	1000"* && "$out_c" == *"Groups:	5"* ]]
	[[ "$out_c" == *"NoNewPrivs:	1"* && "$out_c" == *"Operation not permitted"* ]]
	[[ "$out_c" == *"BAR=baz"* && "$out_c" == *"FOO=bar"* && "$out_c" == *"HOME=/"* ]]
	grep -qx 321 <<<"$out_c"
	grep -qx /tmp <<<"$out_c"
	grep -qx /dev/null <<<"$out_c"
}

@test "initplan: an exec'd process's errors come from the C stub as from the Go side" {
	berth_only
	set_args sleep 100
	local id
	id="$(new_id)"
	run_detached "$id"
	for goinit in "" 1; do
		run env BERTH_GO_INIT="$goinit" "$BERTH" --root "$BERTH_ROOT" exec --cwd /nonexistent "$id" true
		echo "$output"
		[ "$status" -ne 0 ]
		[[ "$output" == *'cwd: process.cwd "/nonexistent": no such file or directory'* ]]
		run env BERTH_GO_INIT="$goinit" "$BERTH" --root "$BERTH_ROOT" exec "$id" /no/such/program
		echo "$output"
		[ "$status" -eq 255 ]
		[[ "$output" == *'"/no/such/program"'*'no such file or directory'* ]]
	done
}
