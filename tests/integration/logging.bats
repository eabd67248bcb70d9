#!/usr/bin/env bats
# Global logging flags: --log, --log-format, --debug. containerd runs the
# runtime with `--log FILE --log-format json` and reads the last "error"
# line of FILE to explain a failure, so that line must be there.

load helpers

setup_file() { berth_setup_file; }
teardown_file() { berth_teardown_file; }
setup() {
	berth_setup
	setup_bundle
	set_args true
}
teardown() { berth_teardown; }

@test "--log FILE --log-format json: a failed create writes a JSON error line" {
	rm -rf "$BUNDLE/rootfs"
	log="$TEST_DIR/runtime.log"
	id=$(new_id)
	run berth_detached --log "$log" --log-format json create --bundle "$BUNDLE" "$id"
	echo "status $status: $output"
	[ "$status" -ne 0 ]
	assert_no_trace "$id"

	echo "log: $(cat "$log")"
	[ -s "$log" ]
	# Every line is a JSON object (containerd parses them one by one).
	while IFS= read -r line; do
		jq -e 'type == "object"' <<<"$line" >/dev/null
	done <"$log"
	# One of them is the error, and its msg names the problem.
	msg="$(jq -r 'select(.level == "error") | .msg' "$log")"
	[ -n "$msg" ]
	[[ "$msg" == *rootfs* ]]
}

@test "--log FILE --log-format text: a failed create writes level=error" {
	rm -rf "$BUNDLE/rootfs"
	log="$TEST_DIR/runtime.log"
	id=$(new_id)
	run berth_detached --log "$log" --log-format text create --bundle "$BUNDLE" "$id"
	echo "status $status: $output"
	[ "$status" -ne 0 ]
	assert_no_trace "$id"

	echo "log: $(cat "$log")"
	grep -q 'level=error' "$log"
	grep 'level=error' "$log" | grep -q 'msg=.*rootfs'
	# Text, not JSON.
	! jq -e . "$log" >/dev/null 2>&1
}

@test "--log-format yaml is refused and nothing is created" {
	id=$(new_id)
	run berth_detached --log-format yaml run --detach --bundle "$BUNDLE" "$id"
	echo "status $status: $output"
	[ "$status" -ne 0 ]
	[[ "$output" == *yaml* ]]
	assert_no_trace "$id"
}

@test "--debug is accepted and a run still works" {
	set_args echo hello
	run --separate-stderr berth --debug run "$(new_id)"
	echo "status $status: stdout [$output] stderr [$stderr]"
	[ "$status" -eq 0 ]
	[ "$output" = hello ]
}

@test "--debug with --log-format json keeps every log line JSON" {
	set_args echo hello
	log="$TEST_DIR/runtime.log"
	run --separate-stderr berth --debug --log "$log" --log-format json run "$(new_id)"
	echo "status $status: stdout [$output] stderr [$stderr] log [$(cat "$log" 2>/dev/null)]"
	[ "$status" -eq 0 ]
	[ "$output" = hello ]
	if [ -s "$log" ]; then
		while IFS= read -r line; do
			jq -e 'type == "object" and has("level") and has("msg")' <<<"$line" >/dev/null
		done <"$log"
	fi
}
