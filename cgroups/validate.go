package cgroups

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Validate checks linux.resources for values that are wrong on any host:
// out-of-range numbers, inconsistent pairs (memory.swap below memory.limit),
// malformed cpu lists, page sizes and device rules. It touches no file, so
// Create calls it before anything exists. Errors name the JSON field.
// Host-dependent refusals (a file the kernel lacks, unified on v1) come
// from Set.
func Validate(r *specs.LinuxResources) error {
	if r == nil {
		return nil
	}
	if _, err := deviceRules("linux.resources.devices", r.Devices); err != nil {
		return err
	}
	for _, check := range []func(*specs.LinuxResources) error{
		validateMemory, validateCPU, validatePids, validateBlockIO,
		validateHugepages, validateNetwork, validateUnified,
	} {
		if err := check(r); err != nil {
			return err
		}
	}
	return nil
}

const memField = "linux.resources.memory."

func validateMemory(r *specs.LinuxResources) error {
	m := r.Memory
	if m == nil {
		return nil
	}
	for _, f := range []struct {
		name string
		v    *int64
	}{{"limit", m.Limit}, {"reservation", m.Reservation}, {"swap", m.Swap}, {"kernel", m.Kernel}, {"kernelTCP", m.KernelTCP}} {
		if f.v != nil && *f.v < -1 {
			return fmt.Errorf("%s%s: %d is below -1 (unlimited)", memField, f.name, *f.v)
		}
	}
	// swap is the memory+swap total (runc's v1 semantics), so it cannot
	// be below the memory limit it includes.
	if m.Limit != nil && m.Swap != nil && *m.Limit > 0 && *m.Swap > 0 && *m.Swap < *m.Limit {
		return fmt.Errorf("%sswap: %d is below memory.limit %d (swap is the memory+swap total)", memField, *m.Swap, *m.Limit)
	}
	if m.Swap != nil && *m.Swap > 0 && m.Limit != nil && *m.Limit == -1 {
		return fmt.Errorf("%sswap: %d is set with an unlimited memory.limit", memField, *m.Swap)
	}
	if m.Swappiness != nil && *m.Swappiness > 100 {
		return fmt.Errorf("%sswappiness: %d is above 100", memField, *m.Swappiness)
	}
	return nil
}

const cpuField = "linux.resources.cpu."

func validateCPU(r *specs.LinuxResources) error {
	c := r.CPU
	if c == nil {
		return nil
	}
	// The kernel takes periods from 1ms to 1s, and quotas from 1ms.
	if c.Period != nil && *c.Period != 0 && (*c.Period < 1000 || *c.Period > 1000000) {
		return fmt.Errorf("%speriod: %d is outside 1000..1000000 (µs)", cpuField, *c.Period)
	}
	if c.Quota != nil && *c.Quota != 0 && *c.Quota != -1 && *c.Quota < 1000 {
		return fmt.Errorf("%squota: %d is neither -1 (unlimited) nor at least 1000 (µs)", cpuField, *c.Quota)
	}
	if c.Burst != nil && *c.Burst > 0 {
		if c.Quota != nil && *c.Quota == -1 {
			return fmt.Errorf("%sburst: %d needs a cpu.quota, which is -1 (unlimited)", cpuField, *c.Burst)
		}
		if c.Quota != nil && *c.Quota > 0 && *c.Burst > uint64(*c.Quota) {
			return fmt.Errorf("%sburst: %d is above cpu.quota %d", cpuField, *c.Burst, *c.Quota)
		}
	}
	if c.RealtimeRuntime != nil && *c.RealtimeRuntime < -1 {
		return fmt.Errorf("%srealtimeRuntime: %d is below -1 (unlimited)", cpuField, *c.RealtimeRuntime)
	}
	if c.RealtimeRuntime != nil && c.RealtimePeriod != nil && *c.RealtimePeriod > 0 &&
		*c.RealtimeRuntime > 0 && uint64(*c.RealtimeRuntime) > *c.RealtimePeriod {
		return fmt.Errorf("%srealtimeRuntime: %d is above cpu.realtimePeriod %d", cpuField, *c.RealtimeRuntime, *c.RealtimePeriod)
	}
	if c.Idle != nil && *c.Idle != 0 && *c.Idle != 1 {
		return fmt.Errorf("%sidle: %d is not 0 or 1", cpuField, *c.Idle)
	}
	if err := checkList(cpuField+"cpus", c.Cpus); err != nil {
		return err
	}
	return checkList(cpuField+"mems", c.Mems)
}

// checkList checks a cpuset list such as "0-3,7".
func checkList(field, s string) error {
	if s == "" {
		return nil
	}
	_, err := ParseList(s)
	if err != nil {
		return fmt.Errorf("%s: %w", field, err)
	}
	return nil
}

// ParseList parses a cpu or memory-node list ("0-3,7") into its members.
func ParseList(s string) ([]uint16, error) {
	var out []uint16
	for _, part := range strings.Split(strings.TrimSpace(s), ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err1 := strconv.ParseUint(lo, 10, 16)
		b := a
		var err2 error
		if isRange {
			b, err2 = strconv.ParseUint(hi, 10, 16)
		}
		if err1 != nil || err2 != nil || b < a {
			return nil, fmt.Errorf("%q is not a list like 0-3,7", s)
		}
		for i := a; i <= b; i++ {
			out = append(out, uint16(i))
		}
	}
	return out, nil
}

func validatePids(r *specs.LinuxResources) error {
	if r.Pids != nil && r.Pids.Limit != nil && *r.Pids.Limit < -1 {
		return fmt.Errorf("linux.resources.pids.limit: %d is below -1 (unlimited)", *r.Pids.Limit)
	}
	return nil
}

const blkioField = "linux.resources.blockIO."

func validateBlockIO(r *specs.LinuxResources) error {
	b := r.BlockIO
	if b == nil {
		return nil
	}
	if err := checkWeight(blkioField+"weight", b.Weight); err != nil {
		return err
	}
	if err := checkWeight(blkioField+"leafWeight", b.LeafWeight); err != nil {
		return err
	}
	for i, d := range b.WeightDevice {
		f := fmt.Sprintf("%sweightDevice[%d]", blkioField, i)
		if err := checkDevice(f, d.Major, d.Minor); err != nil {
			return err
		}
		if d.Weight == nil && d.LeafWeight == nil {
			return fmt.Errorf("%s: sets neither weight nor leafWeight", f)
		}
		if err := checkWeight(f+".weight", d.Weight); err != nil {
			return err
		}
		if err := checkWeight(f+".leafWeight", d.LeafWeight); err != nil {
			return err
		}
	}
	for _, t := range throttleLists(b) {
		for i, d := range t.devs {
			if err := checkDevice(fmt.Sprintf("%s%s[%d]", blkioField, t.field, i), d.Major, d.Minor); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkWeight accepts the blkio weight range of both CFQ (10..1000) and
// BFQ (1..1000); the kernel refuses what its scheduler does not take.
func checkWeight(field string, w *uint16) error {
	if w != nil && (*w < 1 || *w > 1000) {
		return fmt.Errorf("%s: %d is outside 1..1000", field, *w)
	}
	return nil
}

func checkDevice(field string, major, minor int64) error {
	if major < 0 || minor < 0 {
		return fmt.Errorf("%s: device %d:%d has a negative number", field, major, minor)
	}
	return nil
}

// throttleList is one of the four blockIO throttle lists with its JSON
// name and v1 file.
type throttleList struct {
	field, v1file string
	devs          []specs.LinuxThrottleDevice
}

func throttleLists(b *specs.LinuxBlockIO) []throttleList {
	return []throttleList{
		{"throttleReadBpsDevice", "blkio.throttle.read_bps_device", b.ThrottleReadBpsDevice},
		{"throttleWriteBpsDevice", "blkio.throttle.write_bps_device", b.ThrottleWriteBpsDevice},
		{"throttleReadIOPSDevice", "blkio.throttle.read_iops_device", b.ThrottleReadIOPSDevice},
		{"throttleWriteIOPSDevice", "blkio.throttle.write_iops_device", b.ThrottleWriteIOPSDevice},
	}
}

var pageSizeRE = regexp.MustCompile(`^[1-9][0-9]*[KMG]B$`)

func validateHugepages(r *specs.LinuxResources) error {
	seen := map[string]bool{}
	for i, h := range r.HugepageLimits {
		if !pageSizeRE.MatchString(h.Pagesize) {
			return fmt.Errorf("linux.resources.hugepageLimits[%d].pageSize: %q is not a size like 2MB", i, h.Pagesize)
		}
		if seen[h.Pagesize] {
			return fmt.Errorf("linux.resources.hugepageLimits[%d].pageSize: %q is listed twice", i, h.Pagesize)
		}
		seen[h.Pagesize] = true
	}
	return nil
}

func validateNetwork(r *specs.LinuxResources) error {
	if r.Network == nil {
		return nil
	}
	for i, p := range r.Network.Priorities {
		if p.Name == "" || strings.ContainsAny(p.Name, " \t\n/") {
			return fmt.Errorf("linux.resources.network.priorities[%d].name: %q is not an interface name", i, p.Name)
		}
	}
	return nil
}

// validateUnified accepts keys naming a file of the cgroup itself
// ("memory.high"), never a path elsewhere, and none of the cgroup.* files
// that berth owns (membership, the controllers enabled, freeze, kill).
func validateUnified(r *specs.LinuxResources) error {
	for k := range r.Unified {
		if !strings.Contains(k, ".") || strings.ContainsAny(k, "/\x00") || strings.HasPrefix(k, ".") || strings.Contains(k, "..") {
			return fmt.Errorf("linux.resources.unified: key %q is not a cgroup file name like memory.high", k)
		}
		if unifiedReserved[k] {
			return fmt.Errorf("linux.resources.unified[%q]: berth manages this file itself; it cannot be set", k)
		}
	}
	return nil
}

var unifiedReserved = map[string]bool{
	"cgroup.procs": true, "cgroup.threads": true, "cgroup.subtree_control": true,
	"cgroup.type": true, "cgroup.freeze": true, "cgroup.kill": true,
	"cgroup.controllers": true, "cgroup.events": true, "cgroup.stat": true,
}
