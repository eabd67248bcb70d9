#!/usr/bin/env bats
# seccomp: the filter is loaded as late as it can be, so that rules meant
# for the container's process do not break berth's own setup.

load helpers

setup_file() { berth_setup_file; }
teardown_file() { berth_teardown_file; }
setup() {
	berth_setup
	setup_bundle
}
teardown() { berth_teardown; }

# deny NAMES...: a filter that allows everything but NAMES (EPERM).
deny() {
	local names
	names=$(printf '%s\n' "$@" | jq -R . | jq -s .)
	update_config '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW",
		syscalls: [{names: $n, action: "SCMP_ACT_ERRNO", errnoRet: 1}]}' --argjson n "$names"
}

@test "seccomp: blocking what the init uses before the filter does not break the start" {
	# The init uses all of these while it sets up (mounts, cwd, user switch,
	# capabilities, keyring); the filter comes after them.
	deny getcwd mount umount2 pivot_root sethostname setgroups setresuid setresgid capset keyctl prctl chdir
	set_args sh -c 'echo started; cd /tmp 2>/dev/null; pwd'
	run berth run "$(new_id)"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *started* ]]
}

@test "seccomp: without noNewPrivileges the filter is loaded before the user switch, and the start still works" {
	deny getcwd mount sethostname
	update_config '.process.noNewPrivileges = false | .process.user = {uid: 1000, gid: 1000}'
	set_args sh -c 'echo "uid=$(id -u)"; grep ^Seccomp: /proc/self/status'
	run berth run "$(new_id)"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"uid=1000"* ]]
	[[ "$output" == *$'Seccomp:\t2'* ]]
}

@test "seccomp: a syscall name libseccomp does not know is skipped, as runc does" {
	deny mkdir no_such_syscall_for_berth
	update_config '.root.readonly = false'
	set_args sh -c 'mkdir /tmp/x; echo "rc=$?"'
	run berth run "$(new_id)"
	[ "$status" -eq 0 ]
	[[ "$output" == *"rc=1"* ]]
}

@test "seccomp: a bad action is refused, naming the field, before anything is created" {
	update_config '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW",
		syscalls: [{names: ["mkdir"], action: "SCMP_ACT_FOO"}]}'
	set_args true
	id=$(new_id)
	run berth_detached create --bundle "$BUNDLE" "$id"
	[ "$status" -ne 0 ]
	berth_only
	[[ "$output" == *'linux.seccomp.syscalls[0].action: "SCMP_ACT_FOO"'* ]] # berth message
	assert_no_trace "$id"
}
