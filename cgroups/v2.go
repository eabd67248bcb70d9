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

// The cgroup v2 (unified) side of the fs driver: controllers enabled on the
// way down, and linux.resources translated to v2 files the way runc does
// (shares -> cpu.weight, blkio weight -> io.weight, v1 memory+swap -> v2
// swap only).

// enableAllControllers enables, in cgroup.subtree_control of every cgroup2
// ancestor of dir from the top down, every controller that ancestor offers
// in cgroup.controllers, so that dir gets their files. A controller the
// kernel refuses to enable (the no-internal-process rule on a cgroup with
// tasks, a threaded subtree) is left off: Set then reports the missing file
// under the JSON field that needed it.
func enableAllControllers(dir string) {
	var ancestors []string
	for a := filepath.Dir(dir); a != "/" && isCgroup2(a); a = filepath.Dir(a) {
		ancestors = append(ancestors, a)
	}
	for i := len(ancestors) - 1; i >= 0; i-- {
		enableIn(ancestors[i])
	}
}

// enableIn writes "+ctrl ..." for the controllers dir offers and has not
// enabled yet: all at once, and one by one if the kernel refuses the lot.
func enableIn(dir string) {
	avail, err := readFile(dir, "cgroup.controllers")
	if err != nil {
		return
	}
	cur, _ := readFile(dir, "cgroup.subtree_control")
	var want []string
	for _, c := range strings.Fields(avail) {
		if !slicesContains(strings.Fields(cur), c) {
			want = append(want, "+"+c)
		}
	}
	if len(want) == 0 || writeFile(dir, "cgroup.subtree_control", strings.Join(want, " ")) == nil {
		return
	}
	for _, c := range want {
		_ = writeFile(dir, "cgroup.subtree_control", c)
	}
}

// setV2 applies r to the unified cgroup. Unified keys are written last so
// they override the translated fields, as runc does.
func (m *manager) setV2(r *specs.LinuxResources) error {
	dir := m.paths[Unified]
	for _, set := range []func(string, *specs.LinuxResources) error{
		m.setDevicesV2, setMemoryV2, setCPUV2, setCpusetV2, setPidsV2, setIOV2,
		m.setHugetlbV2, m.setRdmaV2, setNetworkV2, setUnified,
	} {
		if err := set(dir, r); err != nil {
			return err
		}
	}
	return nil
}

func (m *manager) setDevicesV2(dir string, r *specs.LinuxResources) error {
	if r.Devices == nil {
		return nil
	}
	rules := append(append([]specs.LinuxDeviceCgroup{}, r.Devices...), AllowedDevices()...)
	if err := setDeviceFilter(dir, rules); err != nil {
		return fmt.Errorf("linux.resources.devices: %w", err)
	}
	return nil
}

func (m *manager) setHugetlbV2(_ string, r *specs.LinuxResources) error { return m.setHugetlb(r) }
func (m *manager) setRdmaV2(_ string, r *specs.LinuxResources) error    { return m.setRdma(r) }

// notOnV2 is the error for a field cgroup v2 has no file for.
func notOnV2(field, why string) error {
	return fmt.Errorf("%s: %s on cgroup v2: %w", field, why, ErrNotSupported)
}

// maxOr renders a limit where -1 means "max".
func maxOr(v int64) string {
	if v == -1 {
		return "max"
	}
	return strconv.FormatInt(v, 10)
}

func setMemoryV2(dir string, r *specs.LinuxResources) error {
	mem := r.Memory
	if mem == nil {
		return nil
	}
	switch {
	case mem.Kernel != nil && *mem.Kernel != 0:
		return notOnV2(memField+"kernel", "there is no kernel memory limit")
	case mem.KernelTCP != nil && *mem.KernelTCP != 0:
		return notOnV2(memField+"kernelTCP", "there is no kernel TCP memory limit")
	case mem.Swappiness != nil:
		return notOnV2(memField+"swappiness", "there is no per-cgroup swappiness")
	case mem.DisableOOMKiller != nil && *mem.DisableOOMKiller:
		return notOnV2(memField+"disableOOMKiller", "the OOM killer cannot be disabled")
	case mem.UseHierarchy != nil && !*mem.UseHierarchy:
		return notOnV2(memField+"useHierarchy", "accounting is always hierarchical")
	}
	if mem.Limit != nil && *mem.Limit > 0 && mem.CheckBeforeUpdate != nil && *mem.CheckBeforeUpdate {
		usage, err := readUintFile(dir, "memory.current")
		if err != nil {
			return fmt.Errorf("%scheckBeforeUpdate: %w", memField, err)
		}
		if uint64(*mem.Limit) < usage {
			return fmt.Errorf("%slimit: %d is below the current usage %d (checkBeforeUpdate is set)", memField, *mem.Limit, usage)
		}
	}
	swap, err := swapV2(dir, mem)
	if err != nil {
		return err
	}
	// swap.max and memory.max are independent on v2; swap goes first so a
	// failing memory.max does not leave a swap limit meant for another one.
	if swap != "" {
		if err := writeField(memField+"swap", dir, "memory.swap.max", swap); err != nil {
			return err
		}
	}
	if mem.Limit != nil && *mem.Limit != 0 {
		if err := writeField(memField+"limit", dir, "memory.max", maxOr(*mem.Limit)); err != nil {
			return err
		}
	}
	if mem.Reservation != nil && *mem.Reservation != 0 {
		return writeField(memField+"reservation", dir, "memory.low", maxOr(*mem.Reservation))
	}
	return nil
}

// swapV2 converts runc's v1 swap (the memory+swap total) to the v2
// memory.swap.max (swap alone): swap - limit; -1 is "max", 0 is unset. An
// unlimited memory with swap unset lifts swap too, as runc does. With no
// limit in r (an update of swap alone) the current memory.max is used.
func swapV2(dir string, mem *specs.LinuxMemory) (string, error) {
	if mem.Swap == nil || *mem.Swap == 0 {
		if mem.Limit != nil && *mem.Limit == -1 {
			if _, err := os.Stat(filepath.Join(dir, "memory.swap.max")); err == nil {
				return "max", nil
			}
		}
		return "", nil
	}
	if *mem.Swap == -1 {
		return "max", nil
	}
	var limit int64
	if mem.Limit != nil {
		limit = *mem.Limit
	} else if cur, err := readFile(dir, "memory.max"); err == nil && strings.TrimSpace(cur) != "max" {
		limit, _ = strconv.ParseInt(strings.TrimSpace(cur), 10, 64)
	}
	if limit <= 0 {
		return "", fmt.Errorf("%sswap: %d needs a memory.limit on cgroup v2 (swap is the memory+swap total)", memField, *mem.Swap)
	}
	if *mem.Swap < limit {
		return "", fmt.Errorf("%sswap: %d is below memory.limit %d (swap is the memory+swap total)", memField, *mem.Swap, limit)
	}
	return strconv.FormatInt(*mem.Swap-limit, 10), nil
}

// SharesToWeight converts cgroup v1 cpu.shares (2..262144) to cgroup v2
// cpu.weight (1..10000) with runc's linear mapping; 0 stays 0 (unset).
func SharesToWeight(shares uint64) uint64 {
	if shares == 0 {
		return 0
	}
	if shares < 2 {
		shares = 2
	}
	if shares > 262144 {
		shares = 262144
	}
	return 1 + ((shares-2)*9999)/262142
}

// BlkioWeightToIOWeight converts a v1 blkio weight (10..1000) to a v2
// io.weight (1..10000) as runc does; 0 stays 0 (unset).
func BlkioWeightToIOWeight(w uint64) uint64 {
	if w == 0 {
		return 0
	}
	return 1 + (w-10)*9999/990
}

func setCPUV2(dir string, r *specs.LinuxResources) error {
	c := r.CPU
	if c == nil {
		return nil
	}
	if (c.RealtimeRuntime != nil && *c.RealtimeRuntime != 0) || (c.RealtimePeriod != nil && *c.RealtimePeriod != 0) {
		field := cpuField + "realtimeRuntime"
		if c.RealtimeRuntime == nil || *c.RealtimeRuntime == 0 {
			field = cpuField + "realtimePeriod"
		}
		return notOnV2(field, "there is no realtime scheduling budget")
	}
	if c.Shares != nil && *c.Shares != 0 {
		w := strconv.FormatUint(SharesToWeight(*c.Shares), 10)
		if err := writeField(cpuField+"shares", dir, "cpu.weight", w); err != nil {
			return err
		}
	}
	var steps []func() error
	if line, ok := cpuMax(dir, c); ok {
		field := cpuField + "quota"
		if c.Quota == nil || *c.Quota == 0 {
			field = cpuField + "period"
		}
		steps = append(steps, func() error { return writeField(field, dir, "cpu.max", line) })
	}
	if c.Burst != nil {
		steps = append(steps, func() error {
			return writeField(cpuField+"burst", dir, "cpu.max.burst", strconv.FormatUint(*c.Burst, 10))
		})
	}
	// The kernel refuses a burst above the quota: a raise of both needs
	// cpu.max first, a cut of both cpu.max.burst first.
	if err := inEitherOrder(steps); err != nil {
		return err
	}
	if c.Idle != nil {
		return writeField(cpuField+"idle", dir, "cpu.idle", strconv.FormatInt(*c.Idle, 10))
	}
	return nil
}

// cpuMax renders cpu.max ("quota period", quota "max" when -1 or unset).
// A field r leaves unset keeps its current value, so `update --cpu-period`
// does not lift the quota.
func cpuMax(dir string, c *specs.LinuxCPU) (string, bool) {
	hasQuota := c.Quota != nil && *c.Quota != 0
	hasPeriod := c.Period != nil && *c.Period != 0
	if !hasQuota && !hasPeriod {
		return "", false
	}
	quota, period := "max", ""
	if cur, err := readFile(dir, "cpu.max"); err == nil {
		if f := strings.Fields(cur); len(f) == 2 {
			quota, period = f[0], f[1]
		}
	}
	if hasQuota {
		quota = maxOr(*c.Quota)
		if *c.Quota < -1 {
			quota = "max"
		}
	}
	if hasPeriod {
		period = strconv.FormatUint(*c.Period, 10)
	}
	if period == "" {
		return quota, true
	}
	return quota + " " + period, true
}

func setCpusetV2(dir string, r *specs.LinuxResources) error {
	c := r.CPU
	if c == nil {
		return nil
	}
	if c.Cpus != "" {
		if err := writeField(cpuField+"cpus", dir, "cpuset.cpus", c.Cpus); err != nil {
			return err
		}
	}
	if c.Mems != "" {
		return writeField(cpuField+"mems", dir, "cpuset.mems", c.Mems)
	}
	return nil
}

func setPidsV2(dir string, r *specs.LinuxResources) error {
	if r.Pids == nil || r.Pids.Limit == nil {
		return nil
	}
	return writeField("linux.resources.pids.limit", dir, "pids.max", pidsMax(*r.Pids.Limit))
}

// setIOV2 writes io.weight (or io.bfq.weight, which takes the v1 scale,
// where the BFQ scheduler has it), per-device BFQ weights and io.max.
func setIOV2(dir string, r *specs.LinuxResources) error {
	b := r.BlockIO
	if b == nil {
		return nil
	}
	if b.LeafWeight != nil && *b.LeafWeight != 0 {
		return notOnV2(blkioField+"leafWeight", "there are no leaf weights")
	}
	_, err := os.Stat(filepath.Join(dir, "io.bfq.weight"))
	bfq := err == nil
	if b.Weight != nil && *b.Weight != 0 {
		file, val := "io.weight", strconv.FormatUint(BlkioWeightToIOWeight(uint64(*b.Weight)), 10)
		if bfq {
			file, val = "io.bfq.weight", strconv.Itoa(int(*b.Weight))
		}
		if err := writeField(blkioField+"weight", dir, file, val); err != nil {
			return err
		}
	}
	for i, d := range b.WeightDevice {
		f := fmt.Sprintf("%sweightDevice[%d]", blkioField, i)
		if d.LeafWeight != nil && *d.LeafWeight != 0 {
			return notOnV2(f+".leafWeight", "there are no leaf weights")
		}
		if d.Weight == nil {
			continue
		}
		if !bfq {
			return notOnV2(f+".weight", "per-device weights need the BFQ I/O scheduler (io.bfq.weight)")
		}
		if err := writeField(f+".weight", dir, "io.bfq.weight", fmt.Sprintf("%d:%d %d", d.Major, d.Minor, *d.Weight)); err != nil {
			return err
		}
	}
	for _, t := range throttleLists(b) {
		key := ioMaxKey[t.field]
		for i, d := range t.devs {
			rate := strconv.FormatUint(d.Rate, 10)
			if d.Rate == 0 {
				rate = "max" // 0 lifts a v1 throttle; io.max has no 0
			}
			f := fmt.Sprintf("%s%s[%d]", blkioField, t.field, i)
			if err := writeField(f, dir, "io.max", fmt.Sprintf("%d:%d %s=%s", d.Major, d.Minor, key, rate)); err != nil {
				return err
			}
		}
	}
	return nil
}

// ioMaxKey maps the blockIO throttle lists to io.max keys.
var ioMaxKey = map[string]string{
	"throttleReadBpsDevice":   "rbps",
	"throttleWriteBpsDevice":  "wbps",
	"throttleReadIOPSDevice":  "riops",
	"throttleWriteIOPSDevice": "wiops",
}

func setNetworkV2(_ string, r *specs.LinuxResources) error {
	n := r.Network
	if n == nil {
		return nil
	}
	if n.ClassID != nil {
		return notOnV2("linux.resources.network.classID", "there is no net_cls controller")
	}
	if len(n.Priorities) > 0 {
		return notOnV2("linux.resources.network.priorities", "there is no net_prio controller")
	}
	return nil
}

// setUnified writes linux.resources.unified, key = file of the cgroup.
// Validate has refused names with a '/' and the files berth itself owns.
// A missing file means its controller is not enabled for the cgroup (or
// the kernel lacks the file): the error says which.
func setUnified(dir string, r *specs.LinuxResources) error {
	for _, k := range sortedKeys(r.Unified) {
		field := fmt.Sprintf("linux.resources.unified[%q]", k)
		err := fileWriter(dir, k, r.Unified[k])
		if err == nil {
			continue
		}
		if errors.Is(err, unix.ENOENT) {
			ctrl, _, _ := strings.Cut(k, ".")
			if !hasController(dir, ctrl) {
				return fmt.Errorf("%s: the %s controller is not available in %s: %w", field, ctrl, dir, ErrNotMounted)
			}
			return fmt.Errorf("%s: no such cgroup file in %s: %w", field, dir, ErrNotMounted)
		}
		return fmt.Errorf("%s: write %s %q: %w", field, k, r.Unified[k], err)
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
