#!/usr/bin/env bats
# process.terminal: the pty is handed over through --console-socket.

load helpers

setup_file() {
	berth_setup_file
	build_recvtty
}
teardown_file() { berth_teardown_file; }
setup() {
	berth_setup
	setup_bundle
	update_config '.process.terminal = true'
}
teardown() { berth_teardown; }

@test "terminal: output arrives through the pty via --console-socket" {
	start_recvtty single --no-stdin
	set_args sh -c 'echo hello from the pty; exit 0'
	id=$(new_id)

	run berth run --detach --console-socket "$CONSOLE_SOCKET" "$id"
	[ "$status" -eq 0 ]
	wait_recvtty
	[ "$TTY_OUT" = "hello from the pty" ]
	wait_for status_is "$id" stopped
}

@test "terminal: create + start with --console-socket" {
	start_recvtty single --no-stdin
	set_args sh -c 'echo started'
	id=$(new_id)

	run berth create --console-socket "$CONSOLE_SOCKET" "$id"
	[ "$status" -eq 0 ]
	testcontainer "$id" created
	run berth start "$id"
	[ "$status" -eq 0 ]
	wait_recvtty
	[ "$TTY_OUT" = "started" ]
}

@test "terminal: stdio of the process is a tty" {
	start_recvtty single --no-stdin
	set_args sh -c 'tty; [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo all-ttys'
	id=$(new_id)

	run berth run -d --console-socket "$CONSOLE_SOCKET" "$id"
	[ "$status" -eq 0 ]
	wait_recvtty
	[[ "${TTY_OUT%%$'\n'*}" =~ ^/dev/(console|pts/[0-9]+)$ ]]
	[ "${TTY_OUT#*$'\n'}" = all-ttys ]
}

@test "terminal: consoleSize sets the window size" {
	start_recvtty single --no-stdin
	update_config '.process.consoleSize = {"height": 37, "width": 111}'
	set_args stty size
	id=$(new_id)

	run berth run -d --console-socket "$CONSOLE_SOCKET" "$id"
	[ "$status" -eq 0 ]
	wait_recvtty
	[ "$TTY_OUT" = "37 111" ]
}

@test "terminal: null mode receiver drains the output" {
	start_recvtty null
	set_args sh -c 'i=0; while [ $i -lt 200 ]; do echo line $i; i=$((i+1)); done'
	id=$(new_id)

	run berth run -d --console-socket "$CONSOLE_SOCKET" "$id"
	[ "$status" -eq 0 ]
	wait_recvtty
	[ -z "$TTY_OUT" ]
	wait_for status_is "$id" stopped
}

@test "terminal: stdin of the receiver reaches the process" {
	CONSOLE_SOCKET="$TEST_DIR/console.sock"
	mkfifo "$TEST_DIR/tty.in"
	"$RECVTTY" --mode single --pid-file "$TEST_DIR/recvtty.pid" "$CONSOLE_SOCKET" \
		<"$TEST_DIR/tty.in" >"$TEST_DIR/tty.out" 2>&1 3>&- &
	RECVTTY_PID=$!
	track_pid "$RECVTTY_PID"
	exec 5>"$TEST_DIR/tty.in" # unblocks recvtty's open of its stdin
	wait_for test -s "$TEST_DIR/recvtty.pid"

	set_args sh -c 'stty -echo; read line; echo "got $line"'
	id=$(new_id)
	run berth run -d --console-socket "$CONSOLE_SOCKET" "$id"
	[ "$status" -eq 0 ]
	wait_for status_is "$id" running
	echo "typed" >&5
	wait_recvtty
	exec 5>&-
	[[ "$TTY_OUT" == *"got typed"* ]]
}

@test "terminal: create without --console-socket fails and leaves nothing" {
	set_args true
	id=$(new_id)
	run berth create "$id"
	[ "$status" -ne 0 ]
	assert_no_trace "$id"
}
