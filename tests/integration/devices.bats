#!/usr/bin/env bats
# linux.devices (mknod with mode and owner; bind-mounted from the host in a
# user namespace), the default device set, maskedPaths and readonlyPaths.

load helpers

setup_file() { berth_setup_file; }
teardown_file() { berth_teardown_file; }
setup() {
	berth_setup
	setup_bundle
}
teardown() { berth_teardown; }

# add_userns: 0..65535 inside is 100000.. outside; the mount points a real
# image has are made here (uid 100000 cannot write the rootfs).
add_userns() {
	mkdir -p "$BUNDLE/rootfs/proc" "$BUNDLE/rootfs/dev" "$BUNDLE/rootfs/sys"
	update_config '.linux.namespaces += [{"type": "user"}]
		| .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]'
}

@test "linux.devices: char, block and fifo nodes, in a new subdirectory, with mode and owner" {
	update_config '.linux.devices = [
		{"path": "/dev/net/tun", "type": "c", "major": 10, "minor": 200, "fileMode": 384, "uid": 1000, "gid": 1001},
		{"path": "/dev/loopx", "type": "b", "major": 7, "minor": 0, "fileMode": 432, "uid": 0, "gid": 6},
		{"path": "/dev/myfifo", "type": "p", "fileMode": 420}]'
	set_args sh -c 'for d in /dev/net/tun /dev/loopx /dev/myfifo; do stat -c "%n %F %t:%T %a %u:%g" $d; done'
	run berth run "$(new_id)"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "/dev/net/tun character special file a:c8 600 1000:1001" ]
	[ "${lines[1]}" = "/dev/loopx block special file 7:0 660 0:6" ]
	[ "${lines[2]}" = "/dev/myfifo fifo 0:0 644 0:0" ]
}

@test "linux.devices: an entry for a default device replaces it" {
	update_config '.linux.devices = [{"path": "/dev/null", "type": "c", "major": 1, "minor": 3, "fileMode": 384, "uid": 5, "gid": 5}]'
	set_args stat -c "%a %u:%g" /dev/null
	run berth run "$(new_id)"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "600 5:5" ]
}

@test "linux.devices twice for one path is refused before anything is made" {
	update_config '.linux.devices = [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229},
		{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229}]'
	id=$(new_id)
	run berth run "$id"
	echo "$output"
	[ "$status" -ne 0 ]
	[ ! -e "$BERTH_ROOT/$id" ]
	berth_only
	[[ "$output" == *'linux.devices[1].path: "/dev/fuse" is listed twice'* ]]
}

@test "user namespace: devices are the host's nodes, bind-mounted" {
	add_userns
	update_config '.linux.devices = [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229}]'
	set_args sh -c 'for d in null zero full random urandom tty fuse; do stat -c "%n %t:%T" /dev/$d; done;
		grep -c " /dev/\(null\|zero\|full\|random\|urandom\|tty\|fuse\) " /proc/self/mountinfo;
		echo x >/dev/null && head -c 4 /dev/zero | wc -c'
	run berth run "$(new_id)"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "/dev/null 1:3" ]
	[ "${lines[1]}" = "/dev/zero 1:5" ]
	[ "${lines[6]}" = "/dev/fuse a:e5" ]
	# each one is a bind mount of the host's node
	[ "${lines[7]}" = 7 ]
	[ "${lines[8]}" = 4 ]
}

@test "the default device set, and nothing else in /dev" {
	set_args sh -c 'ls -A /dev | sort | tr "\n" " "'
	run berth run "$(new_id)"
	echo "$output"
	[ "$status" -eq 0 ]
	for d in null zero full random urandom tty ptmx fd stdin stdout stderr pts shm mqueue; do
		[[ " $output " == *" $d "* ]]
	done
	[[ " $output " != *" sda "* ]]
	[[ " $output " != *" mem "* ]]
	[[ " $output " != *" kmsg "* ]]
}

@test "maskedPaths: a file is the container's /dev/null, a directory a read-only empty tmpfs, a missing path is skipped" {
	mkdir -p "$BUNDLE/rootfs/secret/dir"
	echo s >"$BUNDLE/rootfs/secret/file"
	echo s >"$BUNDLE/rootfs/secret/dir/f"
	update_config '.linux.maskedPaths = ["/secret/file", "/secret/dir", "/no/such/path"]'
	set_args sh -c 'stat -c "%F %t:%T" /secret/file; wc -c </secret/file; ls -A /secret/dir | wc -l;
		awk '\''$5 == "/secret/dir" { print $6, $9 }'\'' /proc/self/mountinfo; touch /secret/dir/x 2>&1'
	run berth run "$(new_id)"
	echo "$output"
	[ "${lines[0]}" = "character special file 1:3" ]
	[ "${lines[1]}" = 0 ]
	[ "${lines[2]}" = 0 ]
	[[ "${lines[3]}" == ro*" tmpfs" ]]
	[[ "${lines[4]}" == *"Read-only file system"* ]]
}

@test "readonlyPaths: a file and a directory become read-only mounts, the rest stays writable" {
	mkdir -p "$BUNDLE/rootfs/ro/dir"
	echo f >"$BUNDLE/rootfs/ro/file"
	update_config '.root.readonly = false | .linux.readonlyPaths = ["/ro/file", "/ro/dir", "/no/such/path"]'
	set_args sh -c 'echo x >/ro/file || echo file-ro; touch /ro/dir/x || echo dir-ro; touch /ro/ok && echo rest-rw'
	run berth run "$(new_id)"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *file-ro* ]]
	[[ "$output" == *dir-ro* ]]
	[[ "$output" == *rest-rw* ]]
	[ "$(cat "$BUNDLE/rootfs/ro/file")" = f ]
}

@test "maskedPaths: a fake /dev/null in the image is never used to mask" {
	# A /dev bind of a directory whose "null" is a regular file: masking
	# must refuse it rather than bind a writable file over the path.
	mkdir "$TEST_DIR/fakedev"
	echo fake >"$TEST_DIR/fakedev/null"
	update_config '.mounts |= map(select(.destination != "/dev" and (.destination | startswith("/dev/") | not)))
		| .mounts += [{"destination": "/dev", "type": "bind", "source": $s, "options": ["rbind"]}]
		| .linux.maskedPaths = ["/etc/passwd"]' --arg s "$TEST_DIR/fakedev"
	set_args true
	run berth run "$(new_id)"
	echo "$output"
	[ "$status" -ne 0 ]
	berth_only
	[[ "$output" == *"not the 1:3 char device"* ]]
}
