#!/usr/bin/env bats
# The process attributes of config.json: oomScoreAdj, sysctl, personality,
# scheduler, ioPriority, CPU affinity, memoryPolicy, the LSM fields (refused
# here: the host has neither AppArmor nor SELinux) and rlimits the host
# refuses. Each is checked from inside the container, or from the host for
# what the container cannot see, and each rejection leaves no trace.

load helpers

setup_file() { berth_setup_file; }
teardown_file() { berth_teardown_file; }
setup() {
	berth_setup
	setup_bundle
}
teardown() { berth_teardown; }

# run_in FILTER CMD...: run CMD in a container whose config is changed by
# the jq FILTER; sets $status and $output.
run_in() {
	update_config "$1"
	shift
	set_args "$@"
	run berth run "$(new_id)"
	echo "status $status: $output"
}

# refused FILTER TEXT...: with the config changed by FILTER, run fails with
# every TEXT in its error and leaves no trace.
refused() {
	local filter="$1" id text
	shift
	# Each call starts from the config as it was at the first one.
	[ -e "$BUNDLE/config.orig" ] || cp "$BUNDLE/config.json" "$BUNDLE/config.orig"
	cp "$BUNDLE/config.orig" "$BUNDLE/config.json"
	update_config "$filter"
	set_args true
	id=$(new_id)
	run berth_detached run --bundle "$BUNDLE" "$id"
	echo "status $status: $output"
	[ "$status" -ne 0 ]
	for text in "$@"; do
		[[ "$output" == *"$text"* ]] || {
			echo "missing: $text" >&2
			return 1
		}
	done
	assert_no_trace "$id"
}

# stat_field N: field N of /proc/self/stat (counted as in proc(5)), for
# run_in: the comm field holds no space here.
stat_field() {
	echo "cut -d' ' -f$1 /proc/self/stat"
}

# --- oomScoreAdj -------------------------------------------------------------

@test "oomScoreAdj: 500 is what the process has" {
	run_in '.process.oomScoreAdj = 500' cat /proc/self/oom_score_adj
	[ "$status" -eq 0 ]
	[ "$output" = 500 ]
}

@test "oomScoreAdj: unset leaves the value inherited from berth" {
	run_in '.' cat /proc/self/oom_score_adj
	[ "$status" -eq 0 ]
	[ "$output" = "$(cat /proc/self/oom_score_adj)" ]
}

@test "oomScoreAdj: a value the host cannot apply is a clear error" {
	if sh -c 'echo -1000 >/proc/self/oom_score_adj' 2>/dev/null; then
		skip "this host can lower oom_score_adj (CAP_SYS_RESOURCE)"
	fi
	refused '.process.oomScoreAdj = -1000' process.oomScoreAdj "-1000" CAP_SYS_RESOURCE "permission denied"
}

@test "oomScoreAdj: out of range is refused before anything is created" {
	refused '.process.oomScoreAdj = 1001' 'process.oomScoreAdj: 1001 is not in -1000..1000'
}

# --- sysctl ------------------------------------------------------------------

@test "sysctl: namespaced ipc, net and uts sysctls are written, the host's are not" {
	local host_shmmax host_fwd
	host_shmmax="$(cat /proc/sys/kernel/shmmax)"
	host_fwd="$(cat /proc/sys/net/ipv4/ip_forward)"
	run_in '.linux.sysctl = {"kernel.shmmax": "12345678", "net.ipv4.ip_forward": "1",
		"net/ipv4/conf/lo/forwarding": "1", "kernel.domainname": "berth.test", "fs.mqueue.msg_max": "42"}' \
		sh -c 'cat /proc/sys/kernel/shmmax /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv4/conf/lo/forwarding \
			/proc/sys/kernel/domainname /proc/sys/fs/mqueue/msg_max'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 12345678 ]
	[ "${lines[1]}" = 1 ]
	[ "${lines[2]}" = 1 ]
	[ "${lines[3]}" = berth.test ]
	[ "${lines[4]}" = 42 ]
	[ "$(cat /proc/sys/kernel/shmmax)" = "$host_shmmax" ]
	[ "$(cat /proc/sys/net/ipv4/ip_forward)" = "$host_fwd" ]
}

@test "sysctl: /proc/sys is still read-only for the process afterwards" {
	run_in '.linux.sysctl = {"kernel.shmmax": "12345678"}' \
		sh -c 'echo 1 >/proc/sys/kernel/shmmax; cat /proc/sys/kernel/shmmax'
	[ "$status" -eq 0 ]
	[[ "$output" == *"Read-only file system"* ]]
	[ "${lines[-1]}" = 12345678 ]
}

@test "sysctl: a global sysctl is refused" {
	refused '.linux.sysctl = {"kernel.pid_max": "100"}' 'linux.sysctl["kernel.pid_max"]: not a namespaced sysctl'
}

@test "sysctl: net.* without a network namespace is refused" {
	refused '.linux.namespaces -= [{"type": "network"}] | .linux.sysctl = {"net.ipv4.ip_forward": "1"}' \
		'linux.sysctl["net.ipv4.ip_forward"]: needs its own network namespace'
}

@test "sysctl: net.* in the host's network namespace (joined by path) is refused" {
	update_config '.linux.namespaces = [.linux.namespaces[] | if .type == "network" then .path = "/proc/'"$$"'/ns/net" else . end]'
	refused '.linux.sysctl = {"net.ipv4.ip_forward": "1"}' 'linux.sysctl["net.ipv4.ip_forward"]' "berth's own, the host's"
}

@test "sysctl: an ipc sysctl without an ipc namespace is refused" {
	refused '.linux.namespaces -= [{"type": "ipc"}] | .linux.sysctl = {"kernel.shmmax": "1"}' \
		'linux.sysctl["kernel.shmmax"]: needs its own ipc namespace'
}

@test "sysctl: a sysctl the kernel does not have fails at create, naming it" {
	refused '.linux.sysctl = {"net.ipv4.no_such_knob": "1"}' 'linux.sysctl["net.ipv4.no_such_knob"]' "no such file or directory"
}

@test "sysctl: .. cannot climb out of /proc/sys" {
	refused '.linux.sysctl = {"net/../../self/oom_score_adj": "1"}' 'linux.sysctl["net/../../self/oom_score_adj"]: not a sysctl name'
}

# --- personality -------------------------------------------------------------

@test "personality: LINUX32 makes uname report a 32-bit machine" {
	[ "$(uname -m)" = x86_64 ] || skip "LINUX32 test written for x86_64 hosts"
	run_in '.linux.personality = {"domain": "LINUX32"}' uname -m
	[ "$status" -eq 0 ]
	[ "$output" = i686 ]
}

@test "personality: LINUX keeps the native machine" {
	run_in '.linux.personality = {"domain": "LINUX"}' uname -m
	[ "$status" -eq 0 ]
	[ "$output" = "$(uname -m)" ]
}

@test "personality: flags and unknown domains are refused" {
	refused '.linux.personality = {"domain": "LINUX", "flags": ["ADDR_NO_RANDOMIZE"]}' \
		'linux.personality.flags[0]: "ADDR_NO_RANDOMIZE": the runtime-spec defines no personality flags'
	refused '.linux.personality = {"domain": "LINUX64"}' 'linux.personality.domain: "LINUX64" is not a personality domain'
}

# --- scheduler ---------------------------------------------------------------

@test "scheduler: SCHED_BATCH with nice 7" {
	# /proc/<pid>/stat: field 19 is nice, field 41 the policy (3 = SCHED_BATCH).
	run_in '.process.scheduler = {"policy": "SCHED_BATCH", "nice": 7}' sh -c "$(stat_field 19,41)"
	[ "$status" -eq 0 ]
	[ "$output" = "7 3" ]
}

@test "scheduler: SCHED_IDLE" {
	run_in '.process.scheduler = {"policy": "SCHED_IDLE"}' sh -c "$(stat_field 41)"
	[ "$status" -eq 0 ]
	[ "$output" = 5 ]
}

@test "scheduler: a negative nice (needs CAP_SYS_NICE, held by the init)" {
	run_in '.process.scheduler = {"policy": "SCHED_OTHER", "nice": -5}' sh -c "$(stat_field 19,41)"
	[ "$status" -eq 0 ]
	[ "$output" = "-5 0" ]
}

@test "scheduler: SCHED_DEADLINE, seen from the host" {
	command -v chrt >/dev/null || skip "no chrt on the host"
	local id pid
	id=$(new_id)
	update_config '.process.scheduler = {"policy": "SCHED_DEADLINE", "runtime": 1000000, "deadline": 10000000, "period": 100000000}'
	set_args sleep 100
	run_detached "$id"
	pid="$(container_pid "$id")"
	wait_for comm_is "$pid" sleep
	run chrt -p "$pid"
	echo "$output"
	[[ "$output" == *SCHED_DEADLINE* ]]
	[[ "$output" == *"1000000/10000000/100000000"* ]]
	berth delete -f "$id"
}

@test "scheduler: SCHED_FIFO, or a clear error saying what it needs" {
	run_in '.process.scheduler = {"policy": "SCHED_FIFO", "priority": 10}' sh -c "$(stat_field 18,41)"
	if [ "$status" -eq 0 ]; then
		# field 18 is the kernel priority: -1 - rt_priority.
		[ "$output" = "-11 1" ]
	else
		berth_only
		[[ "$output" == *"process.scheduler: sched_setattr(SCHED_FIFO)"* ]]
		[[ "$output" == *CAP_SYS_NICE*realtimeRuntime*"operation not permitted"* ]]
	fi
}

@test "scheduler: bad combinations are refused" {
	refused '.process.scheduler = {"policy": "SCHED_BATCH", "priority": 5}' \
		'process.scheduler.priority: 5 is set but only SCHED_FIFO and SCHED_RR have a priority'
	refused '.process.scheduler = {"policy": "SCHED_DEADLINE", "runtime": 2000000, "deadline": 1000000}' \
		'process.scheduler.deadline: 1000000 is below runtime 2000000'
	refused '.process.scheduler = {"policy": "SCHED_OTHER", "nice": 20}' 'process.scheduler.nice: 20 is not in -20..19'
	refused '.process.scheduler = {"policy": "SCHED_ISO"}' 'process.scheduler.policy: "SCHED_ISO" is not implemented by Linux'
}

# --- ioPriority --------------------------------------------------------------

@test "ioPriority: best-effort 3, seen from inside" {
	run_in '.process.ioPriority = {"class": "IOPRIO_CLASS_BE", "priority": 3}' ionice
	[ "$status" -eq 0 ]
	[ "$output" = "best-effort: prio 3" ]
}

@test "ioPriority: idle, seen from the host" {
	command -v ionice >/dev/null || skip "no ionice on the host"
	local id pid
	id=$(new_id)
	update_config '.process.ioPriority = {"class": "IOPRIO_CLASS_IDLE", "priority": 0}'
	set_args sleep 100
	run_detached "$id"
	pid="$(container_pid "$id")"
	wait_for comm_is "$pid" sleep
	run ionice -p "$pid"
	echo "$output"
	[ "$output" = idle ]
	berth delete -f "$id"
}

@test "ioPriority: real-time 0 (needs privilege the init has)" {
	run_in '.process.ioPriority = {"class": "IOPRIO_CLASS_RT", "priority": 0}' ionice
	[ "$status" -eq 0 ]
	[ "$output" = "realtime: prio 0" ]
}

@test "ioPriority: bad class or level is refused" {
	refused '.process.ioPriority = {"class": "IOPRIO_CLASS_BE", "priority": 8}' 'process.ioPriority.priority: 8 is not in 0..7'
	refused '.process.ioPriority = {"class": "IOPRIO_CLASS_NONE", "priority": 0}' \
		'process.ioPriority.class: "IOPRIO_CLASS_NONE" is not an I/O priority class'
}

# --- CPU affinity ------------------------------------------------------------

@test "cpu affinity: the process may use every CPU, whatever berth was pinned to" {
	local all
	all="$(grep Cpus_allowed_list /proc/self/status | cut -f2)"
	[ "$all" != 0 ] || skip "one CPU only"
	set_args grep Cpus_allowed_list /proc/self/status
	run taskset -c 0 "$BERTH" --root "$BERTH_ROOT" run --bundle "$BUNDLE" "$(new_id)"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "Cpus_allowed_list:	$all" ]
}

@test "cpu affinity: execCPUAffinity is accepted, and not applied to the init (config.md)" {
	local all
	all="$(grep Cpus_allowed_list /proc/self/status | cut -f2)"
	run_in '.process.execCPUAffinity = {"initial": "0", "final": "0"}' grep Cpus_allowed_list /proc/self/status
	[ "$status" -eq 0 ]
	[ "$output" = "Cpus_allowed_list:	$all" ]
}

@test "cpu affinity: a bad execCPUAffinity list is refused" {
	refused '.process.execCPUAffinity = {"final": "1-0"}' 'process.execCPUAffinity.final: "1-0": range "1-0" goes backwards'
	refused '.process.execCPUAffinity = {"initial": "0,a"}' 'process.execCPUAffinity.initial: "0,a": "a" is not a number'
}

# --- memoryPolicy ------------------------------------------------------------

@test "memoryPolicy: MPOL_INTERLEAVE on node 0 shows in numa_maps" {
	[ -e /proc/self/numa_maps ] || skip "kernel without NUMA"
	run_in '.linux.memoryPolicy = {"mode": "MPOL_INTERLEAVE", "nodes": "0"}' grep -c ' interleave:0 ' /proc/self/numa_maps
	[ "$status" -eq 0 ]
	[ "$output" -gt 0 ]
}

@test "memoryPolicy: MPOL_BIND with MPOL_F_STATIC_NODES" {
	[ -e /proc/self/numa_maps ] || skip "kernel without NUMA"
	run_in '.linux.memoryPolicy = {"mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_STATIC_NODES"]}' \
		grep -c ' bind=static:0 ' /proc/self/numa_maps
	[ "$status" -eq 0 ]
	[ "$output" -gt 0 ]
}

@test "memoryPolicy: unset keeps the default policy" {
	[ -e /proc/self/numa_maps ] || skip "kernel without NUMA"
	run_in '.' grep -c -e ' bind' -e ' interleave' /proc/self/numa_maps
	[ "$output" = 0 ]
}

@test "memoryPolicy: a node the host does not have fails at create, naming the nodes allowed" {
	refused '.linux.memoryPolicy = {"mode": "MPOL_BIND", "nodes": "1000"}' \
		'linux.memoryPolicy: set_mempolicy(MPOL_BIND, nodes "1000")' "the nodes allowed here are" "invalid argument"
}

@test "memoryPolicy: bad combinations are refused" {
	refused '.linux.memoryPolicy = {"mode": "MPOL_BIND"}' 'linux.memoryPolicy.nodes: must be set for MPOL_BIND'
	refused '.linux.memoryPolicy = {"mode": "MPOL_LOCAL", "nodes": "0"}' 'linux.memoryPolicy.nodes: "0" is set but MPOL_LOCAL takes no nodes'
	refused '.linux.memoryPolicy = {"mode": "MPOL_WEIRD"}' 'linux.memoryPolicy.mode: "MPOL_WEIRD" is not a memory policy mode'
}

# --- LSMs --------------------------------------------------------------------

@test "lsm: apparmorProfile, selinuxLabel and mountLabel say why they are refused" {
	[ ! -e /sys/module/apparmor ] || skip "AppArmor present on this host"
	[ ! -e /sys/fs/selinux/enforce ] || skip "SELinux enabled on this host"
	refused '.process.apparmorProfile = "docker-default"' 'process.apparmorProfile: AppArmor is not enabled on this host'
	refused '.process.selinuxLabel = "system_u:system_r:container_t:s0"' 'process.selinuxLabel: SELinux is not enabled on this host'
	refused '.linux.mountLabel = "system_u:object_r:container_file_t:s0"' 'linux.mountLabel: SELinux is not enabled on this host'
	run --separate-stderr berth features
	[ "$status" -eq 0 ]
	jq -e '.linux.apparmor.enabled == false and .linux.selinux.enabled == false' <<<"$output"
}

# --- rlimits -----------------------------------------------------------------

@test "rlimits: a hard limit the host refuses names the limit and why" {
	local hard
	hard="$(ulimit -Hn)"
	[ "$hard" != unlimited ] && [ "$hard" -lt 30000 ] || skip "hard RLIMIT_NOFILE is $hard here"
	if (ulimit -Hn 30000) 2>/dev/null; then
		skip "this host can raise hard limits (CAP_SYS_RESOURCE)"
	fi
	refused '.process.rlimits = [{"type": "RLIMIT_NOFILE", "soft": 30000, "hard": 30000}]' \
		"process.rlimits[0]: RLIMIT_NOFILE 30000/30000 (the hard limit is" "can only be raised with CAP_SYS_RESOURCE): operation not permitted"
}

@test "rlimits: limits the host allows are applied" {
	run_in '.process.rlimits = [{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 1000}, {"type": "RLIMIT_CORE", "soft": 0, "hard": 0}]' \
		sh -c 'ulimit -Sn; ulimit -Hn; ulimit -c'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 512 ]
	[ "${lines[1]}" = 1000 ]
	[ "${lines[2]}" = 0 ]
}
