#!/usr/bin/env bats
# A container without a mount namespace (OCI validation: linux_ns_itype).
# config-linux.md: a namespace type not listed is inherited from the
# runtime. berth then makes the container's mounts in the host's mount
# namespace, all under a private bind of the rootfs onto itself, enters it
# with chroot, chroots exec'd processes into the same bind, and detaches
# the bind (and so every mount under it) at delete or when create fails.

load helpers

setup_file() { berth_setup_file; }
teardown_file() { berth_teardown_file; }
setup() {
	berth_setup
	# runc sets the rootfs up in the host's namespace as if it were its own
	# (propagation of "/" included) and leaves its mounts behind.
	skip_known_runc_bug "no mount namespace: runc changes and leaks host mounts"
	setup_bundle
	update_config '.linux.namespaces |= map(select(.type != "mount"))'
	echo inside-the-rootfs >"$BUNDLE/rootfs/marker"
}
teardown() { berth_teardown; }

# host_mounts_under DIR: mountinfo lines (mount point, then optional
# fields) of the mounts at or under DIR in berth's own mount namespace.
host_mounts_under() {
	awk -v d="$1" '$5 == d || index($5, d "/") == 1 { f = ""; for (i = 7; $i != "-"; i++) f = f " " $i; print $5 f }' /proc/self/mountinfo
}

@test "no mount namespace: the init is in the host's, its mounts are private and under the rootfs only" {
	local id pid root_prop
	root_prop="$(findmnt -no PROPAGATION /)"
	id=$(new_id)
	set_args sleep 100
	create_container "$id"
	pid="$(container_pid "$id")"
	[ "$(readlink "/proc/$pid/ns/mnt")" = "$(readlink /proc/self/ns/mnt)" ]
	[ "$(readlink "/proc/$pid/root")" = "$BUNDLE/rootfs" ]
	run host_mounts_under "$BUNDLE"
	echo "$output"
	# The bind of the rootfs and the config's mounts (/proc, /dev, ...),
	# none of them shared with another mount namespace.
	[ "${lines[0]}" = "$BUNDLE/rootfs" ]
	[[ "$output" == *"$BUNDLE/rootfs/proc"* ]]
	[[ "$output" == *"$BUNDLE/rootfs/dev/pts"* ]]
	[[ "$output" != *shared:* ]] && [[ "$output" != *master:* ]]
	# Nothing else changed: "/" keeps its propagation.
	[ "$(findmnt -no PROPAGATION /)" = "$root_prop" ]

	berth start "$id"
	berth delete -f "$id"
	run host_mounts_under "$BUNDLE"
	[ -z "$output" ]
}

@test "no mount namespace: run sees the rootfs and the config's mounts, and leaves nothing mounted" {
	set_args sh -c 'cat /marker; readlink /proc/self/ns/mnt; test -c /dev/null && echo dev-ok'
	run berth run "$(new_id)"
	echo "status $status: $output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = inside-the-rootfs ]
	[ "${lines[1]}" = "$(readlink /proc/self/ns/mnt)" ]
	[ "${lines[2]}" = dev-ok ]
	run host_mounts_under "$BUNDLE"
	[ -z "$output" ]
}

@test "no mount namespace: exec runs chrooted in the container's rootfs, in its cwd" {
	local id
	id=$(new_id)
	mkdir "$BUNDLE/rootfs/work"
	set_args sleep 100
	run_detached "$id"
	run berth exec --cwd /work "$id" sh -c 'pwd; cat /marker; readlink /proc/self/ns/mnt'
	echo "status $status: $output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = /work ]
	[ "${lines[1]}" = inside-the-rootfs ]
	[ "${lines[2]}" = "$(readlink /proc/self/ns/mnt)" ]
	berth delete -f "$id"
	run host_mounts_under "$BUNDLE"
	[ -z "$output" ]
}

@test "no mount namespace: a symlink in the rootfs cannot move a mount onto the host" {
	local id
	mkdir -m 0755 "$TEST_DIR/hostdir"
	touch "$TEST_DIR/hostdir/keep"
	rm -rf "$BUNDLE/rootfs/mnt"
	ln -s "$TEST_DIR/hostdir" "$BUNDLE/rootfs/mnt"
	update_config '.mounts += [{"destination": "/mnt", "type": "tmpfs", "source": "tmpfs", "options": ["mode=755"]}]'
	id=$(new_id)
	set_args sleep 100
	create_container "$id"
	# The tmpfs landed inside the rootfs (the absolute link resolved there),
	# not on the host directory the link names.
	run host_mounts_under "$TEST_DIR/hostdir"
	[ -z "$output" ]
	[ -e "$TEST_DIR/hostdir/keep" ]
	berth delete -f "$id"
	run host_mounts_under "$BUNDLE"
	[ -z "$output" ]
}

@test "no mount namespace: a failed create leaves no mount behind" {
	local id
	id=$(new_id)
	set_args /no/such/binary
	run berth_detached create --bundle "$BUNDLE" "$id"
	echo "status $status: $output"
	[ "$status" -ne 0 ]
	assert_no_trace "$id"
	run host_mounts_under "$BUNDLE"
	[ -z "$output" ]
}

@test "no mount namespace: rootfsPropagation and a new user namespace are refused" {
	local id
	set_args true
	cp "$BUNDLE/config.json" "$BUNDLE/config.orig"
	update_config '.linux.rootfsPropagation = "rslave"'
	id=$(new_id)
	run berth_detached run --bundle "$BUNDLE" "$id"
	echo "status $status: $output"
	[ "$status" -ne 0 ]
	assert_no_trace "$id"
	berth_only
	[[ "$output" == *'linux.rootfsPropagation: "rslave" is set but there is no mount namespace'* ]]

	cp "$BUNDLE/config.orig" "$BUNDLE/config.json"
	update_config '.linux.namespaces += [{"type": "user"}]
		| .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]'
	run berth_detached run --bundle "$BUNDLE" "$id"
	echo "status $status: $output"
	[ "$status" -ne 0 ]
	assert_no_trace "$id"
	[[ "$output" == *"a new user namespace needs a mount namespace too"* ]]
}

@test "no mount namespace: checkpoint is refused, says why, and the container keeps running" {
	command -v criu >/dev/null || skip "no criu on PATH"
	local id
	id=$(new_id)
	set_args sleep 100
	run_detached "$id"
	run berth checkpoint --image-path "$TEST_DIR/img" "$id"
	[ "$status" -ne 0 ]
	[[ "$output" == *"cannot checkpoint container \"$id\": it has no mount namespace of its own"* ]]
	[ ! -e "$TEST_DIR/img/inventory.img" ]
	testcontainer "$id" running
	berth delete -f "$id"
}

@test "no mount namespace: a second container on the same rootfs is refused, and the first is untouched" {
	local a b
	a=$(new_id)
	b=$(new_id)
	set_args sleep 100
	create_container "$a"
	before="$(host_mounts_under "$BUNDLE")"
	run berth create --bundle "$BUNDLE" "$b"
	[ "$status" -ne 0 ]
	[[ "$output" == *"root.path ($BUNDLE/rootfs): used by container \"$a\", which has no mount namespace either"* ]] || { echo "$output" >&2; false; }
	# nothing of b: no state, no cgroup, no extra mount
	[ ! -e "$BERTH_ROOT/$b" ]
	[ -z "$(cgroups_named "$b")" ]
	[ "$(host_mounts_under "$BUNDLE")" = "$before" ]
	testcontainer "$a" created
	berth delete -f "$a"
	run host_mounts_under "$BUNDLE"
	[ -z "$output" ]
}
