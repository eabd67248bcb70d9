#!/usr/bin/env bats
# `features` (the OCI features document) and the config fields the runtime
# does not support: a feature that is not there must be refused at create,
# with the JSON path named, and leave nothing behind.

load helpers

setup_file() { berth_setup_file; }
teardown_file() { berth_teardown_file; }
setup() { berth_setup; }
teardown() { berth_teardown; }

# berth_features_only: the claims below are about berth's own feature set
# (runc supports seccomp, hooks and memory limits).
berth_features_only() {
	[ "$(runtime_name)" = berth ] || skip "berth's own feature set (runtime is $(runtime_name))"
}

# version_le A B: A <= B as versions (1.0.2-dev < 1.0.2 is not needed here).
version_le() {
	[ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n1)" = "$1" ]
}

@test "features prints a JSON document with the OCI version range" {
	run --separate-stderr berth features
	[ "$status" -eq 0 ]
	jq -e 'type == "object"' <<<"$output" >/dev/null
	min="$(jq -r '.ociVersionMin' <<<"$output")"
	max="$(jq -r '.ociVersionMax' <<<"$output")"
	echo "min=$min max=$max"
	[[ "$min" =~ ^[0-9]+\.[0-9]+\.[0-9]+ ]]
	[[ "$max" =~ ^[0-9]+\.[0-9]+\.[0-9]+ ]]
	version_le "$min" "$max"

	# The config `spec` writes is within the advertised range.
	setup_bundle
	ver="$(jq -r '.ociVersion' "$BUNDLE/config.json")"
	echo "spec ociVersion=$ver"
	version_le "$min" "$ver"
	version_le "$ver" "$max"
}

@test "features lists the namespaces and cgroup v1" {
	run --separate-stderr berth features
	[ "$status" -eq 0 ]
	for ns in pid network mount ipc uts user cgroup; do
		jq -e --arg ns "$ns" '.linux.namespaces | index($ns) != null' <<<"$output" >/dev/null || {
			echo "namespace $ns missing from features"
			false
		}
	done
	jq -e '.linux.cgroup.v1 == true' <<<"$output" >/dev/null
}

@test "features: berth lists all 8 namespaces and seccomp as enabled" {
	berth_features_only
	run --separate-stderr berth features
	[ "$status" -eq 0 ]
	echo "$output"
	jq -e '.linux.namespaces | sort == (["pid","network","mount","ipc","uts","user","cgroup","time"] | sort)' <<<"$output" >/dev/null
	jq -e '.linux.cgroup.v1 == true' <<<"$output" >/dev/null
	jq -e '.linux.seccomp.enabled == true' <<<"$output" >/dev/null
	jq -e '.linux.seccomp.actions | index("SCMP_ACT_ERRNO") != null' <<<"$output" >/dev/null
}

# refused FILTER PATH: with the config changed by FILTER, create and run both
# fail with an error naming PATH and "not supported", leaving no trace.
refused() {
	local filter="$1" path="$2" cmd id
	setup_bundle
	set_args true
	update_config "$filter"
	for cmd in create run; do
		id=$(new_id)
		run berth_detached "$cmd" --bundle "$BUNDLE" "$id"
		echo "$cmd: status $status: $output"
		[ "$status" -ne 0 ]
		[[ "$output" == *"$path"* ]]
		[[ "$output" == *"not supported"* ]]
		assert_no_trace "$id"
	done
}

@test "features: seccomp lists SCMP_ACT_NOTIFY" {
	berth_features_only
	run --separate-stderr berth features
	jq -e '.linux.seccomp.actions | index("SCMP_ACT_NOTIFY") != null' <<<"$output" >/dev/null
}

@test "seccomp: a rule returning EPERM for mkdir is applied to the process" {
	setup_bundle
	set_args sh -c 'mkdir /tmp/x; echo "rc=$?"; grep "^Seccomp:" /proc/self/status'
	update_config '.root.readonly = false | .linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}'
	run berth run --bundle "$BUNDLE" "$(new_id)"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"rc=1"* ]]
	[[ "$output" == *"Operation not permitted"* ]]
	[[ "$output" == *$'Seccomp:\t2'* ]]
}

@test "unsupported: linux.intelRdt is refused at create" {
	berth_features_only
	refused '.linux.intelRdt = {"closID": "berth-test"}' linux.intelRdt.closID
}

@test "features: berth lists the six hook kinds" {
	berth_features_only
	run --separate-stderr berth features
	jq -e '.hooks | sort == (["prestart","createRuntime","createContainer","startContainer","poststart","poststop"] | sort)' <<<"$output" >/dev/null
}

@test "features: idmapped mounts are enabled (mounts.bats tests them)" {
	berth_features_only
	run --separate-stderr berth features
	jq -e '.linux.mountExtensions.idmap.enabled == true' <<<"$output" >/dev/null
}
