package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// ErrNotMounted is wrapped by errors for a resource whose cgroup hierarchy
// (or file) this host does not have.
var ErrNotMounted = errors.New("not available on this host")

// setV1 applies r to the v1 hierarchies (and, on a hybrid host, hugetlb
// on the cgroup2 side). Each part writes only the fields that are set.
func (m *manager) setV1(r *specs.LinuxResources) error {
	if len(r.Unified) > 0 {
		return fmt.Errorf("linux.resources.unified: cgroup v2 files cannot be set on a cgroup v1 host: %w", ErrNotSupported)
	}
	for _, set := range []func(*specs.LinuxResources) error{
		m.setDevicesV1, m.setMemoryV1, m.setCPUV1, m.setCpusetV1, m.setPidsV1,
		m.setBlkioV1, m.setHugetlb, m.setNetworkV1, m.setRdma,
	} {
		if err := set(r); err != nil {
			return err
		}
	}
	return nil
}

// write writes val to file in the hierarchy of controller ctrl, with an
// error naming the JSON field. A hierarchy or file the host lacks is
// ErrNotMounted.
func (m *manager) write(field, ctrl, file, val string) error {
	dir, ok := m.paths[ctrl]
	if !ok {
		return fmt.Errorf("%s: the %s cgroup controller is not mounted: %w", field, ctrl, ErrNotMounted)
	}
	return writeField(field, dir, file, val)
}

// fileWriter is writeFile; tests swap it to record the order of writes.
var fileWriter = writeFile

func writeField(field, dir, file, val string) error {
	err := fileWriter(dir, file, val)
	if err == nil {
		return nil
	}
	if err == unix.ENOENT {
		if _, serr := os.Stat(dir); serr == nil {
			return fmt.Errorf("%s: %s: no such cgroup file on this kernel: %w", field, file, ErrNotMounted)
		}
	}
	return fmt.Errorf("%s: write %s %q: %w", field, file, val, err)
}

// has reports whether file exists in the hierarchy of ctrl.
func (m *manager) has(ctrl, file string) bool {
	dir, ok := m.paths[ctrl]
	if !ok {
		return false
	}
	_, err := os.Stat(filepath.Join(dir, file))
	return err == nil
}

func (m *manager) setDevicesV1(r *specs.LinuxResources) error {
	if r.Devices == nil {
		return nil // update: the device list is left as it is
	}
	dir, ok := m.paths["devices"]
	if !ok {
		return fmt.Errorf("linux.resources.devices: the devices cgroup controller is not mounted: %w", ErrNotMounted)
	}
	lines, err := deviceRules("linux.resources.devices", r.Devices)
	if err != nil {
		return err
	}
	defaults, err := deviceRules("default devices", AllowedDevices())
	if err != nil {
		return err
	}
	return writeDevices(dir, append(lines, defaults...))
}

func (m *manager) setMemoryV1(r *specs.LinuxResources) error {
	mem := r.Memory
	if mem == nil {
		return nil
	}
	if err := m.setMemoryAndSwap(mem); err != nil {
		return err
	}
	ints := []struct {
		field, file string
		v           *int64
	}{
		{"reservation", "memory.soft_limit_in_bytes", mem.Reservation},
		{"kernel", "memory.kmem.limit_in_bytes", mem.Kernel},
		{"kernelTCP", "memory.kmem.tcp.limit_in_bytes", mem.KernelTCP},
	}
	for _, f := range ints {
		if f.v != nil {
			if err := m.write(memField+f.field, "memory", f.file, strconv.FormatInt(*f.v, 10)); err != nil {
				return err
			}
		}
	}
	if mem.Swappiness != nil {
		if err := m.write(memField+"swappiness", "memory", "memory.swappiness", strconv.FormatUint(*mem.Swappiness, 10)); err != nil {
			return err
		}
	}
	if mem.DisableOOMKiller != nil {
		if err := m.write(memField+"disableOOMKiller", "memory", "memory.oom_control", boolDigit(*mem.DisableOOMKiller)); err != nil {
			return err
		}
	}
	if mem.UseHierarchy != nil {
		return m.write(memField+"useHierarchy", "memory", "memory.use_hierarchy", boolDigit(*mem.UseHierarchy))
	}
	return nil
}

func boolDigit(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// setMemoryAndSwap writes memory.limit_in_bytes and memory.memsw
// .limit_in_bytes in the order the kernel accepts: it refuses a memory
// limit above memsw and a memsw below the memory limit, so a raise writes
// memsw first and a cut writes the memory limit first.
func (m *manager) setMemoryAndSwap(mem *specs.LinuxMemory) error {
	if mem.Limit != nil && *mem.Limit > 0 && mem.CheckBeforeUpdate != nil && *mem.CheckBeforeUpdate {
		if err := m.checkUsage(*mem.Limit); err != nil {
			return err
		}
	}
	limit := func() error {
		if mem.Limit == nil {
			return nil
		}
		return m.write(memField+"limit", "memory", "memory.limit_in_bytes", strconv.FormatInt(*mem.Limit, 10))
	}
	swap := func() error {
		if mem.Swap == nil {
			return nil
		}
		return m.write(memField+"swap", "memory", "memory.memsw.limit_in_bytes", strconv.FormatInt(*mem.Swap, 10))
	}
	// An unlimited memory limit with memsw left as it was would sit above
	// memsw, which the kernel refuses: lift memsw too, as runc does.
	if mem.Limit != nil && *mem.Limit == -1 && mem.Swap == nil && m.has("memory", "memory.memsw.limit_in_bytes") {
		unlimited := int64(-1)
		mem = &specs.LinuxMemory{Limit: mem.Limit, Swap: &unlimited}
	}
	swapFirst := false
	if mem.Limit != nil && mem.Swap != nil {
		cur, err := m.readUint("memory", "memory.memsw.limit_in_bytes")
		swapFirst = *mem.Swap == -1 || (err == nil && uint64(*mem.Swap) > cur)
	}
	if swapFirst {
		if err := swap(); err != nil {
			return err
		}
		return limit()
	}
	if err := limit(); err != nil {
		return err
	}
	return swap()
}

// checkUsage refuses a memory limit below the current usage
// (memory.checkBeforeUpdate).
func (m *manager) checkUsage(limit int64) error {
	usage, err := m.readUint("memory", "memory.usage_in_bytes")
	if err != nil {
		return fmt.Errorf("%scheckBeforeUpdate: %w", memField, err)
	}
	if uint64(limit) < usage {
		return fmt.Errorf("%slimit: %d is below the current usage %d (checkBeforeUpdate is set)", memField, limit, usage)
	}
	return nil
}

// readUint reads a one-number file of controller ctrl.
func (m *manager) readUint(ctrl, file string) (uint64, error) {
	dir, ok := m.paths[ctrl]
	if !ok {
		return 0, fmt.Errorf("the %s cgroup controller is not mounted: %w", ctrl, ErrNotMounted)
	}
	return readUintFile(dir, file)
}

func readUintFile(dir, file string) (uint64, error) {
	s, err := readFile(dir, file)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", filepath.Join(dir, file), err)
	}
	s = strings.TrimSpace(s)
	if s == "max" {
		return 0, nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		// "-1" style values are unlimited.
		if n, ierr := strconv.ParseInt(s, 10, 64); ierr == nil && n < 0 {
			return 0, nil
		}
		return 0, fmt.Errorf("read %s: %q is not a number", filepath.Join(dir, file), s)
	}
	return v, nil
}

func (m *manager) setCPUV1(r *specs.LinuxResources) error {
	c := r.CPU
	if c == nil {
		return nil
	}
	if c.Shares != nil && *c.Shares != 0 {
		if err := m.setShares(*c.Shares); err != nil {
			return err
		}
	}
	if err := m.setQuota(c); err != nil {
		return err
	}
	if err := m.setRealtime(c); err != nil {
		return err
	}
	if c.Idle != nil {
		return m.write(cpuField+"idle", "cpu", "cpu.idle", strconv.FormatInt(*c.Idle, 10))
	}
	return nil
}

// setShares writes cpu.shares and reads it back: the kernel clamps the
// value into 2..262144 without an error, which would otherwise go unseen.
func (m *manager) setShares(shares uint64) error {
	v := strconv.FormatUint(shares, 10)
	if err := m.write(cpuField+"shares", "cpu", "cpu.shares", v); err != nil {
		return err
	}
	got, err := m.readUint("cpu", "cpu.shares")
	if err != nil {
		return fmt.Errorf("%sshares: %w", cpuField, err)
	}
	if got != shares {
		return fmt.Errorf("%sshares: %d is outside what the kernel takes (it set %d)", cpuField, shares, got)
	}
	return nil
}

// setQuota writes period, quota and burst. The kernel checks each write
// against the others (burst <= quota, quota against the parent over the
// period), so when the natural order fails the other one is tried.
func (m *manager) setQuota(c *specs.LinuxCPU) error {
	var steps []func() error
	if c.Period != nil && *c.Period != 0 {
		steps = append(steps, func() error {
			return m.write(cpuField+"period", "cpu", "cpu.cfs_period_us", strconv.FormatUint(*c.Period, 10))
		})
	}
	if c.Quota != nil && *c.Quota != 0 {
		steps = append(steps, func() error {
			return m.write(cpuField+"quota", "cpu", "cpu.cfs_quota_us", strconv.FormatInt(*c.Quota, 10))
		})
	}
	if c.Burst != nil {
		steps = append(steps, func() error {
			return m.write(cpuField+"burst", "cpu", "cpu.cfs_burst_us", strconv.FormatUint(*c.Burst, 10))
		})
	}
	return inEitherOrder(steps)
}

// setRealtime writes the realtime period then runtime, or the other way
// round when the kernel refuses the first order (a runtime above the new
// period, or a period the current runtime does not fit in).
func (m *manager) setRealtime(c *specs.LinuxCPU) error {
	var steps []func() error
	if c.RealtimePeriod != nil && *c.RealtimePeriod != 0 {
		steps = append(steps, func() error {
			return m.write(cpuField+"realtimePeriod", "cpu", "cpu.rt_period_us", strconv.FormatUint(*c.RealtimePeriod, 10))
		})
	}
	if c.RealtimeRuntime != nil {
		steps = append(steps, func() error {
			return m.write(cpuField+"realtimeRuntime", "cpu", "cpu.rt_runtime_us", strconv.FormatInt(*c.RealtimeRuntime, 10))
		})
	}
	return inEitherOrder(steps)
}

// inEitherOrder runs steps in order; if one fails with EINVAL or EBUSY it
// runs them all again in reverse and reports the first order's error if
// that fails too.
func inEitherOrder(steps []func() error) error {
	var first error
	for _, s := range steps {
		if first = s(); first != nil {
			break
		}
	}
	if first == nil || len(steps) < 2 || !(errors.Is(first, unix.EINVAL) || errors.Is(first, unix.EBUSY)) {
		return first
	}
	for i := len(steps) - 1; i >= 0; i-- {
		if err := steps[i](); err != nil {
			return first
		}
	}
	return nil
}

func (m *manager) setCpusetV1(r *specs.LinuxResources) error {
	c := r.CPU
	if c == nil {
		return nil
	}
	if c.Cpus != "" {
		if err := m.write(cpuField+"cpus", "cpuset", "cpuset.cpus", c.Cpus); err != nil {
			return err
		}
	}
	if c.Mems != "" {
		return m.write(cpuField+"mems", "cpuset", "cpuset.mems", c.Mems)
	}
	return nil
}

func (m *manager) setPidsV1(r *specs.LinuxResources) error {
	if r.Pids == nil || r.Pids.Limit == nil {
		return nil
	}
	return m.write("linux.resources.pids.limit", "pids", "pids.max", pidsMax(*r.Pids.Limit))
}

// pidsMax renders a pids limit: 0 and -1 mean no limit, as in runc.
func pidsMax(limit int64) string {
	if limit <= 0 {
		return "max"
	}
	return strconv.FormatInt(limit, 10)
}

func (m *manager) setBlkioV1(r *specs.LinuxResources) error {
	b := r.BlockIO
	if b == nil {
		return nil
	}
	// CFQ's files, or BFQ's (which has no leaf weights) on newer kernels.
	weightFile, weightDevFile := "blkio.weight", "blkio.weight_device"
	if !m.has("blkio", weightFile) && m.has("blkio", "blkio.bfq.weight") {
		weightFile, weightDevFile = "blkio.bfq.weight", "blkio.bfq.weight_device"
	}
	if b.Weight != nil {
		if err := m.write(blkioField+"weight", "blkio", weightFile, strconv.Itoa(int(*b.Weight))); err != nil {
			return err
		}
	}
	if b.LeafWeight != nil {
		if err := m.write(blkioField+"leafWeight", "blkio", "blkio.leaf_weight", strconv.Itoa(int(*b.LeafWeight))); err != nil {
			return err
		}
	}
	for i, d := range b.WeightDevice {
		f := fmt.Sprintf("%sweightDevice[%d]", blkioField, i)
		if d.Weight != nil {
			if err := m.write(f+".weight", "blkio", weightDevFile, fmt.Sprintf("%d:%d %d", d.Major, d.Minor, *d.Weight)); err != nil {
				return err
			}
		}
		if d.LeafWeight != nil {
			if err := m.write(f+".leafWeight", "blkio", "blkio.leaf_weight_device", fmt.Sprintf("%d:%d %d", d.Major, d.Minor, *d.LeafWeight)); err != nil {
				return err
			}
		}
	}
	for _, t := range throttleLists(b) {
		for i, d := range t.devs {
			f := fmt.Sprintf("%s%s[%d]", blkioField, t.field, i)
			if err := m.write(f, "blkio", t.v1file, fmt.Sprintf("%d:%d %d", d.Major, d.Minor, d.Rate)); err != nil {
				return err
			}
		}
	}
	return nil
}

// setHugetlb writes hugetlb limits: hugetlb.<size>.limit_in_bytes on a v1
// hugetlb hierarchy, else hugetlb.<size>.max on the cgroup2 one (a hybrid
// host may have hugetlb only there). Reservation limits (rsvd) are set to
// the same value where the kernel has them, as runc does.
func (m *manager) setHugetlb(r *specs.LinuxResources) error {
	if len(r.HugepageLimits) == 0 {
		return nil
	}
	dir, v1 := m.paths["hugetlb"]
	if !v1 {
		var ok bool
		if dir, ok = m.paths[Unified]; !ok {
			return fmt.Errorf("linux.resources.hugepageLimits: the hugetlb cgroup controller is not mounted: %w", ErrNotMounted)
		}
		if err := enableController(dir, "hugetlb"); err != nil {
			return fmt.Errorf("linux.resources.hugepageLimits: %w", err)
		}
	}
	for i, h := range r.HugepageLimits {
		f := fmt.Sprintf("linux.resources.hugepageLimits[%d]", i)
		limit, rsvd := "hugetlb."+h.Pagesize+".max", "hugetlb."+h.Pagesize+".rsvd.max"
		if v1 {
			limit, rsvd = "hugetlb."+h.Pagesize+".limit_in_bytes", "hugetlb."+h.Pagesize+".rsvd.limit_in_bytes"
		}
		val := strconv.FormatUint(h.Limit, 10)
		if err := writeField(f, dir, limit, val); err != nil {
			if errors.Is(err, ErrNotMounted) {
				return fmt.Errorf("%s.pageSize: %q: this host has no such huge page size: %w", f, h.Pagesize, ErrNotMounted)
			}
			return err
		}
		if _, err := os.Stat(filepath.Join(dir, rsvd)); err == nil {
			if err := writeField(f, dir, rsvd, val); err != nil {
				return err
			}
		}
	}
	return nil
}

// enableController turns ctrl on in cgroup.subtree_control of every
// cgroup2 ancestor of dir, top down, so that dir gets ctrl's files.
func enableController(dir, ctrl string) error {
	var ancestors []string
	for a := filepath.Dir(dir); a != "/" && isCgroup2(a); a = filepath.Dir(a) {
		ancestors = append(ancestors, a)
	}
	for i := len(ancestors) - 1; i >= 0; i-- {
		a := ancestors[i]
		cur, err := readFile(a, "cgroup.subtree_control")
		if err != nil {
			return fmt.Errorf("read %s/cgroup.subtree_control: %w", a, err)
		}
		if slicesContains(strings.Fields(cur), ctrl) {
			continue
		}
		if err := writeFile(a, "cgroup.subtree_control", "+"+ctrl); err != nil {
			return fmt.Errorf("enable %s in %s/cgroup.subtree_control: %w", ctrl, a, err)
		}
	}
	return nil
}

func slicesContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (m *manager) setNetworkV1(r *specs.LinuxResources) error {
	n := r.Network
	if n == nil {
		return nil
	}
	if n.ClassID != nil {
		if err := m.write("linux.resources.network.classID", "net_cls", "net_cls.classid", strconv.FormatUint(uint64(*n.ClassID), 10)); err != nil {
			return err
		}
	}
	for i, p := range n.Priorities {
		f := fmt.Sprintf("linux.resources.network.priorities[%d]", i)
		if err := m.write(f, "net_prio", "net_prio.ifpriomap", fmt.Sprintf("%s %d", p.Name, p.Priority)); err != nil {
			return err
		}
	}
	return nil
}

// setRdma writes rdma.max, one line per device, in name order; a limit
// left unset is "max". The rdma controller is v1 or v2 alike.
func (m *manager) setRdma(r *specs.LinuxResources) error {
	if len(r.Rdma) == 0 {
		return nil
	}
	dir, ok := m.paths["rdma"]
	if !ok {
		if dir, ok = m.paths[Unified]; !ok || !hasController(dir, "rdma") {
			return fmt.Errorf("linux.resources.rdma: the rdma cgroup controller is not mounted: %w", ErrNotMounted)
		}
	}
	names := make([]string, 0, len(r.Rdma))
	for k := range r.Rdma {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		line := rdmaLine(name, r.Rdma[name])
		if err := writeField("linux.resources.rdma."+name, dir, "rdma.max", line); err != nil {
			return err
		}
	}
	return nil
}

func rdmaLine(dev string, l specs.LinuxRdma) string {
	num := func(p *uint32) string {
		if p == nil {
			return "max"
		}
		return strconv.FormatUint(uint64(*p), 10)
	}
	return dev + " hca_handle=" + num(l.HcaHandles) + " hca_object=" + num(l.HcaObjects)
}

// hasController reports whether the cgroup2 directory dir's parent offers
// ctrl (lists it in cgroup.controllers).
func hasController(dir, ctrl string) bool {
	s, err := readFile(filepath.Dir(dir), "cgroup.controllers")
	return err == nil && slicesContains(strings.Fields(s), ctrl)
}
