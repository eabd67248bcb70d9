#!/usr/bin/env bats
# process.terminal with `run` in the foreground and no --console-socket: the
# runtime keeps the pty master itself and proxies it to its own stdio. util-
# linux `script` gives the runtime a terminal; `script -e` returns the exit
# status of its child.

load helpers

setup_file() { berth_setup_file; }
teardown_file() { berth_teardown_file; }
setup() {
	berth_setup
	setup_bundle
	update_config '.process.terminal = true'
	command -v script >/dev/null || skip "no script(1)"
}
teardown() { berth_teardown; }

@test "foreground terminal: the process has a tty, output arrives, exit status is kept" {
	set_args sh -c 'tty; echo done; exit 3'
	id=$(new_id)
	run_in_script "$id"
	echo "status $status: $output"
	[ "$status" -eq 3 ]
	[[ "${lines[0]}" =~ ^/dev/(console|pts/[0-9]+)$ ]]
	[ "${lines[1]}" = done ]
	run berth list -q
	[ -z "$output" ]
}

@test "foreground terminal: exit status 0" {
	set_args sh -c '[ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo all-ttys'
	run_in_script "$(new_id)"
	echo "status $status: $output"
	[ "$status" -eq 0 ]
	[ "$output" = all-ttys ]
}

@test "foreground terminal: the container's pty does not add a second CR (onlcr off, as runc)" {
	# runc clears ONLCR on the container's pty, so that "\n" is translated
	# once, by the caller's terminal, not twice ("\r\r\n").
	set_args sh -c 'stty -a; echo done'
	run_in_script "$(new_id)"
	echo "status $status: $output"
	[ "$status" -eq 0 ]
	[[ " $(tr ';' ' ' <<<"$output" | tr '\n' ' ') " == *" -onlcr "* ]]
	[[ "$RAW_OUTPUT" != *$'\r\r\n'* ]]
}

@test "run --detach with terminal and no --console-socket fails and leaves nothing" {
	set_args true
	id=$(new_id)
	run berth_detached run --detach --bundle "$BUNDLE" "$id"
	echo "status $status: $output"
	[ "$status" -ne 0 ]
	assert_no_trace "$id"
}
