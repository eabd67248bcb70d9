package spec

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// This file checks the process attributes the init applies with one
// syscall each (oomScoreAdj, scheduler, ioPriority, execCPUAffinity,
// personality, memoryPolicy) and turns them into that syscall's arguments,
// so the init does no parsing of its own.

// checkProcessAttrs runs the checks of this file.
func checkProcessAttrs(s *specs.Spec) error {
	p, l := proc(s), linux(s)
	if v := p.OOMScoreAdj; v != nil && (*v < -1000 || *v > 1000) {
		return fieldErr("process.oomScoreAdj", "%d is not in -1000..1000", *v)
	}
	if err := checkScheduler(p.Scheduler); err != nil {
		return err
	}
	if err := checkIOPriority(p.IOPriority); err != nil {
		return err
	}
	if err := checkCPUAffinity(p.ExecCPUAffinity); err != nil {
		return err
	}
	if err := checkPersonality(l.Personality); err != nil {
		return err
	}
	return checkMemoryPolicy(l.MemoryPolicy)
}

// schedPolicies maps process.scheduler.policy to the kernel's numbers.
// SCHED_ISO is in the runtime-spec but was never merged into Linux.
var schedPolicies = map[specs.LinuxSchedulerPolicy]uint32{
	specs.SchedOther: unix.SCHED_NORMAL, specs.SchedFIFO: unix.SCHED_FIFO, specs.SchedRR: unix.SCHED_RR,
	specs.SchedBatch: unix.SCHED_BATCH, specs.SchedIdle: unix.SCHED_IDLE, specs.SchedDeadline: unix.SCHED_DEADLINE,
}

var schedFlags = map[specs.LinuxSchedulerFlag]uint64{
	specs.SchedFlagResetOnFork: unix.SCHED_FLAG_RESET_ON_FORK, specs.SchedFlagReclaim: unix.SCHED_FLAG_RECLAIM,
	specs.SchedFlagDLOverrun: unix.SCHED_FLAG_DL_OVERRUN, specs.SchedFlagKeepPolicy: unix.SCHED_FLAG_KEEP_POLICY,
	specs.SchedFlagKeepParams: unix.SCHED_FLAG_KEEP_PARAMS, specs.SchedFlagUtilClampMin: unix.SCHED_FLAG_UTIL_CLAMP_MIN,
	specs.SchedFlagUtilClampMax: unix.SCHED_FLAG_UTIL_CLAMP_MAX,
}

// dlMinRuntime is the smallest SCHED_DEADLINE runtime the kernel accepts
// (1 << DL_SCALE ns).
const dlMinRuntime = 1 << 10

// checkScheduler follows config.md and the rules sched_setattr(2) enforces:
// priority is for the real-time policies only (1..99 there), the deadline
// parameters for SCHED_DEADLINE only, with runtime <= deadline <= period.
func checkScheduler(sc *specs.Scheduler) error {
	if sc == nil {
		return nil
	}
	const p = "process.scheduler"
	if sc.Policy == specs.SchedISO {
		return fieldErr(p+".policy", "%q is not implemented by Linux", sc.Policy)
	}
	if _, ok := schedPolicies[sc.Policy]; !ok {
		return fieldErr(p+".policy", "%q is not a scheduling policy", sc.Policy)
	}
	if sc.Nice < -20 || sc.Nice > 19 {
		return fieldErr(p+".nice", "%d is not in -20..19", sc.Nice)
	}
	rt := sc.Policy == specs.SchedFIFO || sc.Policy == specs.SchedRR
	switch {
	case rt && (sc.Priority < 1 || sc.Priority > 99):
		return fieldErr(p+".priority", "%d is not in 1..99 (required for %s)", sc.Priority, sc.Policy)
	case !rt && sc.Priority != 0:
		return fieldErr(p+".priority", "%d is set but only SCHED_FIFO and SCHED_RR have a priority", sc.Priority)
	}
	for i, f := range sc.Flags {
		if _, ok := schedFlags[f]; !ok {
			return fieldErr(idx(p+".flags", i), "%q is not a scheduler flag", f)
		}
	}
	if sc.Policy != specs.SchedDeadline {
		for _, f := range []struct {
			name string
			v    uint64
		}{{"runtime", sc.Runtime}, {"deadline", sc.Deadline}, {"period", sc.Period}} {
			if f.v != 0 {
				return fieldErr(p+"."+f.name, "%d is set but only SCHED_DEADLINE uses it", f.v)
			}
		}
		return nil
	}
	return checkDeadline(sc)
}

func checkDeadline(sc *specs.Scheduler) error {
	const p = "process.scheduler"
	switch {
	case sc.Runtime < dlMinRuntime:
		return fieldErr(p+".runtime", "%d is below %d ns (the kernel's minimum)", sc.Runtime, dlMinRuntime)
	case sc.Deadline < sc.Runtime:
		return fieldErr(p+".deadline", "%d is below runtime %d", sc.Deadline, sc.Runtime)
	case sc.Period != 0 && sc.Period < sc.Deadline:
		return fieldErr(p+".period", "%d is below deadline %d", sc.Period, sc.Deadline)
	case sc.Deadline>>63 != 0 || sc.Period>>63 != 0:
		return fieldErr(p, "deadline and period must be below 2^63 ns")
	}
	return nil
}

// SchedAttr returns the sched_setattr(2) argument for process.scheduler
// (which Validate accepted).
func SchedAttr(sc *specs.Scheduler) *unix.SchedAttr {
	a := &unix.SchedAttr{
		Size: unix.SizeofSchedAttr, Policy: schedPolicies[sc.Policy], Nice: sc.Nice,
		Priority: uint32(sc.Priority), Runtime: sc.Runtime, Deadline: sc.Deadline, Period: sc.Period,
	}
	for _, f := range sc.Flags {
		a.Flags |= schedFlags[f]
	}
	return a
}

// ioprio_set(2) classes and the shift that packs a class with its level.
var ioprioClasses = map[specs.IOPriorityClass]int{
	specs.IOPRIO_CLASS_RT: 1, specs.IOPRIO_CLASS_BE: 2, specs.IOPRIO_CLASS_IDLE: 3,
}

const ioprioClassShift = 13

func checkIOPriority(io *specs.LinuxIOPriority) error {
	if io == nil {
		return nil
	}
	if _, ok := ioprioClasses[io.Class]; !ok {
		return fieldErr("process.ioPriority.class", "%q is not an I/O priority class", io.Class)
	}
	if io.Priority < 0 || io.Priority > 7 {
		return fieldErr("process.ioPriority.priority", "%d is not in 0..7", io.Priority)
	}
	return nil
}

// IOPrio returns the ioprio_set(2) value for process.ioPriority.
func IOPrio(io *specs.LinuxIOPriority) int {
	return ioprioClasses[io.Class]<<ioprioClassShift | io.Priority
}

// maxCPUs bounds a CPU list (the kernel's CONFIG_NR_CPUS maximum).
const maxCPUs = 8192

func checkCPUAffinity(a *specs.CPUAffinity) error {
	if a == nil {
		return nil
	}
	for _, f := range [][2]string{{"initial", a.Initial}, {"final", a.Final}} {
		if f[1] == "" {
			continue
		}
		if _, err := CPUSet(f[1]); err != nil {
			return fieldErr("process.execCPUAffinity."+f[0], "%q: %v", f[1], err)
		}
	}
	return nil
}

// CPUSet returns the CPUs of a list such as "0-3,7" (as execCPUAffinity
// writes them) as a set for sched_setaffinity(2).
func CPUSet(list string) (*unix.CPUSet, error) {
	ids, err := ParseList(list, maxCPUs)
	if err != nil {
		return nil, err
	}
	var set unix.CPUSet
	for _, id := range ids {
		if id >= len(set)*64 {
			return nil, fmt.Errorf("cpu %d is above the %d this build of berth can set", id, len(set)*64-1)
		}
		set.Set(id)
	}
	return &set, nil
}

// ParseList parses a comma-separated list of numbers and ranges ("0-3,7"),
// the format of cpusets and NUMA node lists, into sorted distinct numbers,
// each below limit.
func ParseList(list string, limit int) ([]int, error) {
	var out []int
	for part := range strings.SplitSeq(list, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := listNumber(lo, limit)
		if err != nil {
			return nil, err
		}
		b := a
		if isRange {
			if b, err = listNumber(hi, limit); err != nil {
				return nil, err
			}
			if b < a {
				return nil, fmt.Errorf("range %q goes backwards", part)
			}
		}
		for n := a; n <= b; n++ {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func listNumber(s string, limit int) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || strings.HasPrefix(s, "+") {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if n >= limit {
		return 0, fmt.Errorf("%d is above the maximum %d", n, limit-1)
	}
	return n, nil
}

// Personality domains of linux.personality; the runtime-spec defines no
// flags.
var personalities = map[specs.LinuxPersonalityDomain]uint{
	specs.PerLinux: 0x0000, specs.PerLinux32: 0x0008,
}

func checkPersonality(p *specs.LinuxPersonality) error {
	if p == nil {
		return nil
	}
	if _, ok := personalities[p.Domain]; !ok {
		return fieldErr("linux.personality.domain", "%q is not a personality domain (LINUX or LINUX32)", p.Domain)
	}
	if len(p.Flags) > 0 {
		return fieldErr("linux.personality.flags[0]", "%q: the runtime-spec defines no personality flags", p.Flags[0])
	}
	return nil
}

// Personality returns the personality(2) argument for linux.personality.
func Personality(p *specs.LinuxPersonality) uint {
	return personalities[p.Domain]
}

var mpolModes = map[specs.MemoryPolicyModeType]int{
	specs.MpolDefault: unix.MPOL_DEFAULT, specs.MpolBind: unix.MPOL_BIND, specs.MpolInterleave: unix.MPOL_INTERLEAVE,
	specs.MpolWeightedInterleave: unix.MPOL_WEIGHTED_INTERLEAVE, specs.MpolPreferred: unix.MPOL_PREFERRED,
	specs.MpolPreferredMany: unix.MPOL_PREFERRED_MANY, specs.MpolLocal: unix.MPOL_LOCAL,
}

var mpolFlags = map[specs.MemoryPolicyFlagType]int{
	specs.MpolFNumaBalancing: unix.MPOL_F_NUMA_BALANCING, specs.MpolFRelativeNodes: unix.MPOL_F_RELATIVE_NODES,
	specs.MpolFStaticNodes: unix.MPOL_F_STATIC_NODES,
}

// maxNodes bounds a NUMA node list (the kernel's MAX_NUMNODES maximum).
const maxNodes = 1024

// checkMemoryPolicy applies set_mempolicy(2)'s rules: DEFAULT and LOCAL
// take no nodes, the others but PREFERRED need some; STATIC and RELATIVE
// exclude each other; NUMA_BALANCING is for BIND and PREFERRED_MANY.
func checkMemoryPolicy(mp *specs.LinuxMemoryPolicy) error {
	if mp == nil {
		return nil
	}
	const p = "linux.memoryPolicy"
	if _, ok := mpolModes[mp.Mode]; !ok {
		return fieldErr(p+".mode", "%q is not a memory policy mode", mp.Mode)
	}
	noNodes := mp.Mode == specs.MpolDefault || mp.Mode == specs.MpolLocal
	switch {
	case noNodes && mp.Nodes != "":
		return fieldErr(p+".nodes", "%q is set but %s takes no nodes", mp.Nodes, mp.Mode)
	case mp.Nodes == "" && !noNodes && mp.Mode != specs.MpolPreferred:
		return fieldErr(p+".nodes", "must be set for %s", mp.Mode)
	case mp.Nodes != "":
		if _, err := ParseList(mp.Nodes, maxNodes); err != nil {
			return fieldErr(p+".nodes", "%q: %v", mp.Nodes, err)
		}
	}
	for i, f := range mp.Flags {
		fp := idx(p+".flags", i)
		switch {
		case mpolFlags[f] == 0:
			return fieldErr(fp, "%q is not a memory policy flag", f)
		case mp.Mode == specs.MpolDefault:
			return fieldErr(fp, "%q is set but MPOL_DEFAULT takes no flags", f)
		case f == specs.MpolFNumaBalancing && mp.Mode != specs.MpolBind && mp.Mode != specs.MpolPreferredMany:
			return fieldErr(fp, "%q is only for MPOL_BIND and MPOL_PREFERRED_MANY", f)
		case f != specs.MpolFNumaBalancing && (mp.Nodes == "" || mp.Mode == specs.MpolLocal):
			return fieldErr(fp, "%q needs nodes", f)
		}
	}
	if slices.Contains(mp.Flags, specs.MpolFStaticNodes) && slices.Contains(mp.Flags, specs.MpolFRelativeNodes) {
		return fieldErr(p+".flags", "MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude each other")
	}
	return nil
}

// MemPolicy returns the set_mempolicy(2) arguments for linux.memoryPolicy:
// the mode with its flags, and the node mask (nil for no nodes).
func MemPolicy(mp *specs.LinuxMemoryPolicy) (mode int, mask []uint64, err error) {
	mode = mpolModes[mp.Mode]
	for _, f := range mp.Flags {
		mode |= mpolFlags[f]
	}
	if mp.Nodes == "" {
		return mode, nil, nil
	}
	nodes, err := ParseList(mp.Nodes, maxNodes)
	if err != nil {
		return 0, nil, err
	}
	mask = make([]uint64, nodes[len(nodes)-1]/64+1)
	for _, n := range nodes {
		mask[n/64] |= 1 << (n % 64)
	}
	return mode, mask, nil
}
