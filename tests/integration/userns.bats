#!/usr/bin/env bats
# User namespaces: several mapping ranges, setgroups, a user namespace with
# every other namespace, joining one by path, and rootfs files owned by
# mapped ids.

load helpers

setup_file() { berth_setup_file; }
teardown_file() { berth_teardown_file; }
setup() {
	berth_setup
	setup_bundle
	mkdir -p "$BUNDLE/rootfs/proc" "$BUNDLE/rootfs/dev" "$BUNDLE/rootfs/sys"
}
teardown() { berth_teardown; }

# userns_maps UIDMAP-JSON GIDMAP-JSON: a new user namespace with these maps.
userns_maps() {
	update_config '.linux.namespaces += [{"type": "user"}]
		| .linux.uidMappings = $u | .linux.gidMappings = $g' --argjson u "$1" --argjson g "$2"
}

DEFAULT_MAP='[{"containerID": 0, "hostID": 100000, "size": 65536}]'

@test "several mapping ranges: each one is written, and ids map through the right one" {
	m='[{"containerID": 0, "hostID": 100000, "size": 1000}, {"containerID": 1000, "hostID": 300000, "size": 1000}]'
	userns_maps "$m" "$m"
	mkdir -m 0777 "$TEST_DIR/shared" "$BUNDLE/rootfs/shared"
	update_config '.mounts += [{"destination": "/shared", "type": "bind", "source": $s, "options": ["rbind"]}]' \
		--arg s "$TEST_DIR/shared"
	update_config '.process.user = {"uid": 1500, "gid": 1500}'
	set_args sh -c 'cat /proc/self/uid_map /proc/self/gid_map; id -u; touch /shared/f'
	run berth run "$(new_id)"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(awk '{print $1, $2, $3}' <<<"$output" | head -4 | tr '\n' ' ')" = "0 100000 1000 1000 300000 1000 0 100000 1000 1000 300000 1000 " ]
	[ "${lines[4]}" = 1500 ]
	[ "$(stat -c %u:%g "$TEST_DIR/shared/f")" = 300500:300500 ]
}

@test "setgroups stays allowed (as runc does for a root-run container): additionalGids apply" {
	userns_maps "$DEFAULT_MAP" "$DEFAULT_MAP"
	update_config '.process.user = {"uid": 0, "gid": 0, "additionalGids": [10, 20]}'
	set_args sh -c 'cat /proc/self/setgroups; id -G'
	run berth run "$(new_id)"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = allow ]
	[ "${lines[1]}" = "0 10 20" ]
}

@test "a user namespace with each other namespace: all new, all owned by it" {
	userns_maps "$DEFAULT_MAP" "$DEFAULT_MAP"
	update_config '.linux.namespaces = [{"type": "user"}, {"type": "mount"}, {"type": "pid"}, {"type": "network"},
		{"type": "ipc"}, {"type": "uts"}, {"type": "cgroup"}, {"type": "time"}]
		| .linux.timeOffsets = {"monotonic": {"secs": 3600}}
		| .hostname = "in-userns"
		| .process.capabilities.bounding += ["CAP_NET_ADMIN"]
		| .process.capabilities.effective += ["CAP_NET_ADMIN"]
		| .process.capabilities.permitted += ["CAP_NET_ADMIN"]'
	# Owning a namespace is what lets the container's root act on it:
	# hostname (uts), bring up lo (net), a pid ns where it is 1.
	set_args sh -c 'for n in user mnt pid net ipc uts cgroup time; do readlink /proc/self/ns/$n; done;
		hostname; echo $$; ip link set lo up && echo net-admin-ok'
	run berth run "$(new_id)"
	echo "$output"
	[ "$status" -eq 0 ]
	i=0
	for n in user mnt pid net ipc uts cgroup time; do
		[ "${lines[i]}" != "$(readlink /proc/self/ns/$n)" ]
		i=$((i + 1))
	done
	[ "${lines[8]}" = in-userns ]
	[ "${lines[9]}" = 1 ]
	[ "${lines[10]}" = net-admin-ok ]
}

@test "a user namespace with one other namespace at a time" {
	userns_maps "$DEFAULT_MAP" "$DEFAULT_MAP"
	# Without their own pid, network and ipc namespaces, a user namespace may not
	# mount a new procfs, sysfs or mqueue: the host's /proc is bound instead (as
	# for a rootless container); /sys, the cgroup and the mqueue mounts are left out.
	update_config '.mounts |= map(select(.destination != "/sys" and .destination != "/sys/fs/cgroup" and .destination != "/dev/mqueue"))
		| del(.hostname)'
	cp "$BUNDLE/config.json" "$TEST_DIR/base.json"
	for n in network ipc uts pid cgroup time; do
		cp "$TEST_DIR/base.json" "$BUNDLE/config.json"
		update_config '.linux.namespaces = [{"type": "user"}, {"type": "mount"}, {"type": $n}]' --arg n "$n"
		if [ "$n" != pid ]; then
			update_config '.mounts |= map(if .destination == "/proc" then
				{"destination": "/proc", "type": "bind", "source": "/proc", "options": ["rbind", "nosuid", "nodev", "noexec"]}
				else . end)'
		fi
		short=$n
		[ "$n" = network ] && short=net
		set_args sh -c "readlink /proc/self/ns/user; readlink /proc/self/ns/$short"
		run berth run "$(new_id)"
		echo "$n: $status $output"
		[ "$status" -eq 0 ]
		[ "${lines[0]}" != "$(readlink /proc/self/ns/user)" ]
		[ "${lines[1]}" != "$(readlink /proc/self/ns/$short)" ]
	done
}

@test "joining another container's user namespace by path" {
	userns_maps "$DEFAULT_MAP" "$DEFAULT_MAP"
	set_args sleep 100
	a=$(new_id)
	run_detached "$a"
	apid="$(container_pid "$a")"
	wait_for comm_is "$apid" sleep
	auser="$(readlink "/proc/$apid/ns/user")"

	update_config '.linux.namespaces |= map(if .type == "user" then .path = $p else . end)
		| del(.linux.uidMappings) | del(.linux.gidMappings)' --arg p "/proc/$apid/ns/user"
	set_args sh -c 'readlink /proc/self/ns/user; cat /proc/self/uid_map; id -u'
	run berth run "$(new_id)"
	echo "$output (A: $auser)"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "$auser" ]
	[ "$(echo ${lines[1]})" = "0 100000 65536" ]
	[ "${lines[2]}" = 0 ]
}

@test "rootfs files owned by mapped ids are seen as root's and the image's own ids" {
	userns_maps "$DEFAULT_MAP" "$DEFAULT_MAP"
	chown -R 100000:100000 "$BUNDLE/rootfs"
	touch "$BUNDLE/rootfs/user-file" "$BUNDLE/rootfs/host-root-file"
	chown 101000:101001 "$BUNDLE/rootfs/user-file"
	chown 0:0 "$BUNDLE/rootfs/host-root-file"
	update_config '.root.readonly = false'
	set_args sh -c 'stat -c "%n %u:%g" / /bin/busybox /user-file /host-root-file; touch /made-inside'
	run berth run "$(new_id)"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "/ 0:0" ]
	[ "${lines[1]}" = "/bin/busybox 0:0" ]
	[ "${lines[2]}" = "/user-file 1000:1001" ]
	# an id outside the mapping shows as the overflow id
	[ "${lines[3]}" = "/host-root-file 65534:65534" ]
	[ "$(stat -c %u:%g "$BUNDLE/rootfs/made-inside")" = 100000:100000 ]
}

@test "a process uid outside the mapping is refused before anything is made" {
	userns_maps '[{"containerID": 0, "hostID": 100000, "size": 10}]' "$DEFAULT_MAP"
	update_config '.process.user.uid = 10'
	id=$(new_id)
	run berth run "$id"
	echo "$output"
	[ "$status" -ne 0 ]
	[ ! -e "$BERTH_ROOT/$id" ]
	berth_only
	[[ "$output" == *"process.user.uid: 10 is not mapped by linux.uidMappings"* ]]
}
