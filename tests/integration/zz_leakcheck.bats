#!/usr/bin/env bats
# Runs last (files run in name order): fails if the suite left anything
# behind. Every check reports what it found and then cleans up what is
# provably the suite's own (recorded dirs and ids), so one leak does not
# poison later runs. The order matters: processes, then cgroups, then
# mounts, then state dirs, so that cleaning one kind does not hide another
# (delete -f of a leftover state dir would kill its processes). Set BERTH_LEAKCHECK_NOCLEAN=1 to keep the leftovers for
# inspection.

load helpers

# recorded FILE: print the lines of $RECORD_DIR/FILE (nothing if absent).
recorded() {
	[ -f "$RECORD_DIR/$1" ] && sort -u "$RECORD_DIR/$1"
	return 0
}

cleanup_wanted() {
	[ -z "${BERTH_LEAKCHECK_NOCLEAN:-}" ]
}

# report MSG...: print to the test output (shown on failure).
report() {
	echo "LEAK: $*"
}

@test "no state left under /run/berth" {
	left=""
	if [ -d /run/berth ]; then
		left="$(ls -A /run/berth)"
	fi
	[ -z "$left" ] || {
		report "/run/berth has: $left"
		false
	}
}

@test "no live processes of the suite's containers" {
	ids="$(recorded ids)"
	leaks="" pids=()
	for f in /proc/[0-9]*; do
		pid="${f#/proc/}"
		pid_alive "$pid" || continue
		cmd="$(tr '\0' ' ' <"$f/cmdline" 2>/dev/null)" || continue
		cg="$(cat "$f/cgroup" 2>/dev/null)"$'\n' || continue
		ours=""
		for id in $ids; do
			if [[ "$cg" == *"/$id"[/$'\n']* ]]; then
				ours="$id"
				break
			fi
		done
		if [ -n "$ours" ]; then
			leaks+="$pid ($cmd in $ours) "
			pids+=("$pid") # provably ours: cleaned up below
		elif [[ "$cmd" == *"berth init"* ]]; then
			leaks+="$pid ($cmd) " # reported, but not ours to kill
		fi
	done
	[ -z "$leaks" ] || {
		report "processes: $leaks"
		if cleanup_wanted; then
			for p in "${pids[@]}"; do
				kill -9 "$p" 2>/dev/null || true
			done
		fi
		false
	}
}

@test "no cgroups left named after the suite's container ids" {
	left=""
	for id in $(recorded ids); do
		left+="$(cgroups_named "$id")"$'\n'
	done
	left="$(grep -v '^$' <<<"$left" || true)"
	[ -z "$left" ] || {
		report "cgroups: $left"
		if cleanup_wanted; then
			sleep 0.2 # let killed processes leave their cgroups
			# Deepest first.
			sort -r <<<"$left" | while read -r cg; do rmdir "$cg" || true; done
		fi
		false
	}
}

@test "no mounts left that mention the suite's paths" {
	left="$(grep -E "berth-bats|${BATS_PREFIX//./\\.}" /proc/self/mountinfo || true)"
	[ -z "$left" ] || {
		report "mounts: $left"
		if cleanup_wanted; then
			# Only under this run's own dirs (another run may be going on),
			# deepest first.
			awk '{print $5}' <<<"$left" | sort -r | while read -r mnt; do
				for dir in $(recorded dirs); do
					case "$mnt" in "$dir" | "$dir"/*) umount -l "$mnt" || true ;; esac
				done
			done
		fi
		false
	}
}

@test "no state or temp dirs left in the suite's roots" {
	leaks=0
	for dir in $(recorded dirs); do
		[ -e "$dir" ] || continue
		leaks=1
		root="$dir/root"
		report "$dir remains; state in $root: $(ls -A "$root" 2>/dev/null | tr '\n' ' ')"
		if cleanup_wanted; then
			for id in $(ls -A "$root" 2>/dev/null); do
				"$BERTH" --root "$root" delete -f "$id" >/dev/null 2>&1 || true
			done
			safe_rm "$dir"
		fi
	done
	[ "$leaks" -eq 0 ]
}
