#!/usr/bin/env bats
# mounts[]: the recursive r* options and nosymfollow, bind and rbind,
# propagation and linux.rootfsPropagation, tmpcopyup, overlay, cgroup,
# id-mapped mounts, and symlinks in the rootfs that try to send a mount,
# a device, a masked path or the cwd onto the host.

load helpers

setup_file() { berth_setup_file; }
teardown_file() { berth_teardown_file; }
setup() {
	berth_setup
	setup_bundle
	HOST_MOUNTS=()
}
teardown() {
	local i
	for ((i = ${#HOST_MOUNTS[@]} - 1; i >= 0; i--)); do
		umount -l "${HOST_MOUNTS[i]}" 2>/dev/null || true
	done
	berth_teardown
}

# host_mount ARGS... TARGET: mount on the host, undone by teardown.
host_mount() {
	mount "$@"
	HOST_MOUNTS+=("${!#}")
}

# add_mount DEST TYPE SOURCE OPTIONS-JSON
add_mount() {
	update_config '.mounts += [{"destination": $d, "type": $t, "source": $s, "options": $o}]' \
		--arg d "$1" --arg t "$2" --arg s "$3" --argjson o "$4"
}

# add_cap CAP: add CAP to every capability set but ambient.
add_cap() {
	update_config '.process.capabilities |= with_entries(if .key != "ambient" then .value += [$c] else . end)' \
		--arg c "$1"
}

# opts_of MOUNTPOINT: the per-mount options of MOUNTPOINT in $output (a
# dump of /proc/self/mountinfo), the last such line.
opts_of() {
	awk -v d="$1" '$5 == d { print $6 }' <<<"$output" | tail -n1
}

has_opt() {
	[[ ",$1," == *",$2,"* ]]
}

# lacks_opt OPTS OPT: (a function, so that bats fails on it anywhere in a
# test, which it does not for a "! cmd" line)
lacks_opt() {
	! has_opt "$@"
}

# absent CMD...: CMD fails (same reason).
absent() {
	! "$@"
}

# src_with_submount: $TEST_DIR/src (a dir with a file) with a tmpfs on
# src/sub (with a file) on the host.
src_with_submount() {
	mkdir -p "$TEST_DIR/src/sub"
	echo top >"$TEST_DIR/src/top"
	host_mount -t tmpfs -o size=1m tmpfs "$TEST_DIR/src/sub"
	echo sub >"$TEST_DIR/src/sub/f"
}

# --- bind and rbind -----------------------------------------------------------

@test "rbind brings the submounts of a dir, bind does not" {
	src_with_submount
	add_mount /r bind "$TEST_DIR/src" '["rbind"]'
	add_mount /b bind "$TEST_DIR/src" '["bind"]'
	set_args sh -c 'cat /r/top /r/sub/f; cat /b/top; ls -A /b/sub | wc -l'
	run berth run "$(new_id)"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'top\nsub\ntop\n0')" ]
}

@test "bind of a file onto a path whose directories do not exist yet" {
	echo content >"$TEST_DIR/file"
	add_mount /a/b/c/file bind "$TEST_DIR/file" '["bind", "ro"]'
	set_args sh -c 'cat /a/b/c/file; echo x >/a/b/c/file'
	run berth run "$(new_id)"
	echo "$output"
	[ "$status" -ne 0 ]
	[ "${lines[0]}" = content ]
	[[ "$output" == *"Read-only file system"* ]]
	[ "$(cat "$TEST_DIR/file")" = content ]
}

# --- recursive options --------------------------------------------------------

@test "rro makes the submounts read-only too, ro only the top" {
	src_with_submount
	add_mount /ro bind "$TEST_DIR/src" '["rbind", "ro"]'
	add_mount /rro bind "$TEST_DIR/src" '["rbind", "rro"]'
	set_args sh -c 'touch /ro/sub/a && echo ro-sub-writable; touch /rro/sub/b || echo rro-sub-readonly; touch /rro/c || echo rro-top-readonly'
	run berth run "$(new_id)"
	echo "$output"
	[[ "$output" == *ro-sub-writable* ]]
	[[ "$output" == *rro-sub-readonly* ]]
	[[ "$output" == *rro-top-readonly* ]]
	[ -e "$TEST_DIR/src/sub/a" ]
	[ ! -e "$TEST_DIR/src/sub/b" ]
}

@test "every recursive flag reaches the submount" {
	src_with_submount
	add_mount /r bind "$TEST_DIR/src" '["rbind", "rro", "rnosuid", "rnodev", "rnoexec", "rnodiratime", "rnoatime", "rnosymfollow"]'
	set_args cat /proc/self/mountinfo
	run berth run "$(new_id)"
	[ "$status" -eq 0 ]
	for m in /r /r/sub; do
		opts="$(opts_of "$m")"
		echo "$m: $opts"
		for o in ro nosuid nodev noexec nodiratime noatime nosymfollow; do
			has_opt "$opts" "$o"
		done
	done
}

@test "recursive clearing forms: rrw, rsuid, rdev, rexec, rsymfollow, rstrictatime undo their flags on the tree" {
	src_with_submount
	umount "$TEST_DIR/src/sub"
	host_mount -t tmpfs -o size=1m,nosuid,nodev,noexec,nosymfollow,noatime tmpfs "$TEST_DIR/src/sub"
	add_mount /r bind "$TEST_DIR/src" '["rbind", "rro", "rrw", "rsuid", "rdev", "rexec", "rsymfollow", "rdiratime", "rstrictatime"]'
	set_args cat /proc/self/mountinfo
	run berth run "$(new_id)"
	[ "$status" -eq 0 ]
	opts="$(opts_of /r/sub)"
	echo "/r/sub: $opts"
	has_opt "$opts" rw
	for o in nosuid nodev noexec nosymfollow noatime relatime nodiratime; do
		lacks_opt "$opts" "$o"
	done
}

@test "recursive atime modes: rrelatime, ratime, rnorelatime" {
	src_with_submount
	umount "$TEST_DIR/src/sub"
	host_mount -t tmpfs -o size=1m,noatime tmpfs "$TEST_DIR/src/sub"
	add_mount /a bind "$TEST_DIR/src" '["rbind", "rnoatime", "ratime"]'
	add_mount /b bind "$TEST_DIR/src" '["rbind", "rnorelatime"]'
	add_mount /c bind "$TEST_DIR/src" '["rbind", "rstrictatime", "rrelatime"]'
	set_args cat /proc/self/mountinfo
	run berth run "$(new_id)"
	[ "$status" -eq 0 ]
	echo "$output" | grep ' /[abc]/sub '
	has_opt "$(opts_of /a/sub)" relatime
	lacks_opt "$(opts_of /a/sub)" noatime
	lacks_opt "$(opts_of /b/sub)" relatime
	lacks_opt "$(opts_of /b/sub)" noatime
	has_opt "$(opts_of /c/sub)" relatime
	lacks_opt "$(opts_of /c/sub)" noatime
}

@test "nosymfollow: symlinks on the mount are not followed" {
	mkdir "$TEST_DIR/src"
	echo target >"$TEST_DIR/src/target"
	ln -s target "$TEST_DIR/src/link"
	add_mount /n bind "$TEST_DIR/src" '["rbind", "nosymfollow"]'
	add_mount /f bind "$TEST_DIR/src" '["rbind"]'
	set_args sh -c 'cat /f/link; cat /n/target; cat /n/link'
	run berth run "$(new_id)"
	echo "$output"
	[ "$status" -ne 0 ]
	[ "${lines[0]}" = target ]
	[ "${lines[1]}" = target ]
	[[ "${lines[2]}" == *"Too many levels of symbolic links"* ]] || [[ "${lines[2]}" == *"Symbolic link loop"* ]]
}

# --- propagation ----------------------------------------------------------------

# shared_src: $TEST_DIR/src as a shared mount point on the host.
shared_src() {
	mkdir -p "$TEST_DIR/src"
	host_mount --bind "$TEST_DIR/src" "$TEST_DIR/src"
	mount --make-shared "$TEST_DIR/src"
}

@test "rshared bind: a mount made in the container appears on the host" {
	shared_src
	mkdir "$TEST_DIR/src/in"
	add_cap CAP_SYS_ADMIN
	update_config '.linux.seccomp = null'
	# As engines do for an rshared bind: "/" must be rshared too, or the
	# bind is only a slave of the host's peer group.
	update_config '.linux.rootfsPropagation = "rshared"'
	add_mount /s bind "$TEST_DIR/src" '["rbind", "rshared"]'
	set_args sh -c 'mount -t tmpfs -o size=1m from-container /s/in && touch /s/in/x'
	run berth run "$(new_id)"
	echo "$output"
	[ "$status" -eq 0 ]
	HOST_MOUNTS+=("$TEST_DIR/src/in")
	grep -q " $TEST_DIR/src/in .* from-container " /proc/self/mountinfo
	[ -e "$TEST_DIR/src/in/x" ]
}

@test "rslave bind: a host mount appears in the container, not the other way" {
	shared_src
	mkdir "$TEST_DIR/src/late" "$TEST_DIR/src/in"
	add_cap CAP_SYS_ADMIN
	update_config '.linux.seccomp = null'
	add_mount /s bind "$TEST_DIR/src" '["rbind", "rslave"]'
	set_args sh -c 'mount -t tmpfs -o size=1m from-container /s/in; while [ ! -e /s/late/marker ]; do sleep 0.1; done; echo seen'
	id=$(new_id)
	run_detached "$id"
	host_mount -t tmpfs -o size=1m from-host "$TEST_DIR/src/late"
	touch "$TEST_DIR/src/late/marker"
	wait_for pid_gone "$(container_pid "$id")" || true
	wait_for status_is "$id" stopped
	! grep -q "from-container" /proc/self/mountinfo
}

@test "private bind: a host mount made later stays out of the container" {
	shared_src
	mkdir "$TEST_DIR/src/late"
	add_mount /s bind "$TEST_DIR/src" '["rbind", "rprivate"]'
	set_args sh -c 'sleep 100'
	id=$(new_id)
	run_detached "$id"
	host_mount -t tmpfs -o size=1m from-host "$TEST_DIR/src/late"
	pid="$(container_pid "$id")"
	absent grep -q "from-host" "/proc/$pid/mountinfo"
	grep -q " /s " "/proc/$pid/mountinfo"
}

@test "unbindable: the mount cannot be bound again inside" {
	mkdir "$TEST_DIR/src"
	add_cap CAP_SYS_ADMIN
	update_config '.linux.seccomp = null'
	add_mount /u bind "$TEST_DIR/src" '["rbind", "runbindable"]'
	set_args sh -c 'grep " /u " /proc/self/mountinfo; mkdir -p /tmp/again && mount --bind /u /tmp/again && echo bound'
	run berth run "$(new_id)"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "${lines[0]}" == *unbindable* ]]
	[[ "$output" != *bound* ]]
}

# root_opt: the optional fields of "/" in the container's mountinfo.
@test "linux.rootfsPropagation: shared, private, unbindable, slave and the default" {
	add_cap CAP_SYS_ADMIN
	update_config '.linux.seccomp = null'
	set_args sh -c 'awk '\''$5 == "/" { for (i = 7; $i != "-"; i++) printf "%s ", $i; print "" }'\'' /proc/self/mountinfo | tail -n1'
	for prop in shared private unbindable slave rslave ""; do
		update_config '.linux.rootfsPropagation = $p' --arg p "$prop"
		run berth run "$(new_id)"
		echo "$prop: $status $output"
		[ "$status" -eq 0 ]
		case "$prop" in
		shared) [[ "$output" == *shared:* ]] ;;
		unbindable) [[ "$output" == *unbindable* ]] ;;
		*) [[ "$output" != *shared:* && "$output" != *unbindable* ]] ;;
		esac
	done
}

@test "linux.rootfsPropagation shared with a rootfs on a private parent mount" {
	# The rootfs's parent mount is private here: berth must still be able
	# to bind the rootfs and pivot.
	host_mount --bind "$TEST_DIR" "$TEST_DIR"
	mount --make-private "$TEST_DIR"
	update_config '.linux.rootfsPropagation = "rshared"'
	set_args true
	run berth run "$(new_id)"
	echo "$output"
	[ "$status" -eq 0 ]
}

# --- tmpfs ----------------------------------------------------------------------

@test "tmpcopyup: the tmpfs starts with the directory's content, modes and owners kept" {
	d="$BUNDLE/rootfs/conf"
	mkdir -p "$d/sub"
	echo hello >"$d/file"
	chmod 0604 "$d/file"
	chown 1000:1001 "$d/file"
	chmod 0711 "$d/sub"
	chown 7:8 "$d/sub"
	ln -s file "$d/link"
	chmod 0750 "$d"
	add_mount /conf tmpfs tmpfs '["tmpcopyup", "size=1m"]'
	set_args sh -c 'stat -c "%n %a %u:%g" /conf /conf/file /conf/sub; readlink /conf/link; cat /conf/file;
		awk '\''$5 == "/conf" { print $9 }'\'' /proc/self/mountinfo; echo new >/conf/new; cat /conf/new'
	run berth run "$(new_id)"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "/conf 750 0:0" ]
	[ "${lines[1]}" = "/conf/file 604 1000:1001" ]
	[ "${lines[2]}" = "/conf/sub 711 7:8" ]
	[ "${lines[3]}" = file ]
	[ "${lines[4]}" = hello ]
	[ "${lines[5]}" = tmpfs ]
	[ "${lines[6]}" = new ]
	# The image is untouched.
	[ ! -e "$d/new" ]
}

@test "tmpcopyup with mode= keeps the mode asked for" {
	mkdir -p "$BUNDLE/rootfs/conf"
	echo x >"$BUNDLE/rootfs/conf/f"
	add_mount /conf tmpfs tmpfs '["tmpcopyup", "mode=1777"]'
	set_args sh -c 'stat -c %a /conf; cat /conf/f'
	run berth run "$(new_id)"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '1777\nx')" ]
}

@test "tmpcopyup on a tmpfs only" {
	mkdir "$TEST_DIR/src"
	add_mount /x bind "$TEST_DIR/src" '["rbind", "tmpcopyup"]'
	run berth run "$(new_id)"
	echo "$output"
	[ "$status" -ne 0 ]
	berth_only
	[[ "$output" == *'mounts[7].options[1]: "tmpcopyup" is only for a tmpfs, not type "bind"'* ]]
}

# --- overlay --------------------------------------------------------------------

@test "overlay: read-only lower layers, writes land in the host's upperdir" {
	mkdir -p "$TEST_DIR"/{l1,l2,upper,work}
	echo from-l1 >"$TEST_DIR/l1/a"
	echo from-l2 >"$TEST_DIR/l2/a"
	echo only-l2 >"$TEST_DIR/l2/b"
	add_mount /ov overlay overlay "$(jq -nc --arg t "$TEST_DIR" \
		'["lowerdir=\($t)/l1:\($t)/l2", "upperdir=\($t)/upper", "workdir=\($t)/work"]')"
	set_args sh -c 'cat /ov/a /ov/b; echo new >/ov/c; rm /ov/b; awk '\''$5 == "/ov" { print $9 }'\'' /proc/self/mountinfo'
	run berth run "$(new_id)"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'from-l1\nonly-l2\noverlay')" ]
	[ "$(cat "$TEST_DIR/upper/c")" = new ]
	[ "$(cat "$TEST_DIR/l2/b")" = only-l2 ]
	[ ! -e "$TEST_DIR/l1/c" ]
}

@test "overlay without lowerdir is refused before anything is made" {
	add_mount /ov overlay overlay '["upperdir=/tmp/u", "workdir=/tmp/w"]'
	id=$(new_id)
	run berth run "$id"
	echo "$output"
	[ "$status" -ne 0 ]
	[ ! -e "$BERTH_ROOT/$id" ]
	berth_only
	[[ "$output" == *"mounts[7].options: an overlay needs lowerdir="* ]]
}

# --- cgroup -----------------------------------------------------------------------

@test "cgroup mount with a cgroup namespace: the container's cgroup is the root" {
	# berth spec's config has a cgroup namespace and a cgroup mount.
	jq -e '.linux.namespaces | map(.type) | index("cgroup") != null' "$BUNDLE/config.json"
	set_args sh -c 'cat /proc/self/cgroup; ls /sys/fs/cgroup; for f in /sys/fs/cgroup/*/cgroup.procs; do cat "$f"; break; done'
	run berth run "$(new_id)"
	echo "$output"
	[ "$status" -eq 0 ]
	# every line of /proc/self/cgroup ends in ":/"
	[ "$(grep -c ':/$' <<<"$output")" -ge 1 ]
	absent grep -E '^[0-9]+:[^:]*:/.+' <<<"$output"
	# the hierarchy root holds our init, pid 1
	[[ "$output" == *$'\n1'* ]]
}

# --- id-mapped mounts ---------------------------------------------------------------

@test "idmapped mount: uidMappings and gidMappings shift the owners seen through the mount" {
	mkdir "$TEST_DIR/src"
	touch "$TEST_DIR/src/root-file"
	touch "$TEST_DIR/src/user-file"
	chown 5:6 "$TEST_DIR/src/user-file"
	update_config '.mounts += [{"destination": "/m", "type": "bind", "source": $s, "options": ["rbind"],
		"uidMappings": [{"containerID": 0, "hostID": 2000, "size": 10}],
		"gidMappings": [{"containerID": 0, "hostID": 3000, "size": 10}]}]' --arg s "$TEST_DIR/src"
	set_args sh -c 'stat -c "%n %u:%g" /m/root-file /m/user-file; touch /m/x 2>/dev/null || echo refused'
	run berth run "$(new_id)"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "/m/root-file 2000:3000" ]
	[ "${lines[1]}" = "/m/user-file 2005:3006" ]
	# uid 0 has no on-disk id through this mount: the kernel refuses the
	# write rather than create a file it could not map back.
	[ "${lines[2]}" = refused ]
	[ ! -e "$TEST_DIR/src/x" ]
}

@test "idmap option in a user namespace: the container's root owns the host's root files" {
	mkdir -p "$BUNDLE/rootfs/proc" "$BUNDLE/rootfs/dev" "$BUNDLE/rootfs/sys"
	mkdir "$TEST_DIR/src" "$BUNDLE/rootfs/plain" "$BUNDLE/rootfs/mapped"
	echo data >"$TEST_DIR/src/f"
	update_config '.linux.namespaces += [{"type": "user"}]
		| .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]'
	add_mount /plain bind "$TEST_DIR/src" '["rbind"]'
	add_mount /mapped bind "$TEST_DIR/src" '["rbind", "idmap"]'
	set_args sh -c 'stat -c "%u:%g" /plain/f /mapped/f; echo written >/mapped/new'
	run berth run "$(new_id)"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "65534:65534" ]
	[ "${lines[1]}" = "0:0" ]
	# What the container's root writes is owned by the host's root.
	[ "$(stat -c %u:%g "$TEST_DIR/src/new")" = 0:0 ]
}

@test "ridmap maps the submounts, idmap only the top" {
	src_with_submount
	mkdir -p "$BUNDLE/rootfs/proc" "$BUNDLE/rootfs/dev" "$BUNDLE/rootfs/sys" "$BUNDLE/rootfs/i" "$BUNDLE/rootfs/r"
	update_config '.linux.namespaces += [{"type": "user"}]
		| .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]'
	add_mount /i bind "$TEST_DIR/src" '["rbind", "idmap"]'
	add_mount /r bind "$TEST_DIR/src" '["rbind", "ridmap"]'
	set_args stat -c %u /i/top /i/sub/f /r/top /r/sub/f
	run berth run "$(new_id)"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '0\n65534\n0\n0')" ]
}

@test "features: idmap enabled and the recursive options listed" {
	run berth features
	[ "$status" -eq 0 ]
	berth_only
	[ "$(jq -r '.linux.mountExtensions.idmap.enabled' <<<"$output")" = true ]
	for o in rro rnosuid rnodev rnoexec rnosymfollow rnoatime ratime rstrictatime idmap ridmap tmpcopyup nosymfollow; do
		jq -e --arg o "$o" '.mountOptions | index($o) != null' <<<"$output" >/dev/null
	done
}

@test "idmapped mount with only uidMappings is refused before anything is made" {
	mkdir "$TEST_DIR/src"
	update_config '.mounts += [{"destination": "/m", "type": "bind", "source": $s, "options": ["rbind"],
		"uidMappings": [{"containerID": 0, "hostID": 2000, "size": 10}]}]' --arg s "$TEST_DIR/src"
	id=$(new_id)
	run berth run "$id"
	echo "$output"
	[ "$status" -ne 0 ]
	[ ! -e "$BERTH_ROOT/$id" ]
	berth_only
	[[ "$output" == *"mounts[7].gidMappings: must be set with uidMappings"* ]]
}

# --- symlinks in the rootfs -------------------------------------------------------

# plant_escapes: $TEST_DIR/host (an empty host dir) and rootfs symlinks to it:
# /abs (absolute), /rel (relative, with many ..), /viaproc (through
# /proc/self/root).
plant_escapes() {
	HOST="$TEST_DIR/host"
	mkdir -m 0755 "$HOST"
	ln -s "$HOST" "$BUNDLE/rootfs/abs"
	ln -s "../../../../../../../../../../..$HOST" "$BUNDLE/rootfs/rel"
	ln -s "/proc/self/root$HOST" "$BUNDLE/rootfs/viaproc"
}

# host_untouched: $HOST is empty and nothing is mounted on or under it.
host_untouched() {
	[ -z "$(ls -A "$HOST")" ] || {
		echo "host dir has: $(ls -A "$HOST")"
		return 1
	}
	! grep -F " $HOST" /proc/self/mountinfo
}

@test "symlink escape: mount destinations stay in the rootfs" {
	plant_escapes
	mkdir "$TEST_DIR/src"
	echo bound >"$TEST_DIR/src/marker"
	add_mount /abs/a bind "$TEST_DIR/src" '["rbind"]'
	add_mount /rel/b tmpfs tmpfs '["size=1m"]'
	add_mount /viaproc/c bind "$TEST_DIR/src/marker" '["bind"]'
	set_args sh -c 'cat /abs/a/marker; grep -c " $0/b " /proc/self/mountinfo' "$HOST"
	run berth run "$(new_id)"
	echo "$output"
	host_untouched
	[ "$status" -eq 0 ] || [[ "$output" == *viaproc* ]]
	# The mounts landed inside the rootfs, at the symlinks' targets there.
	[ -d "$BUNDLE/rootfs$HOST/a" ]
}

@test "symlink escape: device paths stay in the rootfs" {
	plant_escapes
	update_config '.linux.devices = [
		{"path": "/abs/null1", "type": "c", "major": 1, "minor": 3},
		{"path": "/rel/null2", "type": "c", "major": 1, "minor": 3}]'
	set_args sh -c 'ls -l /abs/null1 /rel/null2'
	run berth run "$(new_id)"
	echo "$output"
	[ "$status" -eq 0 ]
	host_untouched
	[ -c "$BUNDLE/rootfs$HOST/null1" ]
	[ -c "$BUNDLE/rootfs$HOST/null2" ]
}

@test "symlink escape: masked and readonly paths stay in the rootfs" {
	plant_escapes
	mkdir -p "$BUNDLE/rootfs$HOST/dir"
	echo secret >"$BUNDLE/rootfs$HOST/file"
	echo secret >"$BUNDLE/rootfs$HOST/dir/f"
	update_config '.linux.maskedPaths += ["/abs/file", "/rel/dir"] | .linux.readonlyPaths += ["/rel"]'
	set_args sh -c 'cat /abs/file; ls -A /rel/dir | wc -l; touch /abs/x || echo ro'
	run berth run "$(new_id)"
	echo "$output"
	host_untouched
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 0 ]
	[ "${lines[-1]}" = ro ]
	[[ "$output" != *secret* ]]
}

@test "symlink escape: a masked path through /proc/self/root is refused, the host untouched" {
	plant_escapes
	update_config '.linux.maskedPaths += ["/viaproc/file"]'
	set_args true
	run berth run "$(new_id)"
	echo "$output"
	host_untouched
	[ "$status" -ne 0 ]
	berth_only
	[[ "$output" == *"linux.maskedPaths["*"] (/viaproc/file)"* ]]
}

@test "symlink escape: process.cwd stays in the rootfs" {
	plant_escapes
	update_config '.process.cwd = "/abs/work" | .root.readonly = false'
	set_args sh -c 'pwd; touch here'
	run berth run "$(new_id)"
	echo "$output"
	host_untouched
	[ "$status" -eq 0 ]
	[ -e "$BUNDLE/rootfs$HOST/work/here" ]
}
