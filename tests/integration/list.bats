#!/usr/bin/env bats
# `list`: table, json and quiet formats.

load helpers

setup_file() { berth_setup_file; }
teardown_file() { berth_teardown_file; }
setup() {
	berth_setup
	setup_bundle
}
teardown() { berth_teardown; }

HEADER_RE='^ID +PID +STATUS +BUNDLE +CREATED +OWNER$'

@test "list of an empty root prints only the header" {
	run berth list
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "${lines[0]}" =~ $HEADER_RE ]]

	run berth list -q
	[ "$status" -eq 0 ]
	[ -z "$output" ]

	run berth list --format json
	[ "$status" -eq 0 ]
	# runc prints "null"; an empty array is as good.
	[ "$(jq -r 'length' <<<"$output")" -eq 0 ]
}

@test "list shows running, created and stopped containers as a table" {
	set_args sleep 100
	running=$(new_id)
	created=$(new_id)
	run_detached "$running"
	create_container "$created"
	set_args true
	stopped=$(new_id)
	run_detached "$stopped"
	wait_for status_is "$stopped" stopped

	run berth list
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ $HEADER_RE ]]
	[ "${#lines[@]}" -eq 4 ]

	# Columns: ID PID STATUS BUNDLE CREATED OWNER.
	row() { printf '%s\n' "${lines[@]:1}" | awk -v id="$1" '$1 == id'; }
	read -r rid rpid rstatus rbundle rcreated rowner <<<"$(row "$running")"
	[ "$rid" = "$running" ]
	[ "$rpid" = "$(container_pid "$running")" ]
	[ "$rstatus" = running ]
	[ "$rbundle" = "$BUNDLE" ]
	[[ "$rcreated" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T ]]
	[ "$rowner" = "$(id -un)" ]

	read -r cid cpid cstatus _ <<<"$(row "$created")"
	[ "$cstatus" = created ]
	[ "$cpid" = "$(container_pid "$created")" ]

	read -r sid spid sstatus _ <<<"$(row "$stopped")"
	[ "$sstatus" = stopped ]
	[ "$spid" = 0 ]
}

@test "list --format json" {
	update_config '.annotations = {"k": "v"}'
	set_args sleep 100
	id=$(new_id)
	run_detached "$id"

	run berth list --format json
	[ "$status" -eq 0 ]
	[ "$(jq -r 'type' <<<"$output")" = array ]
	[ "$(jq -r 'length' <<<"$output")" -eq 1 ]
	c="$(jq -c '.[0]' <<<"$output")"
	[ "$(jq -r .id <<<"$c")" = "$id" ]
	[ "$(jq -r .pid <<<"$c")" = "$(container_pid "$id")" ]
	[ "$(jq -r .status <<<"$c")" = running ]
	[ "$(jq -r .bundle <<<"$c")" = "$BUNDLE" ]
	jq -e '.created | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T")' <<<"$c" >/dev/null
	[ "$(jq -r .owner <<<"$c")" = "$(id -un)" ]

	# -f is short for --format.
	run berth list -f json
	[ "$status" -eq 0 ]
	[ "$(jq -r '.[0].id' <<<"$output")" = "$id" ]
}

@test "list --quiet and -q print the ids only" {
	set_args sleep 100
	a=$(new_id)
	b=$(new_id)
	run_detached "$a"
	run_detached "$b"

	for flag in --quiet -q; do
		run berth list "$flag"
		[ "$status" -eq 0 ]
		[ "$(printf '%s\n' "${lines[@]}" | sort)" = "$(printf '%s\n' "$a" "$b" | sort)" ]
	done
}

@test "list with an unknown format fails" {
	run berth list --format yaml
	[ "$status" -ne 0 ]
}
