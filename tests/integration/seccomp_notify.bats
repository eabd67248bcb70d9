#!/usr/bin/env bats
# seccomp user notification: the listener fd and the container state go to
# the agent at linux.seccomp.listenerPath, which then answers the notified
# syscalls (tests/cmd/seccompagent: mkdir -> EXDEV, anything else goes on).

load helpers

setup_file() {
	berth_setup_file
	if [ -z "${SECCOMPAGENT:-}" ]; then
		SECCOMPAGENT="$SUITE_DIR/seccompagent"
		(cd "$REPO_DIR" && CGO_ENABLED=1 go build -o "$SECCOMPAGENT" ./tests/cmd/seccompagent)
	fi
	export SECCOMPAGENT
}
teardown_file() { berth_teardown_file; }
setup() {
	berth_setup
	setup_bundle
	update_config '.root.readonly = false'
}
teardown() { berth_teardown; }

# start_agent [AGENT-FLAG...]
start_agent() {
	AGENT_SOCK="$TEST_DIR/agent.sock"
	"$SECCOMPAGENT" --socket "$AGENT_SOCK" --state "$TEST_DIR/agent-state.json" \
		--pid-file "$TEST_DIR/agent.pid" "$@" 2>"$TEST_DIR/agent.log" &
	track_pid $!
	wait_for test -s "$TEST_DIR/agent.pid"
}

@test "seccomp notify: the agent gets the listener and the state, and answers the call" {
	start_agent
	update_config '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", listenerPath: $sock,
		listenerMetadata: "from-the-config",
		syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_NOTIFY"}]}' --arg sock "$AGENT_SOCK"
	set_args sh -c 'mkdir /tmp/notified; echo "rc=$?"; touch /tmp/other && echo touched'
	id=$(new_id)
	run berth run "$id"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"rc=1"* ]]
	[[ "$output" == *"Invalid cross-device link"* ]]
	[[ "$output" == *"touched"* ]]
	jq -e --arg id "$id" '.metadata == "from-the-config" and .fds == ["seccompFd"]
		and .state.id == $id and .pid > 0 and .state.status == "creating"' \
		"$TEST_DIR/agent-state.json" >/dev/null
}

@test "seccomp notify: an agent that is not listening fails create cleanly" {
	update_config '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", listenerPath: $sock,
		syscalls: [{names: ["mkdir"], action: "SCMP_ACT_NOTIFY"}]}' --arg sock "$TEST_DIR/nobody.sock"
	set_args true
	id=$(new_id)
	run berth_detached create --bundle "$BUNDLE" "$id"
	[ "$status" -ne 0 ]
	[[ "$output" == *"linux.seccomp.listenerPath"* ]]
	assert_no_trace "$id"
}

@test "seccomp notify: a notify rule without listenerPath is refused" {
	update_config '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW",
		syscalls: [{names: ["mkdir"], action: "SCMP_ACT_NOTIFY"}]}'
	set_args true
	id=$(new_id)
	run berth_detached create --bundle "$BUNDLE" "$id"
	[ "$status" -ne 0 ]
	[[ "$output" == *"listenerPath"* ]]
	assert_no_trace "$id"
}

@test "seccomp notify: a process exec'd into the container is notified too" {
	start_agent
	update_config '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", listenerPath: $sock,
		syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_NOTIFY"}]}' --arg sock "$AGENT_SOCK"
	set_args sleep 100
	id=$(new_id)
	run_detached "$id"
	run berth exec "$id" sh -c 'mkdir /tmp/by-exec; echo "rc=$?"'
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"rc=1"* ]]
	[[ "$output" == *"Invalid cross-device link"* ]]
}

@test "seccomp notify: poststart hooks run once the process is executed, even when its execve is held" {
	# The agent holds the execve for a second: start must wait for the exec
	# to finish (config.md: poststart runs after the process is executed), so
	# the hook sees the user's program, not the init about to exec it.
	# WAIT_KILLABLE_RECV: the init is a Go program, whose runtime's signals
	# would restart the held execve, each time as a new notification.
	# The hook checks /proc/<pid>/exe, not comm: execve switches the exe
	# before it closes the close-on-exec fds start waits on, but renames the
	# task only after, so comm could still read "berth" for a moment.
	start_agent --execve-delay 1s
	update_config '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", listenerPath: $sock,
		flags: ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
		syscalls: [{names: ["execve"], action: "SCMP_ACT_NOTIFY"}]}
		| .hooks.poststart = [{path: "/bin/sh",
		    args: ["sh", "-c", "pid=$(jq -r .pid); if [ /proc/$pid/exe -ef " + $exe + " ]; then echo executed;"
		      + " else echo not executed: $(cat /proc/$pid/comm); fi >" + $out]}]' \
		--arg sock "$AGENT_SOCK" --arg out "$TEST_DIR/comm" --arg exe "$BUNDLE/rootfs/bin/sleep"
	set_args sleep 100
	id=$(new_id)
	create_container "$id"
	run berth start "$id"
	echo "$output"
	[ "$status" -eq 0 ]
	cat "$TEST_DIR/comm"
	[ "$(cat "$TEST_DIR/comm")" = executed ]
}
