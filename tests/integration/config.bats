#!/usr/bin/env bats
# What config.json asks for is what the process sees: mounts, /dev, devices,
# root.readonly, masked and readonly paths, rlimits, capabilities,
# noNewPrivileges, cgroups and the devices cgroup.

load helpers

setup_file() { berth_setup_file; }
teardown_file() { berth_teardown_file; }
setup() {
	berth_setup
	setup_bundle
}
teardown() { berth_teardown; }

# add_mount DEST TYPE SOURCE OPTIONS-JSON
add_mount() {
	update_config '.mounts += [{"destination": $d, "type": $t, "source": $s, "options": $o}]' \
		--arg d "$1" --arg t "$2" --arg s "$3" --argjson o "$4"
}

# mount_opts_of DEST: print the options field of DEST's line in $output (a
# /proc/mounts dump).
mount_opts_of() {
	awk -v d="$1" '$2 == d { print $4 }' <<<"$output" | tail -n1
}

# has_opt OPTS OPT: OPT is one of the comma-separated OPTS.
has_opt() {
	[[ ",$1," == *",$2,"* ]]
}

# --- mounts -----------------------------------------------------------------

@test "mounts: rw bind mount of a host dir" {
	mkdir -m 0777 "$TEST_DIR/data"
	echo from-host >"$TEST_DIR/data/in"
	add_mount /data bind "$TEST_DIR/data" '["rbind", "rw"]'
	set_args sh -c 'cat /data/in && echo from-container >/data/out'
	run berth run "$(new_id)"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = from-host ]
	[ "$(cat "$TEST_DIR/data/out")" = from-container ]
}

@test "mounts: ro bind mount refuses writes" {
	mkdir -m 0777 "$TEST_DIR/data"
	echo from-host >"$TEST_DIR/data/in"
	add_mount /data bind "$TEST_DIR/data" '["rbind", "ro"]'
	set_args sh -c 'cat /data/in; touch /data/out'
	run berth run "$(new_id)"
	echo "$output"
	[ "$status" -ne 0 ]
	[ "${lines[0]}" = from-host ]
	[[ "$output" == *"Read-only file system"* ]]
	[ ! -e "$TEST_DIR/data/out" ]
}

@test "mounts: bind mount of a single file" {
	echo "single file" >"$TEST_DIR/file.txt"
	add_mount /file.txt bind "$TEST_DIR/file.txt" '["bind", "ro"]'
	set_args sh -c '[ -f /file.txt ] && cat /file.txt'
	run berth run "$(new_id)"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "single file" ]
}

@test "mounts: tmpfs with size and mode" {
	add_mount /scratch tmpfs tmpfs '["size=1m", "mode=700"]'
	set_args sh -c 'stat -c %a /scratch; cat /proc/mounts'
	run berth run "$(new_id)"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 700 ]
	opts="$(mount_opts_of /scratch)"
	echo "opts: $opts"
	[ "$(awk '$2 == "/scratch" {print $3}' <<<"$output")" = tmpfs ]
	has_opt "$opts" size=1024k
	has_opt "$opts" mode=700
}

@test "mounts: nosuid, nodev, noexec on a tmpfs and a bind mount" {
	mkdir -m 0755 "$TEST_DIR/data"
	add_mount /t tmpfs tmpfs '["nosuid", "nodev", "noexec"]'
	add_mount /b bind "$TEST_DIR/data" '["rbind", "nosuid", "nodev", "noexec"]'
	set_args sh -c 'cat /proc/mounts; cp /bin/busybox /t/bb && /t/bb true'
	run berth run "$(new_id)"
	echo "$output"
	# Executing from the noexec tmpfs fails.
	[ "$status" -ne 0 ]
	[[ "$output" == *"Permission denied"* ]]
	for mnt in /t /b; do
		opts="$(mount_opts_of "$mnt")"
		echo "$mnt: $opts"
		has_opt "$opts" nosuid
		has_opt "$opts" nodev
		has_opt "$opts" noexec
	done
}

# --- /dev -------------------------------------------------------------------

@test "/dev: default devices are char devices with the right numbers" {
	set_args sh -c 'for d in null zero full random urandom tty; do
		[ -c /dev/$d ] && echo "$d $(stat -c %t:%T /dev/$d)" || echo "$d missing"; done'
	run berth run "$(new_id)"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "null 1:3
zero 1:5
full 1:7
random 1:8
urandom 1:9
tty 5:0" ]
}

@test "/dev: default devices work" {
	set_args sh -c 'echo x >/dev/null && echo null-ok;
		[ "$(head -c 4 /dev/zero | od -An -tx1 | tr -d " ")" = 00000000 ] && echo zero-ok;
		echo x 2>/dev/null >/dev/full || echo full-ok;
		[ "$(head -c 16 /dev/urandom | wc -c)" = 16 ] && echo urandom-ok'
	run berth run "$(new_id)"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "null-ok
zero-ok
full-ok
urandom-ok" ]
}

@test "/dev: symlinks ptmx, fd, stdin, stdout, stderr" {
	set_args sh -c 'for l in ptmx fd stdin stdout stderr; do echo "$l $(readlink /dev/$l)"; done'
	run berth run "$(new_id)"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "ptmx pts/ptmx
fd /proc/self/fd
stdin /proc/self/fd/0
stdout /proc/self/fd/1
stderr /proc/self/fd/2" ]
}

@test "/dev: /dev/shm and /dev/pts are mounted" {
	set_args cat /proc/mounts
	run berth run "$(new_id)"
	[ "$status" -eq 0 ]
	[ "$(awk '$2 == "/dev/shm" {print $3}' <<<"$output")" = tmpfs ]
	[ "$(awk '$2 == "/dev/pts" {print $3}' <<<"$output")" = devpts ]
	[ "$(awk '$2 == "/dev" {print $3}' <<<"$output")" = tmpfs ]
}

@test "linux.devices: the node is created with its type, numbers, mode and owner" {
	update_config '.linux.devices = [{"path": "/dev/fuse", "type": "c", "major": 10,
		"minor": 229, "fileMode": 438, "uid": 0, "gid": 5}]'
	set_args stat -c '%F %t:%T %a %u:%g' /dev/fuse
	run berth run "$(new_id)"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "character special file a:e5 666 0:5" ]
}

# --- root, masked and readonly paths ----------------------------------------

@test "root.readonly true: the rootfs cannot be written" {
	update_config '.root.readonly = true'
	set_args touch /x
	run berth run "$(new_id)"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Read-only file system"* ]]
	[ ! -e "$BUNDLE/rootfs/x" ]
}

@test "root.readonly false: the rootfs can be written" {
	update_config '.root.readonly = false'
	set_args touch /x
	run berth run "$(new_id)"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -e "$BUNDLE/rootfs/x" ]
}

@test "maskedPaths: a masked file reads empty, a masked dir is empty" {
	echo secret >"$BUNDLE/rootfs/etc/secret"
	mkdir "$BUNDLE/rootfs/secretdir"
	echo secret >"$BUNDLE/rootfs/secretdir/file"
	update_config '.linux.maskedPaths += ["/etc/secret", "/secretdir"]'
	# /proc/timer_list is masked by the default config.
	jq -e '.linux.maskedPaths | index("/proc/timer_list") != null' "$BUNDLE/config.json"
	set_args sh -c 'echo "[$(cat /etc/secret)]"; echo "[$(ls -A /secretdir)]";
		echo "[$(cat /proc/timer_list)]"; echo "[$(ls -A /sys/firmware)]"'
	run berth run "$(new_id)"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "[]
[]
[]
[]" ]
}

@test "readonlyPaths: /proc/sys cannot be written even with CAP_SYS_ADMIN" {
	# CAP_SYS_ADMIN in a uts namespace could write the hostname, so only the
	# read-only mount stops it.
	update_config '.process.capabilities |= with_entries(.value += ["CAP_SYS_ADMIN"])'
	set_args sh -c 'echo changed >/proc/sys/kernel/hostname'
	run berth run "$(new_id)"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Read-only file system"* ]]

	# Without /proc/sys in readonlyPaths the same write works.
	update_config '.linux.readonlyPaths -= ["/proc/sys"]'
	set_args sh -c 'echo changed >/proc/sys/kernel/hostname && hostname'
	run berth run "$(new_id)"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = changed ]
}

@test "readonlyPaths: a rootfs dir is read-only, the rest is writable" {
	mkdir -m 0777 "$BUNDLE/rootfs/ro" "$BUNDLE/rootfs/rw"
	update_config '.root.readonly = false | .linux.readonlyPaths += ["/ro"]'
	set_args sh -c 'touch /rw/x && echo rw-ok; touch /ro/x'
	run berth run "$(new_id)"
	echo "$output"
	[ "$status" -ne 0 ]
	[ "${lines[0]}" = rw-ok ]
	[[ "$output" == *"Read-only file system"* ]]
	[ ! -e "$BUNDLE/rootfs/ro/x" ]
}

# --- process: rlimits, capabilities, noNewPrivileges ------------------------

@test "rlimits: RLIMIT_NOFILE soft and hard" {
	# Below the host's hard limit: raising above it needs CAP_SYS_RESOURCE.
	update_config '.process.rlimits = [{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 2048}]'
	set_args sh -c 'ulimit -n; ulimit -Hn'
	run berth run "$(new_id)"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 1024 ]
	[ "${lines[1]}" = 2048 ]
}

# cap_mask NAME...: print the capability mask of the names as /proc/PID/status
# shows it (16 hex digits).
cap_mask() {
	local all=(CAP_CHOWN CAP_DAC_OVERRIDE CAP_DAC_READ_SEARCH CAP_FOWNER CAP_FSETID
		CAP_KILL CAP_SETGID CAP_SETUID CAP_SETPCAP CAP_LINUX_IMMUTABLE
		CAP_NET_BIND_SERVICE CAP_NET_BROADCAST CAP_NET_ADMIN CAP_NET_RAW
		CAP_IPC_LOCK CAP_IPC_OWNER CAP_SYS_MODULE CAP_SYS_RAWIO CAP_SYS_CHROOT
		CAP_SYS_PTRACE CAP_SYS_PACCT CAP_SYS_ADMIN CAP_SYS_BOOT CAP_SYS_NICE
		CAP_SYS_RESOURCE CAP_SYS_TIME CAP_SYS_TTY_CONFIG CAP_MKNOD CAP_LEASE
		CAP_AUDIT_WRITE CAP_AUDIT_CONTROL CAP_SETFCAP CAP_MAC_OVERRIDE
		CAP_MAC_ADMIN CAP_SYSLOG CAP_WAKE_ALARM CAP_BLOCK_SUSPEND CAP_AUDIT_READ
		CAP_PERFMON CAP_BPF CAP_CHECKPOINT_RESTORE)
	local mask=0 name i found
	for name in "$@"; do
		found=""
		for i in "${!all[@]}"; do
			[ "${all[$i]}" = "$name" ] && found=$i
		done
		[ -n "$found" ] || {
			echo "cap_mask: unknown $name" >&2
			return 1
		}
		mask=$((mask | (1 << found)))
	done
	printf '%016x\n' "$mask"
}

# config_caps SET: print the names in process.capabilities.SET.
config_caps() {
	jq -r --arg s "$1" '.process.capabilities[$s] // [] | .[]' "$BUNDLE/config.json"
}

# status_field NAME: the value of NAME: in $output (a /proc/self/status dump).
status_field() {
	awk -v n="$1:" '$1 == n {print $2}' <<<"$output"
}

@test "capabilities: the default set is what the process has" {
	set_args cat /proc/self/status
	run berth run "$(new_id)"
	[ "$status" -eq 0 ]
	# shellcheck disable=SC2046
	want_bnd="$(cap_mask $(config_caps bounding))"
	# shellcheck disable=SC2046
	want_eff="$(cap_mask $(config_caps effective))"
	echo "CapBnd $(status_field CapBnd) want $want_bnd; CapEff $(status_field CapEff) want $want_eff"
	[ "$want_bnd" = 0000000020000420 ] # CAP_AUDIT_WRITE, CAP_KILL, CAP_NET_BIND_SERVICE
	[ "$(status_field CapBnd)" = "$want_bnd" ]
	[ "$(status_field CapEff)" = "$want_eff" ]
	[ "$(status_field CapPrm)" = "$want_eff" ]
}

@test "capabilities: bounding, permitted and effective sets are applied separately" {
	# noNewPrivileges (default true) keeps root from regaining the bounding
	# set at exec, so each set is visible as configured.
	update_config '.process.noNewPrivileges = true | .process.capabilities = {
		"bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW", "CAP_SYS_CHROOT"],
		"permitted": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"],
		"effective": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"]}'
	set_args cat /proc/self/status
	run berth run "$(new_id)"
	[ "$status" -eq 0 ]
	grep ^Cap <<<"$output"
	[ "$(status_field CapBnd)" = "$(cap_mask CAP_CHOWN CAP_KILL CAP_NET_RAW CAP_SYS_CHROOT)" ]
	[ "$(status_field CapPrm)" = "$(cap_mask CAP_CHOWN CAP_KILL CAP_NET_RAW)" ]
	[ "$(status_field CapEff)" = "$(cap_mask CAP_CHOWN CAP_KILL CAP_NET_RAW)" ]
	[ "$(status_field CapAmb)" = 0000000000000000 ]
}

@test "capabilities: an empty capabilities object leaves no capability" {
	update_config '.process.capabilities = {}'
	set_args cat /proc/self/status
	run berth run "$(new_id)"
	[ "$status" -eq 0 ]
	grep ^Cap <<<"$output"
	for f in CapInh CapPrm CapEff CapBnd CapAmb; do
		[ "$(status_field "$f")" = 0000000000000000 ]
	done
}

@test "capabilities: ambient caps reach a non-root process" {
	update_config '.process.user = {"uid": 65534, "gid": 65534} | .process.capabilities = {
		"bounding": ["CAP_NET_BIND_SERVICE", "CAP_CHOWN"],
		"permitted": ["CAP_NET_BIND_SERVICE"], "effective": ["CAP_NET_BIND_SERVICE"],
		"inheritable": ["CAP_NET_BIND_SERVICE"], "ambient": ["CAP_NET_BIND_SERVICE"]}'
	set_args cat /proc/self/status
	run berth run "$(new_id)"
	[ "$status" -eq 0 ]
	grep ^Cap <<<"$output"
	nbs="$(cap_mask CAP_NET_BIND_SERVICE)"
	[ "$(status_field CapAmb)" = "$nbs" ]
	[ "$(status_field CapEff)" = "$nbs" ]
	[ "$(status_field CapBnd)" = "$(cap_mask CAP_NET_BIND_SERVICE CAP_CHOWN)" ]
}

@test "noNewPrivileges true and false" {
	[ "$(awk '/^NoNewPrivs:/ {print $2}' /proc/self/status)" = 0 ] || skip "the test runs with no_new_privs set"
	set_args cat /proc/self/status
	update_config '.process.noNewPrivileges = true'
	run berth run "$(new_id)"
	[ "$status" -eq 0 ]
	[ "$(status_field NoNewPrivs)" = 1 ]

	update_config '.process.noNewPrivileges = false'
	run berth run "$(new_id)"
	[ "$status" -eq 0 ]
	[ "$(status_field NoNewPrivs)" = 0 ]
}

# --- cgroups ----------------------------------------------------------------

# cgroup_mount CONTROLLERS: the host mount point of a v1 hierarchy as named in
# /proc/PID/cgroup ("cpu,cpuacct", "name=systemd", "" for the v2 one).
cgroup_mount() {
	local c="$1" dir
	case "$c" in
	"") dir=/sys/fs/cgroup/unified ;;
	name=*) dir="/sys/fs/cgroup/${c#name=}" ;;
	*) dir="/sys/fs/cgroup/$c" ;;
	esac
	[ -d "$dir" ] || dir="/sys/fs/cgroup/${c%%,*}"
	echo "$dir"
}

@test "cgroupsPath: the init is in every hierarchy under that path, removed at delete" {
	id=$(new_id)
	cgpath="/berth-bats-$id"
	update_config '.linux.cgroupsPath = $p' --arg p "$cgpath"
	set_args sleep 100
	run_detached "$id"
	pid="$(container_pid "$id")"
	cat "/proc/$pid/cgroup"
	n=0
	while IFS=: read -r _ ctrls path; do
		[ "$ctrls" = "" ] && [ ! -d /sys/fs/cgroup/unified ] && continue
		[ "$path" = "$cgpath" ]
		dir="$(cgroup_mount "$ctrls")$cgpath"
		echo "$ctrls -> $dir"
		grep -qx "$pid" "$dir/cgroup.procs"
		n=$((n + 1))
	done <"/proc/$pid/cgroup"
	# Every v1 controller mounted on the host is one of them.
	for c in blkio cpu cpuacct cpuset devices freezer memory pids; do
		[ -d "/sys/fs/cgroup/$c" ] || continue
		grep -qx "$pid" "/sys/fs/cgroup/$c$cgpath/cgroup.procs"
	done
	[ "$n" -ge 1 ]

	run berth delete -f "$id"
	[ "$status" -eq 0 ]
	left="$(find /sys/fs/cgroup -mindepth 2 -maxdepth 2 -type d -name "berth-bats-$id")"
	echo "left: $left"
	[ -z "$left" ]
}

@test "no cgroupsPath: the init is in a cgroup named after the id, removed at delete" {
	id=$(new_id)
	update_config 'del(.linux.cgroupsPath)'
	set_args sleep 100
	run_detached "$id"
	pid="$(container_pid "$id")"
	cat "/proc/$pid/cgroup"
	while IFS=: read -r _ ctrls path; do
		[ "${path##*/}" = "$id" ]
	done <"/proc/$pid/cgroup"
	[ -n "$(cgroups_named "$id")" ]

	run berth delete -f "$id"
	[ "$status" -eq 0 ]
	left="$(cgroups_named "$id")"
	echo "left: $left"
	[ -z "$left" ]
}

@test "devices cgroup: a device not allowed cannot be opened, /dev/null can" {
	# /dev/loop-control (c 10:237) opens for root without a capability, so
	# only the devices cgroup can stop it. CAP_MKNOD is added so that mknod
	# itself is not what fails. (This host refuses reads of its disk even
	# outside containers, so a block device would prove nothing.)
	[ -c /dev/loop-control ] && : </dev/loop-control || skip "no usable /dev/loop-control on the host"
	maj=$((0x$(stat -c %t /dev/loop-control))) min=$((0x$(stat -c %T /dev/loop-control)))
	update_config '.process.capabilities |= with_entries(.value += ["CAP_MKNOD"])'
	set_args sh -c "echo x >/dev/null && echo null-ok; mknod /dev/ctl c $maj $min && echo mknod-ok; : </dev/ctl && echo open-ok"
	run --separate-stderr berth run "$(new_id)"
	echo "stdout: $output"
	echo "stderr: $stderr"
	[ "${lines[0]}" = null-ok ]
	[[ "$stderr" == *"Operation not permitted"* ]]
	[[ "$output" != *open-ok* ]]

	# Allowed in linux.resources.devices, the same open works.
	update_config '.linux.resources.devices += [{"allow": true, "type": "c",
		"major": ($maj | tonumber), "minor": ($min | tonumber), "access": "rwm"}]' \
		--arg maj "$maj" --arg min "$min"
	run --separate-stderr berth run "$(new_id)"
	echo "stdout: $output"
	echo "stderr: $stderr"
	[ "$status" -eq 0 ]
	[ "${lines[2]}" = open-ok ]
}
