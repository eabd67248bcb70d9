package cgroups

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Stats reads every hierarchy the container has; a controller that is not
// mounted leaves its part zero. On a hybrid host the pressure (PSI) files
// and hugetlb come from the cgroup2 side.
func (m *manager) Stats() (*Stats, error) {
	if m.pureV2() {
		return m.statsV2()
	}
	s := &Stats{Hugetlb: map[string]Hugetlb{}, NetworkInterfaces: []struct{}{}}
	for _, read := range []func(*Stats) error{
		m.cpuStats, m.cpusetStats, m.memoryStats, m.pidsStats, m.blkioStats, m.hugetlbStats, m.psiStats,
	} {
		if err := read(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// statDir returns the directory of ctrl, or "" when it is not mounted.
func (m *manager) statDir(ctrl string) string {
	return m.paths[ctrl]
}

// optUint reads a number file, 0 when the file is missing (older or newer
// kernels lack some).
func optUint(dir, file string) (uint64, error) {
	v, err := readUintFile(dir, file)
	if err != nil && errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	return v, err
}

// optFields reads a whitespace-separated list of numbers, nil when missing.
func optFields(dir, file string) ([]uint64, error) {
	s, err := readFile(dir, file)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("read %s/%s: %w", dir, file, err)
	}
	var out []uint64
	for _, f := range strings.Fields(s) {
		v, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("read %s/%s: %q is not a number", dir, file, f)
		}
		out = append(out, v)
	}
	return out, nil
}

// keyValues parses "key value" lines (memory.stat, cpu.stat...); missing
// file: empty map.
func keyValues(dir, file string) (map[string]uint64, error) {
	out := map[string]uint64{}
	s, err := readFile(dir, file)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return out, nil
		}
		return nil, fmt.Errorf("read %s/%s: %w", dir, file, err)
	}
	for _, line := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok {
			continue
		}
		if n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64); err == nil {
			out[k] = n
		}
	}
	return out, nil
}

// userHZ is the unit of cpuacct.stat (USER_HZ, 100 on every Linux ABI).
const userHZ = 100

func (m *manager) cpuStats(s *Stats) error {
	if dir := m.statDir("cpuacct"); dir != "" {
		var err error
		u := &s.CPU.Usage
		if u.Total, err = optUint(dir, "cpuacct.usage"); err != nil {
			return err
		}
		if u.Percpu, err = optFields(dir, "cpuacct.usage_percpu"); err != nil {
			return err
		}
		if u.PercpuKernel, err = optFields(dir, "cpuacct.usage_percpu_sys"); err != nil {
			return err
		}
		if u.PercpuUser, err = optFields(dir, "cpuacct.usage_percpu_user"); err != nil {
			return err
		}
		st, err := keyValues(dir, "cpuacct.stat")
		if err != nil {
			return err
		}
		u.User, u.Kernel = st["user"]*(1e9/userHZ), st["system"]*(1e9/userHZ)
	}
	if dir := m.statDir("cpu"); dir != "" {
		st, err := keyValues(dir, "cpu.stat")
		if err != nil {
			return err
		}
		s.CPU.Throttling = Throttling{Periods: st["nr_periods"], ThrottledPeriods: st["nr_throttled"], ThrottledTime: st["throttled_time"]}
	}
	return nil
}

func (m *manager) cpusetStats(s *Stats) error {
	dir := m.statDir("cpuset")
	if dir == "" {
		return nil
	}
	for _, l := range []struct {
		file string
		dst  *[]uint16
	}{{"cpuset.cpus", &s.CPUSet.CPUs}, {"cpuset.mems", &s.CPUSet.Mems}} {
		v, err := readFile(dir, l.file)
		if err != nil {
			return fmt.Errorf("read %s/%s: %w", dir, l.file, err)
		}
		if v = strings.TrimSpace(v); v != "" {
			if *l.dst, err = ParseList(v); err != nil {
				return fmt.Errorf("read %s/%s: %w", dir, l.file, err)
			}
		}
	}
	c := &s.CPUSet
	for _, f := range []struct {
		file string
		dst  *uint64
	}{
		{"cpuset.cpu_exclusive", &c.CPUExclusive}, {"cpuset.mem_hardwall", &c.MemHardwall},
		{"cpuset.mem_exclusive", &c.MemExclusive}, {"cpuset.memory_migrate", &c.MemoryMigrate},
		{"cpuset.memory_spread_page", &c.MemorySpreadPage}, {"cpuset.memory_spread_slab", &c.MemorySpreadSlab},
		{"cpuset.memory_pressure", &c.MemoryPressure}, {"cpuset.sched_load_balance", &c.SchedLoadBalance},
	} {
		v, err := optUint(dir, f.file)
		if err != nil {
			return err
		}
		*f.dst = v
	}
	return nil
}

func (m *manager) memoryStats(s *Stats) error {
	dir := m.statDir("memory")
	if dir == "" {
		return nil
	}
	raw, err := keyValues(dir, "memory.stat")
	if err != nil {
		return err
	}
	s.Memory.Raw, s.Memory.Cache = raw, raw["cache"]
	for _, e := range []struct {
		prefix string
		dst    *MemoryEntry
	}{
		{"memory.", &s.Memory.Usage}, {"memory.memsw.", &s.Memory.Swap},
		{"memory.kmem.", &s.Memory.Kernel}, {"memory.kmem.tcp.", &s.Memory.KernelTCP},
	} {
		if err := memoryEntry(dir, e.prefix, e.dst); err != nil {
			return err
		}
	}
	oc, err := keyValues(dir, "memory.oom_control")
	if err != nil {
		return err
	}
	s.Memory.EventCount.OOMKill = oc["oom_kill"]
	return nil
}

// memoryEntry reads <prefix>{usage,max_usage,limit}_in_bytes and failcnt.
// An unlimited v1 limit (a huge page-rounded number) is reported as is, as
// runc does.
func memoryEntry(dir, prefix string, e *MemoryEntry) error {
	for _, f := range []struct {
		name string
		dst  *uint64
	}{{"usage_in_bytes", &e.Usage}, {"max_usage_in_bytes", &e.Max}, {"limit_in_bytes", &e.Limit}, {"failcnt", &e.Failcnt}} {
		v, err := optUint(dir, prefix+f.name)
		if err != nil {
			return err
		}
		*f.dst = v
	}
	return nil
}

func (m *manager) pidsStats(s *Stats) error {
	dir := m.statDir("pids")
	if dir == "" {
		return nil
	}
	var err error
	if s.Pids.Current, err = optUint(dir, "pids.current"); err != nil {
		return err
	}
	s.Pids.Limit, err = optUint(dir, "pids.max") // "max" reads as 0
	return err
}

func (m *manager) blkioStats(s *Stats) error {
	dir := m.statDir("blkio")
	if dir == "" {
		return nil
	}
	// CFQ's files when the kernel has them, else the throttle layer's
	// (which counts every I/O), as runc does.
	for _, f := range []struct {
		cfq, throttle string
		dst           *[]BlkioEntry
	}{
		{"blkio.io_service_bytes_recursive", "blkio.throttle.io_service_bytes_recursive", &s.Blkio.IoServiceBytesRecursive},
		{"blkio.io_serviced_recursive", "blkio.throttle.io_serviced_recursive", &s.Blkio.IoServicedRecursive},
	} {
		entries, err := blkioEntries(dir, f.cfq)
		if err == nil && len(entries) == 0 {
			entries, err = blkioEntries(dir, f.throttle)
		}
		if err != nil {
			return err
		}
		*f.dst = entries
	}
	return nil
}

// blkioEntries parses "major:minor Op value" lines; the "Total" line and
// a missing file are skipped.
func blkioEntries(dir, file string) ([]BlkioEntry, error) {
	s, err := readFile(dir, file)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("read %s/%s: %w", dir, file, err)
	}
	var out []BlkioEntry
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		maj, min, ok := strings.Cut(f[0], ":")
		a, err1 := strconv.ParseUint(maj, 10, 64)
		b, err2 := strconv.ParseUint(min, 10, 64)
		v, err3 := strconv.ParseUint(f[2], 10, 64)
		if !ok || err1 != nil || err2 != nil || err3 != nil {
			return nil, fmt.Errorf("read %s/%s: malformed line %q", dir, file, line)
		}
		out = append(out, BlkioEntry{Major: a, Minor: b, Op: f[1], Value: v})
	}
	return out, nil
}

// hugetlbStats reads every huge page size the kernel has, from a v1
// hugetlb hierarchy or the cgroup2 directory when hugetlb is enabled there.
func (m *manager) hugetlbStats(s *Stats) error {
	sizes, err := hugePageSizes()
	if err != nil {
		return err
	}
	dir, v1 := m.paths["hugetlb"]
	if !v1 {
		dir = m.paths[Unified]
	}
	for _, size := range sizes {
		var h Hugetlb
		var err error
		if v1 {
			if h.Usage, err = optUint(dir, "hugetlb."+size+".usage_in_bytes"); err == nil {
				if h.Max, err = optUint(dir, "hugetlb."+size+".max_usage_in_bytes"); err == nil {
					h.Failcnt, err = optUint(dir, "hugetlb."+size+".failcnt")
				}
			}
		} else if dir != "" {
			if _, serr := os.Stat(dir + "/hugetlb." + size + ".current"); serr != nil {
				continue // hugetlb not enabled for this cgroup
			}
			if h.Usage, err = optUint(dir, "hugetlb."+size+".current"); err == nil {
				var ev map[string]uint64
				ev, err = keyValues(dir, "hugetlb."+size+".events")
				h.Failcnt = ev["max"]
			}
		}
		if err != nil {
			return err
		}
		if v1 || dir != "" {
			s.Hugetlb[size] = h
		}
	}
	return nil
}

// hugePageSizes lists the kernel's huge page sizes in cgroup notation
// ("2MB", "1GB"), from /sys/kernel/mm/hugepages/hugepages-<n>kB.
func hugePageSizes() ([]string, error) {
	ents, err := os.ReadDir("/sys/kernel/mm/hugepages")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var out []string
	for _, e := range ents {
		kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(e.Name(), "hugepages-"), "kB"), 10, 64)
		if err != nil {
			continue
		}
		out = append(out, pageSizeName(kb))
	}
	return out, nil
}

func pageSizeName(kb uint64) string {
	switch {
	case kb >= 1<<20 && kb%(1<<20) == 0:
		return strconv.FormatUint(kb>>20, 10) + "GB"
	case kb >= 1<<10 && kb%(1<<10) == 0:
		return strconv.FormatUint(kb>>10, 10) + "MB"
	}
	return strconv.FormatUint(kb, 10) + "KB"
}

// psiStats reads cpu, memory and io pressure from the cgroup2 directory
// (a hybrid host has them there, for the same processes).
func (m *manager) psiStats(s *Stats) error {
	dir, ok := m.paths[Unified]
	if !ok {
		return nil
	}
	for _, p := range []struct {
		file string
		dst  **PSIStats
	}{{"cpu.pressure", &s.CPU.PSI}, {"memory.pressure", &s.Memory.PSI}, {"io.pressure", &s.Blkio.PSI}} {
		data, err := readFile(dir, p.file)
		if err != nil {
			continue // no file, or PSI disabled at boot (EOPNOTSUPP): no PSI
		}
		psi, err := parsePSI(data)
		if err != nil {
			return fmt.Errorf("read %s/%s: %w", dir, p.file, err)
		}
		*p.dst = psi
	}
	return nil
}

// parsePSI parses "some avg10=0.00 avg60=0.00 avg300=0.00 total=0" lines.
func parsePSI(data string) (*PSIStats, error) {
	var out PSIStats
	for _, line := range strings.Split(strings.TrimSpace(data), "\n") {
		f := strings.Fields(line)
		if len(f) != 5 {
			return nil, fmt.Errorf("malformed line %q", line)
		}
		var d *PSIData
		switch f[0] {
		case "some":
			d = &out.Some
		case "full":
			d = &out.Full
		default:
			return nil, fmt.Errorf("malformed line %q", line)
		}
		for _, kv := range f[1:] {
			k, v, _ := strings.Cut(kv, "=")
			var err error
			switch k {
			case "avg10":
				d.Avg10, err = strconv.ParseFloat(v, 64)
			case "avg60":
				d.Avg60, err = strconv.ParseFloat(v, 64)
			case "avg300":
				d.Avg300, err = strconv.ParseFloat(v, 64)
			case "total":
				d.Total, err = strconv.ParseUint(v, 10, 64)
			}
			if err != nil {
				return nil, fmt.Errorf("malformed line %q", line)
			}
		}
	}
	return &out, nil
}
