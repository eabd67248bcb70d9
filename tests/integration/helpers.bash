#!/bin/bash
# Shared helpers for the berth integration tests.
#
# Every .bats file does:
#
#	load helpers
#	setup_file()    { berth_setup_file; }
#	teardown_file() { berth_teardown_file; }
#	setup()         { berth_setup; }
#	teardown()      { berth_teardown; }
#
# Environment:
#	BERTH    runtime binary under test (default: <repo>/berth). Set it to
#	         /usr/sbin/runc to check that a test describes runc's behaviour.
#	RECVTTY  prebuilt tests/cmd/recvtty binary (default: built once per run).
#	BUSYBOX  static busybox used to make the rootfs (default: /bin/busybox).
#	BERTH_TIMEOUT  seconds before a hung runtime call is killed (default 60).
#	BERTH_RUN_KNOWN_RUNC_BUGS=1  run the tests skipped for known runc bugs.
#
# Layout (all under /tmp, mode 0755 so that any uid can walk it):
#	$SUITE_DIR          /tmp/berth-bats.XXXXXX, one per .bats file
#	$BERTH_ROOT         $SUITE_DIR/root, passed as --root to every call
#	$TEST_DIR           $SUITE_DIR/test.XXXXXX, one per test
#	$BUNDLE             $TEST_DIR/bundle (made by setup_bundle)
#
# Everything a run creates is recorded under $BATS_RUN_TMPDIR/berth-record so
# that zz_leakcheck.bats (which sorts last) can look for leftovers.

bats_require_minimum_version 1.5.0 # run --separate-stderr, run -N

INTEGRATION_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$INTEGRATION_DIR/../.." && pwd)"

: "${BERTH:=$REPO_DIR/berth}"
: "${BUSYBOX:=/bin/busybox}"
export BERTH BUSYBOX

# Prefix of every temp dir the suite makes; the leak check greps for it.
BATS_PREFIX=/tmp/berth-bats.

# Suite-wide record of the dirs and ids used by this bats run.
RECORD_DIR="${BATS_RUN_TMPDIR:-/tmp}/berth-record"

# berth runs the runtime under test against this file's private state root.
# A call that hangs is killed after BERTH_TIMEOUT seconds (default 60, 0 to
# disable) and returns 124, so a broken runtime fails the test instead of
# hanging the suite.
berth() {
	if [ "${BERTH_TIMEOUT:-60}" = 0 ]; then
		"$BERTH" --root "$BERTH_ROOT" "$@"
	else
		timeout -k 5 "${BERTH_TIMEOUT:-60}" "$BERTH" --root "$BERTH_ROOT" "$@"
	fi
}

# runtime_name prints the basename of $BERTH (berth, runc, crun...).
runtime_name() {
	basename "$BERTH"
}

# berth_only skips the current test unless the runtime is berth itself.
# Use it ONLY in front of assertions on berth's own message text; the exit
# status of the same case must be checked before calling it.
berth_only() {
	case "$(runtime_name)" in
	runc | crun) skip "berth message text (runtime is $(runtime_name))" ;;
	esac
}

# skip_known_runc_bug REASON: skip a test whose case runc itself gets wrong
# in a way that leaks (processes, cgroups) on the host. Set
# BERTH_RUN_KNOWN_RUNC_BUGS=1 to run it against runc anyway.
skip_known_runc_bug() {
	if [ "$(runtime_name)" = runc ] && [ -z "${BERTH_RUN_KNOWN_RUNC_BUGS:-}" ]; then
		skip "known runc bug: $1"
	fi
}

# ---------------------------------------------------------------------------
# setup / teardown

berth_setup_file() {
	[ -x "$BERTH" ] || {
		echo "runtime $BERTH is not executable (set BERTH=...)" >&2
		return 1
	}
	mkdir -p "$RECORD_DIR"
	SUITE_DIR="$(mktemp -d "${BATS_PREFIX}XXXXXX")"
	chmod 0755 "$SUITE_DIR"
	echo "$SUITE_DIR" >>"$RECORD_DIR/dirs"
	BERTH_ROOT="$SUITE_DIR/root"
	mkdir -m 0700 "$BERTH_ROOT"
	make_rootfs_template "$SUITE_DIR/rootfs.template"
	export SUITE_DIR BERTH_ROOT
}

berth_teardown_file() {
	[ -n "${SUITE_DIR:-}" ] || return 0
	# A state dir left in the root is a leak: keep it for zz_leakcheck.bats
	# to report (it cleans up after reporting). Otherwise remove everything.
	if [ -n "$(ls -A "$BERTH_ROOT" 2>/dev/null)" ]; then
		echo "# leftover state in $BERTH_ROOT: $(ls -A "$BERTH_ROOT" | tr '\n' ' ')" >&3
		safe_rm "$SUITE_DIR/rootfs.template"
		return 0
	fi
	safe_rm "$SUITE_DIR"
}

berth_setup() {
	TEST_DIR="$(mktemp -d "$SUITE_DIR/test.XXXXXX")"
	chmod 0755 "$TEST_DIR"
	: >"$TEST_DIR/ids"
	: >"$TEST_DIR/pids"
	BUNDLE=""
	export TEST_DIR BUNDLE
}

berth_teardown() {
	[ -n "${TEST_DIR:-}" ] || return 0
	local id pid
	while read -r id; do
		berth delete -f "$id" >/dev/null 2>&1 || true
	done <"$TEST_DIR/ids"
	# Helper processes the test started (recvtty...), by pid only.
	while read -r pid; do
		kill -9 "$pid" 2>/dev/null || true
	done <"$TEST_DIR/pids"
	safe_rm "$TEST_DIR"
}

# safe_rm removes DIR unless something is still mounted under it (a leaked
# bind mount would make rm -rf reach into the host). Leaks are left in place
# for zz_leakcheck.bats to report.
safe_rm() {
	local dir="$1"
	[ -e "$dir" ] || return 0
	if awk -v d="$dir" '$5 == d || index($5, d "/") == 1 { found = 1 } END { exit !found }' /proc/self/mountinfo; then
		echo "# not removing $dir: still mounted under it" >&3
		return 0
	fi
	rm -rf "$dir"
}

# ---------------------------------------------------------------------------
# ids and processes

# new_id prints a fresh container id and records it for teardown (delete -f)
# and for the suite-wide leak check. Use as: id=$(new_id)
new_id() {
	local n id
	n="$(wc -l <"$TEST_DIR/ids")"
	id="test_${RANDOM}${RANDOM}_${BATS_TEST_NUMBER:-0}_$n"
	echo "$id" >>"$TEST_DIR/ids"
	echo "$id" >>"$RECORD_DIR/ids"
	echo "$id"
}

# track_pid records a helper process started by the test so that teardown
# can kill it if the test did not wait for it.
track_pid() {
	echo "$1" >>"$TEST_DIR/pids"
}

# pid_alive PID: true if PID exists and is not a zombie.
pid_alive() {
	local stat
	stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
	stat="${stat##*) }" # fields after "pid (comm) "
	[ "${stat%% *}" != Z ]
}

# children_of PID prints the pids whose parent is PID.
children_of() {
	local f stat rest
	for f in /proc/[0-9]*/stat; do
		stat="$(cat "$f" 2>/dev/null)" || continue
		rest="${stat##*) }"
		rest="${rest#* }" # drop the state field
		if [ "${rest%% *}" = "$1" ]; then
			stat="${f#/proc/}"
			echo "${stat%/stat}"
		fi
	done
}

# wait_for CMD...: poll CMD until it succeeds, for up to 5 seconds
# (WAIT_TIMEOUT overrides, in seconds).
wait_for() {
	local deadline=$((SECONDS + ${WAIT_TIMEOUT:-5}))
	until "$@"; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			echo "wait_for: timed out waiting for: $*" >&2
			return 1
		fi
		sleep 0.05
	done
}

# run_in_script ID [RUN-FLAGS...]: `berth run` under script(1); the output,
# with \r, NUL and the "^@" that script's pty echoes for the end of its
# (empty) stdin removed, is in $output and $lines; the raw one in $RAW_OUTPUT.
# util-linux script(1) gives berth a terminal; `script -e` returns the exit
# status of its child. Variables set for the call (VAR=x run_in_script ...)
# reach berth.
run_in_script() {
	local id="$1" cmd
	shift
	printf -v cmd '%q ' "$BERTH" --root "$BERTH_ROOT" run --bundle "$BUNDLE" "$@" "$id"
	run timeout -k 5 20 script -qec "$cmd" /dev/null </dev/null
	RAW_OUTPUT="$output"
	output="$(tr -d '\r\0' <<<"$output" | sed 's/\^@//g')"
	mapfile -t lines <<<"$output"
}

# ---------------------------------------------------------------------------
# bundles

# make_rootfs_template DIR: a busybox rootfs (bin/busybox, one symlink per
# applet, /etc/passwd and /etc/group with root and nobody).
make_rootfs_template() {
	local rootfs="$1" applet
	mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp" "$rootfs/root"
	chmod 1777 "$rootfs/tmp"
	cp "$BUSYBOX" "$rootfs/bin/busybox"
	for applet in $("$BUSYBOX" --list); do
		[ "$applet" = busybox ] && continue
		ln -s busybox "$rootfs/bin/$applet"
	done
	cat >"$rootfs/etc/passwd" <<-EOF
		root:x:0:0:root:/root:/bin/sh
		nobody:x:65534:65534:nobody:/nonexistent:/bin/false
	EOF
	cat >"$rootfs/etc/group" <<-EOF
		root:x:0:
		nogroup:x:65534:
	EOF
}

# setup_bundle: make $BUNDLE (rootfs + config.json from `$BERTH spec`) with
# terminal false, and cd into it (so a bare `berth run ID` uses it). Tests
# then set the command with set_args / update_config.
setup_bundle() {
	BUNDLE="$TEST_DIR/bundle"
	mkdir -m 0755 "$BUNDLE"
	cp -a "$SUITE_DIR/rootfs.template" "$BUNDLE/rootfs"
	cd "$BUNDLE" || return 1
	"$BERTH" spec || return 1
	update_config '.process.terminal = false'
	export BUNDLE
}

# update_config FILTER [JQ-ARGS...]: rewrite $BUNDLE/config.json with jq.
# Example: update_config '.hostname = $h' --arg h foo
update_config() {
	local filter="$1" cfg="$BUNDLE/config.json"
	shift
	jq "$@" "$filter" "$cfg" >"$cfg.tmp" && mv "$cfg.tmp" "$cfg"
}

# set_args ARG...: set process.args.
set_args() {
	# Each word is JSON-encoded on its own: jq 1.6 would take a "-c" given
	# through --args as one of its own options.
	local arg json=""
	for arg in "$@"; do
		json+="${json:+,}$(printf '%s' "$arg" | jq -Rs .)"
	done
	update_config ".process.args = [$json]"
}

# add_shared_dir: bind mount $TEST_DIR/shared (host) at /shared (container)
# read-write, so the container can leave markers the host can see.
add_shared_dir() {
	mkdir -m 0777 -p "$TEST_DIR/shared"
	update_config '.mounts += [{"destination": "/shared", "type": "bind",
		"source": $src, "options": ["rbind", "rw"]}]' --arg src "$TEST_DIR/shared"
}

# ---------------------------------------------------------------------------
# running containers

# berth_detached ARGS...: run `berth ARGS...` for a command that leaves a
# container behind (create, run -d) with the container's stdio on a file
# ($TEST_DIR/stdio.XXXXXX) instead of the caller's. Without this, bats `run`
# would wait for the container to close the captured pipe. The runtime's
# own messages are printed afterwards so that `run` sees them.
berth_detached() {
	local log rc=0
	log="$(mktemp "$TEST_DIR/stdio.XXXXXX")"
	berth "$@" </dev/null >"$log" 2>&1 || rc=$?
	cat "$log"
	return "$rc"
}

# create_container ID [FLAGS...]: berth create for $BUNDLE; fails the test
# on error.
create_container() {
	local id="$1"
	shift
	run berth_detached create --bundle "$BUNDLE" "$@" "$id"
	[ "$status" -eq 0 ] || {
		echo "create $id failed ($status): $output" >&2
		return 1
	}
}

# run_detached ID [FLAGS...]: berth run --detach for $BUNDLE; fails the test
# on error.
run_detached() {
	local id="$1"
	shift
	run berth_detached run --detach --bundle "$BUNDLE" "$@" "$id"
	[ "$status" -eq 0 ] || {
		echo "run -d $id failed ($status): $output" >&2
		return 1
	}
}

# container_status ID: print .status from `berth state` (empty on error).
container_status() {
	berth state "$1" 2>/dev/null | jq -r '.status'
}

# container_pid ID: print .pid from `berth state`.
container_pid() {
	berth state "$1" 2>/dev/null | jq -r '.pid'
}

# status_is ID STATUS: for wait_for.
status_is() {
	[ "$(container_status "$1")" = "$2" ]
}

# testcontainer ID STATUS: assert the container's status.
testcontainer() {
	local got
	got="$(container_status "$1")"
	[ "$got" = "$2" ] || {
		echo "container $1: status \"$got\", want \"$2\"" >&2
		return 1
	}
}

# comm_is PID NAME: for wait_for: PID's comm is NAME (e.g. the container's
# init has exec'd the user's "sleep"; `start` may return before it has).
comm_is() {
	[ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ]
}

# pid_gone PID: for wait_for.
pid_gone() {
	! pid_alive "$1"
}

# ---------------------------------------------------------------------------
# console socket receiver

# build_recvtty: set RECVTTY to a recvtty binary: $RECVTTY if set (e.g. the
# Makefile's tests/cmd/recvtty/recvtty), else one built from source once per
# bats run (so it is never stale).
build_recvtty() {
	if [ -n "${RECVTTY:-}" ]; then
		[ -x "$RECVTTY" ] || {
			echo "RECVTTY=$RECVTTY is not executable" >&2
			return 1
		}
		export RECVTTY
		return 0
	fi
	local out="$RECORD_DIR/recvtty"
	if [ ! -x "$out" ]; then
		(cd "$REPO_DIR" && go build -o "$out.tmp.$$" ./tests/cmd/recvtty) || return 1
		mv "$out.tmp.$$" "$out"
	fi
	RECVTTY="$out"
	export RECVTTY
}

# start_recvtty MODE [FLAGS...]: start recvtty on $TEST_DIR/console.sock with
# its output in $TEST_DIR/tty.out; sets CONSOLE_SOCKET and RECVTTY_PID.
start_recvtty() {
	local mode="$1"
	shift
	CONSOLE_SOCKET="$TEST_DIR/console.sock"
	rm -f "$TEST_DIR/recvtty.pid"
	# Close fd 3 (bats' output) so bats does not wait on the helper.
	"$RECVTTY" --mode "$mode" --pid-file "$TEST_DIR/recvtty.pid" "$@" "$CONSOLE_SOCKET" \
		</dev/null >"$TEST_DIR/tty.out" 2>"$TEST_DIR/recvtty.err" 3>&- &
	RECVTTY_PID=$!
	track_pid "$RECVTTY_PID"
	wait_for test -s "$TEST_DIR/recvtty.pid"
	export CONSOLE_SOCKET RECVTTY_PID
}

# wait_recvtty: wait (up to 5 s) for recvtty to see the pty close; prints
# nothing, the output is in $TEST_DIR/tty.out with \r removed in $TTY_OUT.
wait_recvtty() {
	wait_for pid_gone "$RECVTTY_PID" || return 1
	wait "$RECVTTY_PID" 2>/dev/null || true
	TTY_OUT="$(tr -d '\r' <"$TEST_DIR/tty.out")"
}

# ---------------------------------------------------------------------------
# leak checks (errors.bats and zz_leakcheck.bats)

# mounts_mentioning STR: print mountinfo lines that mention STR.
mounts_mentioning() {
	grep -F -- "$1" /proc/self/mountinfo || true
}

# cgroups_named ID: print cgroup dirs named after container ID under
# /sys/fs/cgroup/*/: ID itself, or with a prefix/suffix such as
# "berth-ID" or "ID.scope" (a runtime may decorate the name).
cgroups_named() {
	find /sys/fs/cgroup -mindepth 2 -type d \( -name "$1" -o -name "*[-_:]$1" \
		-o -name "$1.*" -o -name "*[-_:]$1.*" \) 2>/dev/null || true
}

# assert_no_trace ID: after a failed create/run, nothing of ID may remain:
# not in `list -q`, no state dir, no mount of the bundle, no cgroup.
assert_no_trace() {
	local id="$1" ids
	ids="$(berth list -q 2>&1)" || {
		echo "list -q failed: $ids" >&2
		return 1
	}
	[ -z "$ids" ] || {
		echo "list -q not empty: $ids" >&2
		return 1
	}
	[ -z "$(ls -A "$BERTH_ROOT" 2>/dev/null)" ] || {
		echo "state left in $BERTH_ROOT: $(ls -A "$BERTH_ROOT")" >&2
		return 1
	}
	if [ -n "${BUNDLE:-}" ] && [ -n "$(mounts_mentioning "$BUNDLE")" ]; then
		echo "mount left: $(mounts_mentioning "$BUNDLE")" >&2
		return 1
	fi
	if [ -n "$id" ] && [ -n "$(cgroups_named "$id")" ]; then
		echo "cgroup left: $(cgroups_named "$id")" >&2
		return 1
	fi
}
