#!/usr/bin/env bats
# OCI hooks: when each kind runs, in which namespaces, with what on stdin,
# and what a failing or hanging hook does.

load helpers

setup_file() { berth_setup_file; }
teardown_file() { berth_teardown_file; }
setup() {
	berth_setup
	setup_bundle
	add_shared_dir
	update_config '.root.readonly = false'
	OUT="$TEST_DIR/shared"
	# The host-side hook: records its kind, args, env, mount namespace and
	# stdin under $OUT (a path that is the same seen from the host and, before
	# pivot_root, from the container's mount namespace).
	HOOK="$TEST_DIR/hook.sh"
	cat >"$HOOK" <<-'EOS'
		#!/bin/sh
		out=$1; kind=$2; shift 2
		{
			echo "args=$*"
			echo "env=$HOOKVAR"
			echo "mnt=$(readlink /proc/self/ns/mnt)"
			echo "state=$(cat)"
		} >"$out/$kind"
	EOS
	chmod 755 "$HOOK"
	# The startContainer hook runs after pivot_root: its path is inside.
	cat >"$BUNDLE/rootfs/hook.sh" <<-'EOS'
		#!/bin/sh
		{ echo "mnt=$(readlink /proc/self/ns/mnt)"; echo "state=$(cat)"; } >/shared/startContainer
	EOS
	chmod 755 "$BUNDLE/rootfs/hook.sh"
}
teardown() { berth_teardown; }

# hook KIND: a hook entry running $HOOK for KIND.
hook() {
	jq -n --arg p "$HOOK" --arg out "$OUT" --arg k "$1" \
		'{path: $p, args: [$p, $out, $k, "extra-arg"], env: ["HOOKVAR=set-by-config"]}'
}

field() { sed -n "s/^$2=//p" "$OUT/$1"; }

@test "hooks: each kind runs at its moment, in its namespaces, with the state on stdin" {
	update_config '.hooks = {prestart: [$pre], createRuntime: [$cr], createContainer: [$cc],
		  startContainer: [{path: "/hook.sh"}], poststart: [$ps], poststop: [$pst]}' \
		--argjson pre "$(hook prestart)" --argjson cr "$(hook createRuntime)" \
		--argjson cc "$(hook createContainer)" --argjson ps "$(hook poststart)" \
		--argjson pst "$(hook poststop)"
	set_args sleep 100
	id=$(new_id)
	host_mnt=$(readlink /proc/self/ns/mnt)

	create_container "$id"
	pid=$(container_pid "$id")
	ctr_mnt=$(readlink "/proc/$pid/ns/mnt")
	# Status "created": runtime.md's status after its step 2; these hooks
	# are steps 3-5 (runc says "creating" here, crun "created").
	for k in prestart createRuntime createContainer; do
		[ -f "$OUT/$k" ]
		[ "$(field $k args)" = extra-arg ]
		[ "$(field $k env)" = set-by-config ]
		field $k state | jq -e --arg id "$id" --argjson pid "$pid" \
			'.id == $id and .pid == $pid and .status == "created" and .bundle != ""' >/dev/null
	done
	# prestart and createRuntime in the runtime's namespaces, createContainer
	# in the container's.
	[ "$(field prestart mnt)" = "$host_mnt" ]
	[ "$(field createRuntime mnt)" = "$host_mnt" ]
	[ "$(field createContainer mnt)" = "$ctr_mnt" ]
	# Nothing of start yet.
	[ ! -e "$OUT/startContainer" ] && [ ! -e "$OUT/poststart" ]

	run berth start "$id"
	[ "$status" -eq 0 ]
	[ "$(field startContainer mnt)" = "$ctr_mnt" ]
	field startContainer state | jq -e '.status == "created"' >/dev/null
	field poststart state | jq -e '.status == "running"' >/dev/null
	[ "$(field poststart mnt)" = "$host_mnt" ]
	[ ! -e "$OUT/poststop" ]

	run berth delete -f "$id"
	[ "$status" -eq 0 ]
	field poststop state | jq -e --arg id "$id" '.id == $id and .status == "stopped"' >/dev/null
}

@test "hooks: a failing createRuntime hook fails create and leaves nothing" {
	update_config '.hooks = {createRuntime: [{path: "/bin/sh", args: ["sh", "-c", "echo broken hook >&2; exit 3"]}]}'
	set_args sleep 100
	id=$(new_id)
	run berth_detached create --bundle "$BUNDLE" "$id"
	[ "$status" -ne 0 ]
	[[ "$output" == *"hooks.createRuntime[0]"* ]]
	[[ "$output" == *"broken hook"* ]]
	assert_no_trace "$id"
}

@test "hooks: a hook past its timeout is killed and fails create" {
	update_config '.hooks = {prestart: [{path: "/bin/sleep", args: ["sleep", "30"], timeout: 1}]}'
	set_args true
	id=$(new_id)
	SECONDS=0
	run berth_detached create --bundle "$BUNDLE" "$id"
	[ "$status" -ne 0 ]
	[ "$SECONDS" -lt 10 ]
	[[ "$output" == *"timed out after 1s"* ]]
	assert_no_trace "$id"
	[ -z "$(pgrep -f '^sleep 30$' || true)" ]
}

@test "hooks: a failing startContainer hook fails start with its error" {
	update_config '.hooks = {startContainer: [{path: "/bin/sh", args: ["sh", "-c", "echo no start >&2; exit 1"]}]}'
	set_args sleep 100
	id=$(new_id)
	create_container "$id"
	run berth start "$id"
	[ "$status" -ne 0 ]
	[[ "$output" == *"hooks.startContainer[0]"* ]]
	[[ "$output" == *"no start"* ]]
	wait_for status_is "$id" stopped
}

@test "hooks: failing poststart and poststop hooks are warnings" {
	update_config '.hooks = {poststart: [{path: "/bin/false"}], poststop: [{path: "/bin/false"}]}'
	set_args sleep 100
	id=$(new_id)
	create_container "$id"
	run berth start "$id"
	[ "$status" -eq 0 ]
	[[ "$output" == *"hooks.poststart[0]"* ]]
	testcontainer "$id" running
	run berth delete -f "$id"
	[ "$status" -eq 0 ]
	[[ "$output" == *"hooks.poststop[0]"* ]]
	run berth state "$id"
	[ "$status" -ne 0 ]
}

@test "hooks: a hook path that does not exist is refused before anything is created" {
	update_config '.hooks = {createRuntime: [{path: "/no/such/hook"}]}'
	set_args true
	id=$(new_id)
	run berth_detached create --bundle "$BUNDLE" "$id"
	[ "$status" -ne 0 ]
	[[ "$output" == *"/no/such/hook"* ]]
	berth_only
	[[ "$output" == *"hooks.createRuntime[0].path"* ]] # berth message
	assert_no_trace "$id"
}

@test "hooks: run runs every kind, poststop after the process exits" {
	update_config '.hooks = {poststart: [$ps], poststop: [$pst]}' \
		--argjson ps "$(hook poststart)" --argjson pst "$(hook poststop)"
	set_args sh -c 'exit 0'
	run berth run "$(new_id)"
	[ "$status" -eq 0 ]
	[ -f "$OUT/poststart" ]
	[ -f "$OUT/poststop" ]
}

@test "hooks: after a failing poststart hook the next ones still run" {
	update_config '.hooks = {poststart: [{path: "/bin/false"}, $ok]}' --argjson ok "$(hook poststart)"
	set_args sleep 100
	id=$(new_id)
	create_container "$id"
	run berth start "$id"
	[ "$status" -eq 0 ]
	[ -f "$OUT/poststart" ]
}
