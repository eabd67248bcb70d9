package spec

import (
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func sched(policy specs.LinuxSchedulerPolicy, mutate func(*specs.Scheduler)) func(*specs.Spec) {
	return func(s *specs.Spec) {
		sc := &specs.Scheduler{Policy: policy}
		if mutate != nil {
			mutate(sc)
		}
		s.Process.Scheduler = sc
	}
}

func mempol(mode specs.MemoryPolicyModeType, nodes string, flags ...specs.MemoryPolicyFlagType) func(*specs.Spec) {
	return func(s *specs.Spec) {
		s.Linux.MemoryPolicy = &specs.LinuxMemoryPolicy{Mode: mode, Nodes: nodes, Flags: flags}
	}
}

func sysctl(kv ...string) func(*specs.Spec) {
	return func(s *specs.Spec) {
		s.Linux.Sysctl = map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			s.Linux.Sysctl[kv[i]] = kv[i+1]
		}
	}
}

var processAttrCases = []validateCase{
	{"oom too low", func(s *specs.Spec) { v := -1001; s.Process.OOMScoreAdj = &v }, `process.oomScoreAdj: -1001 is not in -1000..1000`},
	{"oom too high", func(s *specs.Spec) { v := 1001; s.Process.OOMScoreAdj = &v }, `process.oomScoreAdj: 1001 is not in -1000..1000`},
	{"no policy", sched("", nil), `process.scheduler.policy: "" is not a scheduling policy`},
	{"bad policy", sched("SCHED_FOO", nil), `process.scheduler.policy: "SCHED_FOO" is not a scheduling policy`},
	{"iso", sched(specs.SchedISO, nil), `process.scheduler.policy: "SCHED_ISO" is not implemented by Linux`},
	{"nice", sched(specs.SchedOther, func(sc *specs.Scheduler) { sc.Nice = 20 }), `process.scheduler.nice: 20 is not in -20..19`},
	{"fifo without priority", sched(specs.SchedFIFO, nil), `process.scheduler.priority: 0 is not in 1..99 (required for SCHED_FIFO)`},
	{"rr priority 100", sched(specs.SchedRR, func(sc *specs.Scheduler) { sc.Priority = 100 }),
		`process.scheduler.priority: 100 is not in 1..99 (required for SCHED_RR)`},
	{"batch priority", sched(specs.SchedBatch, func(sc *specs.Scheduler) { sc.Priority = 1 }),
		`process.scheduler.priority: 1 is set but only SCHED_FIFO and SCHED_RR have a priority`},
	{"bad flag", sched(specs.SchedOther, func(sc *specs.Scheduler) { sc.Flags = []specs.LinuxSchedulerFlag{"SCHED_FLAG_X"} }),
		`process.scheduler.flags[0]: "SCHED_FLAG_X" is not a scheduler flag`},
	{"period without deadline policy", sched(specs.SchedOther, func(sc *specs.Scheduler) { sc.Period = 5 }),
		`process.scheduler.period: 5 is set but only SCHED_DEADLINE uses it`},
	{"deadline runtime too small", sched(specs.SchedDeadline, func(sc *specs.Scheduler) { sc.Runtime, sc.Deadline = 100, 1000 }),
		`process.scheduler.runtime: 100 is below 1024 ns (the kernel's minimum)`},
	{"deadline below runtime", sched(specs.SchedDeadline, func(sc *specs.Scheduler) { sc.Runtime, sc.Deadline = 1e6, 1e5 }),
		`process.scheduler.deadline: 100000 is below runtime 1000000`},
	{"period below deadline", sched(specs.SchedDeadline, func(sc *specs.Scheduler) { sc.Runtime, sc.Deadline, sc.Period = 1e6, 2e6, 15e5 }),
		`process.scheduler.period: 1500000 is below deadline 2000000`},
	{"io class", func(s *specs.Spec) { s.Process.IOPriority = &specs.LinuxIOPriority{Class: "IOPRIO_CLASS_X"} },
		`process.ioPriority.class: "IOPRIO_CLASS_X" is not an I/O priority class`},
	{"io priority", func(s *specs.Spec) {
		s.Process.IOPriority = &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_BE, Priority: 8}
	},
		`process.ioPriority.priority: 8 is not in 0..7`},
	{"affinity garbage", func(s *specs.Spec) { s.Process.ExecCPUAffinity = &specs.CPUAffinity{Initial: "0,x"} },
		`process.execCPUAffinity.initial: "0,x": "x" is not a number`},
	{"affinity backwards", func(s *specs.Spec) { s.Process.ExecCPUAffinity = &specs.CPUAffinity{Final: "3-1"} },
		`process.execCPUAffinity.final: "3-1": range "3-1" goes backwards`},
	{"affinity empty item", func(s *specs.Spec) { s.Process.ExecCPUAffinity = &specs.CPUAffinity{Final: "1,,2"} },
		`process.execCPUAffinity.final: "1,,2": "" is not a number`},
	{"affinity huge", func(s *specs.Spec) { s.Process.ExecCPUAffinity = &specs.CPUAffinity{Final: "0-9000"} },
		`process.execCPUAffinity.final: "0-9000": 9000 is above the maximum 8191`},
	{"personality domain", func(s *specs.Spec) { s.Linux.Personality = &specs.LinuxPersonality{Domain: "LINUX64"} },
		`linux.personality.domain: "LINUX64" is not a personality domain (LINUX or LINUX32)`},
	{"personality flags", func(s *specs.Spec) {
		s.Linux.Personality = &specs.LinuxPersonality{Domain: specs.PerLinux, Flags: []specs.LinuxPersonalityFlag{"ADDR_NO_RANDOMIZE"}}
	}, `linux.personality.flags[0]: "ADDR_NO_RANDOMIZE": the runtime-spec defines no personality flags`},
	{"mempolicy mode", mempol("MPOL_X", ""), `linux.memoryPolicy.mode: "MPOL_X" is not a memory policy mode`},
	{"mempolicy default with nodes", mempol(specs.MpolDefault, "0"), `linux.memoryPolicy.nodes: "0" is set but MPOL_DEFAULT takes no nodes`},
	{"mempolicy local with nodes", mempol(specs.MpolLocal, "0"), `linux.memoryPolicy.nodes: "0" is set but MPOL_LOCAL takes no nodes`},
	{"mempolicy bind without nodes", mempol(specs.MpolBind, ""), `linux.memoryPolicy.nodes: must be set for MPOL_BIND`},
	{"mempolicy bad nodes", mempol(specs.MpolInterleave, "0-"), `linux.memoryPolicy.nodes: "0-": "" is not a number`},
	{"mempolicy bad flag", mempol(specs.MpolBind, "0", "MPOL_F_X"), `linux.memoryPolicy.flags[0]: "MPOL_F_X" is not a memory policy flag`},
	{"mempolicy default flag", mempol(specs.MpolDefault, "", specs.MpolFStaticNodes),
		`linux.memoryPolicy.flags[0]: "MPOL_F_STATIC_NODES" is set but MPOL_DEFAULT takes no flags`},
	{"mempolicy balancing", mempol(specs.MpolInterleave, "0", specs.MpolFNumaBalancing),
		`linux.memoryPolicy.flags[0]: "MPOL_F_NUMA_BALANCING" is only for MPOL_BIND and MPOL_PREFERRED_MANY`},
	{"mempolicy static and relative", mempol(specs.MpolBind, "0", specs.MpolFStaticNodes, specs.MpolFRelativeNodes),
		`linux.memoryPolicy.flags: MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude each other`},
	{"mempolicy static without nodes", mempol(specs.MpolPreferred, "", specs.MpolFStaticNodes),
		`linux.memoryPolicy.flags[0]: "MPOL_F_STATIC_NODES" needs nodes`},
	{"global sysctl", sysctl("kernel.pid_max", "100"),
		`linux.sysctl["kernel.pid_max"]: not a namespaced sysctl (writing it would change the host)`},
	{"global sysctl, slashes", sysctl("vm/swappiness", "1"),
		`linux.sysctl["vm/swappiness"]: not a namespaced sysctl (writing it would change the host)`},
	{"sysctl dotdot", sysctl("net/../kernel/pid_max", "1"), `linux.sysctl["net/../kernel/pid_max"]: not a sysctl name`},
	{"sysctl empty part", sysctl("net..ipv4", "1"), `linux.sysctl["net..ipv4"]: not a sysctl name`},
	{"net sysctl without netns", func(s *specs.Spec) { dropNS(s, specs.NetworkNamespace); sysctl("net.ipv4.ip_forward", "1")(s) },
		`linux.sysctl["net.ipv4.ip_forward"]: needs its own network namespace, and linux.namespaces has none`},
	{"net sysctl in host netns", func(s *specs.Spec) {
		dropNS(s, specs.NetworkNamespace)
		addNS(s, specs.NetworkNamespace, "/proc/self/ns/net")
		sysctl("net.core.somaxconn", "1")(s)
	}, `linux.sysctl["net.core.somaxconn"]: the network namespace joined (/proc/self/ns/net) is berth's own, the host's`},
	{"ipc sysctl without ipcns", func(s *specs.Spec) { dropNS(s, specs.IPCNamespace); sysctl("kernel.shmmax", "1")(s) },
		`linux.sysctl["kernel.shmmax"]: needs its own ipc namespace, and linux.namespaces has none`},
	{"mqueue sysctl without ipcns", func(s *specs.Spec) { dropNS(s, specs.IPCNamespace); sysctl("fs.mqueue.msg_max", "1")(s) },
		`linux.sysctl["fs.mqueue.msg_max"]: needs its own ipc namespace, and linux.namespaces has none`},
	{"hostname sysctl without utsns", func(s *specs.Spec) {
		dropNS(s, specs.UTSNamespace)
		s.Hostname = ""
		sysctl("kernel.domainname", "x")(s)
	}, `linux.sysctl["kernel.domainname"]: needs its own uts namespace, and linux.namespaces has none`},
	{"hostname sysctl and hostname", sysctl("kernel.hostname", "x"), `linux.sysctl["kernel.hostname"]: conflicts with the hostname field`},
	{"first bad sysctl in order", sysctl("net.core.somaxconn", "1", "kernel.a", "1", "kernel.b", "1"),
		`linux.sysctl["kernel.a"]: not a namespaced sysctl (writing it would change the host)`},
}

func TestValidateProcessAttrs(t *testing.T) {
	dir := bundleDir(t)
	for _, tc := range processAttrCases {
		t.Run(tc.name, func(t *testing.T) {
			s := Example()
			tc.mutate(s)
			if err := Validate(s, dir); err == nil || err.Error() != tc.want {
				t.Fatalf("got  %v\nwant %s", err, tc.want)
			}
		})
	}
}

func TestValidateAcceptsProcessAttrs(t *testing.T) {
	dir := bundleDir(t)
	for name, mutate := range map[string]func(*specs.Spec){
		"oom -1000":           func(s *specs.Spec) { v := -1000; s.Process.OOMScoreAdj = &v },
		"batch nice":          sched(specs.SchedBatch, func(sc *specs.Scheduler) { sc.Nice = 19 }),
		"fifo 99":             sched(specs.SchedFIFO, func(sc *specs.Scheduler) { sc.Priority = 99 }),
		"deadline":            sched(specs.SchedDeadline, func(sc *specs.Scheduler) { sc.Runtime, sc.Deadline, sc.Period = 1e6, 1e7, 1e8 }),
		"deadline, no period": sched(specs.SchedDeadline, func(sc *specs.Scheduler) { sc.Runtime, sc.Deadline = 1e6, 1e6 }),
		"io idle":             func(s *specs.Spec) { s.Process.IOPriority = &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_IDLE} },
		"affinity":            func(s *specs.Spec) { s.Process.ExecCPUAffinity = &specs.CPUAffinity{Initial: "0-1,3", Final: "1"} },
		"linux32":             func(s *specs.Spec) { s.Linux.Personality = &specs.LinuxPersonality{Domain: specs.PerLinux32} },
		"preferred none":      mempol(specs.MpolPreferred, ""),
		"bind balancing":      mempol(specs.MpolBind, "0", specs.MpolFNumaBalancing, specs.MpolFStaticNodes),
		"local":               mempol(specs.MpolLocal, ""),
		"sysctls":             sysctl("net.ipv4.ip_forward", "1", "kernel.shmmax", "1", "kernel.msgmax", "1", "kernel.sem", "1 2 3 4", "fs.mqueue.queues_max", "1"),
		"sysctl slashes":      sysctl("net/ipv4/conf/eth0.100/forwarding", "1"),
		"domainname sysctl":   sysctl("kernel.domainname", "example.org"),
	} {
		s := Example()
		mutate(s)
		if err := Validate(s, dir); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestParseList(t *testing.T) {
	for in, want := range map[string][]int{
		"0": {0}, "0-3,7": {0, 1, 2, 3, 7}, "7,0-1,1": {0, 1, 7}, "2-2": {2},
	} {
		got, err := ParseList(in, 64)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("ParseList(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", ",", "1-", "-1", "a", "1-0", "+1", "64", " 1"} {
		if got, err := ParseList(in, 64); err == nil {
			t.Errorf("ParseList(%q) = %v, want an error", in, got)
		}
	}
}

func TestCPUSet(t *testing.T) {
	set, err := CPUSet("1,3-4")
	if err != nil {
		t.Fatal(err)
	}
	if set.Count() != 3 || !set.IsSet(1) || !set.IsSet(3) || !set.IsSet(4) || set.IsSet(2) {
		t.Errorf("CPUSet(1,3-4) = %v", set)
	}
	if _, err := CPUSet("2000"); err == nil {
		t.Error("cpu 2000 accepted by a 1024-cpu set")
	}
}

func TestSchedAttr(t *testing.T) {
	a := SchedAttr(&specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 1, Deadline: 2, Period: 3,
		Flags: []specs.LinuxSchedulerFlag{specs.SchedFlagResetOnFork, specs.SchedFlagDLOverrun}})
	want := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_DEADLINE, Runtime: 1, Deadline: 2, Period: 3,
		Flags: unix.SCHED_FLAG_RESET_ON_FORK | unix.SCHED_FLAG_DL_OVERRUN}
	if *a != want {
		t.Errorf("got %+v, want %+v", *a, want)
	}
	if a := SchedAttr(&specs.Scheduler{Policy: specs.SchedBatch, Nice: -3}); a.Policy != unix.SCHED_BATCH || a.Nice != -3 {
		t.Errorf("batch: %+v", *a)
	}
	if a := SchedAttr(&specs.Scheduler{Policy: specs.SchedOther}); a.Policy != 0 {
		t.Errorf("other: %+v", *a)
	}
}

func TestIOPrioAndPersonality(t *testing.T) {
	for io, want := range map[specs.LinuxIOPriority]int{
		{Class: specs.IOPRIO_CLASS_RT, Priority: 0}: 1 << 13, {Class: specs.IOPRIO_CLASS_BE, Priority: 7}: 2<<13 | 7,
		{Class: specs.IOPRIO_CLASS_IDLE}: 3 << 13,
	} {
		if got := IOPrio(&io); got != want {
			t.Errorf("IOPrio(%v) = %#x, want %#x", io, got, want)
		}
	}
	if Personality(&specs.LinuxPersonality{Domain: specs.PerLinux32}) != 8 || Personality(&specs.LinuxPersonality{Domain: specs.PerLinux}) != 0 {
		t.Error("personality values")
	}
}

func TestMemPolicy(t *testing.T) {
	mode, mask, err := MemPolicy(&specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "0,2,65",
		Flags: []specs.MemoryPolicyFlagType{specs.MpolFStaticNodes}})
	if err != nil || mode != unix.MPOL_BIND|unix.MPOL_F_STATIC_NODES || !slices.Equal(mask, []uint64{0b101, 0b10}) {
		t.Errorf("got %#x %b %v", mode, mask, err)
	}
	mode, mask, err = MemPolicy(&specs.LinuxMemoryPolicy{Mode: specs.MpolLocal})
	if err != nil || mode != unix.MPOL_LOCAL || mask != nil {
		t.Errorf("local: got %#x %v %v", mode, mask, err)
	}
}

func TestSysctlPath(t *testing.T) {
	for key, want := range map[string]string{
		"net.ipv4.ip_forward": "net/ipv4/ip_forward", "kernel.shmmax": "kernel/shmmax",
		"net/ipv4/conf/eth0.100/forwarding": "net/ipv4/conf/eth0.100/forwarding",
	} {
		if got, err := SysctlPath(key); err != nil || got != want {
			t.Errorf("SysctlPath(%q) = %q, %v; want %q", key, got, err, want)
		}
	}
	for _, key := range []string{"", ".net", "net.", "/net/x", "net/./x", "net/../x", "a\x00b"} {
		if got, err := SysctlPath(key); err == nil {
			t.Errorf("SysctlPath(%q) = %q, want an error", key, got)
		}
	}
}

func TestSysctlNamespace(t *testing.T) {
	for key, want := range map[string]specs.LinuxNamespaceType{
		"kernel.msgmax": specs.IPCNamespace, "kernel.msg_next_id": specs.IPCNamespace, "kernel.sem": specs.IPCNamespace,
		"kernel.shm_rmid_forced": specs.IPCNamespace, "fs.mqueue.msg_max": specs.IPCNamespace,
		"net.core.somaxconn": specs.NetworkNamespace, "kernel.hostname": specs.UTSNamespace,
		"kernel.domainname": specs.UTSNamespace, "kernel.pid_max": "", "fs.mqueue": "", "vm.swappiness": "",
		"network.x": "", "kernel.hostnames": "",
	} {
		if got := sysctlNamespace(key); got != want {
			t.Errorf("sysctlNamespace(%q) = %q, want %q", key, got, want)
		}
	}
}
