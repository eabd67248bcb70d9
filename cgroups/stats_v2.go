package cgroups

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
)

// statsV2 reads the unified cgroup into the same runc schema as v1:
// microsecond counters become nanoseconds, memory.max "max" is the
// largest uint64 (runc's "no limit"), and swap is reported as v1's
// memory+swap total.
func (m *manager) statsV2() (*Stats, error) {
	dir := m.paths[Unified]
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("stats: cgroup %s: %w", dir, err)
	}
	s := &Stats{Hugetlb: map[string]Hugetlb{}, NetworkInterfaces: []struct{}{}}
	for _, read := range []func(string, *Stats) error{
		cpuStatsV2, cpusetStatsV2, memoryStatsV2, pidsStatsV2, ioStatsV2,
	} {
		if err := read(dir, s); err != nil {
			return nil, err
		}
	}
	if err := m.hugetlbStats(s); err != nil {
		return nil, err
	}
	if err := m.psiStats(s); err != nil {
		return nil, err
	}
	return s, nil
}

func cpuStatsV2(dir string, s *Stats) error {
	st, err := keyValues(dir, "cpu.stat")
	if err != nil {
		return err
	}
	s.CPU.Usage.Total = st["usage_usec"] * 1000
	s.CPU.Usage.User = st["user_usec"] * 1000
	s.CPU.Usage.Kernel = st["system_usec"] * 1000
	s.CPU.Throttling = Throttling{Periods: st["nr_periods"], ThrottledPeriods: st["nr_throttled"], ThrottledTime: st["throttled_usec"] * 1000}
	return nil
}

// cpusetStatsV2 reports the cpus and mems in effect (the .effective files,
// which a cgroup without its own cpuset inherits).
func cpusetStatsV2(dir string, s *Stats) error {
	for _, l := range []struct {
		file string
		dst  *[]uint16
	}{{"cpuset.cpus.effective", &s.CPUSet.CPUs}, {"cpuset.mems.effective", &s.CPUSet.Mems}} {
		v, err := readFile(dir, l.file)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			return fmt.Errorf("read %s/%s: %w", dir, l.file, err)
		}
		if v = strings.TrimSpace(v); v != "" {
			if *l.dst, err = ParseList(v); err != nil {
				return fmt.Errorf("read %s/%s: %w", dir, l.file, err)
			}
		}
	}
	return nil
}

// limitV2 reads a v2 limit file: "max" (or a missing file) is no limit,
// reported as math.MaxUint64 as runc does.
func limitV2(dir, file string) (uint64, error) {
	v, err := readFile(dir, file)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return math.MaxUint64, nil
		}
		return 0, fmt.Errorf("read %s/%s: %w", dir, file, err)
	}
	v = strings.TrimSpace(v)
	if v == "max" {
		return math.MaxUint64, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("read %s/%s: %q is not a number", dir, file, v)
	}
	return n, nil
}

func memoryStatsV2(dir string, s *Stats) error {
	raw, err := keyValues(dir, "memory.stat")
	if err != nil {
		return err
	}
	mem := &s.Memory
	mem.Raw, mem.Cache = raw, raw["file"]
	if mem.Usage.Usage, err = optUint(dir, "memory.current"); err != nil {
		return err
	}
	if mem.Usage.Max, err = optUint(dir, "memory.peak"); err != nil {
		return err
	}
	if mem.Usage.Limit, err = limitV2(dir, "memory.max"); err != nil {
		return err
	}
	// v1's memsw counts memory and swap together: report the same.
	swap, err := optUint(dir, "memory.swap.current")
	if err != nil {
		return err
	}
	mem.Swap.Usage = mem.Usage.Usage + swap
	swapMax, err := limitV2(dir, "memory.swap.max")
	if err != nil {
		return err
	}
	mem.Swap.Limit = math.MaxUint64
	if swapMax != math.MaxUint64 && mem.Usage.Limit != math.MaxUint64 {
		mem.Swap.Limit = swapMax + mem.Usage.Limit
	}
	ev, err := keyValues(dir, "memory.events")
	if err != nil {
		return err
	}
	mem.EventCount = MemoryEventCount{Low: ev["low"], High: ev["high"], Max: ev["max"], OOM: ev["oom"], OOMKill: ev["oom_kill"]}
	mem.Usage.Failcnt = ev["max"]
	return nil
}

func pidsStatsV2(dir string, s *Stats) error {
	var err error
	if s.Pids.Current, err = optUint(dir, "pids.current"); err != nil {
		return err
	}
	s.Pids.Limit, err = optUint(dir, "pids.max") // "max" reads as 0
	return err
}

// ioStatsV2 turns io.stat ("8:0 rbytes=1 wbytes=2 rios=3 wios=4 ...") into
// v1-style Read and Write entries of bytes and operations.
func ioStatsV2(dir string, s *Stats) error {
	data, err := readFile(dir, "io.stat")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("read %s/io.stat: %w", dir, err)
	}
	for _, line := range strings.Split(data, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		maj, min, ok := strings.Cut(f[0], ":")
		a, err1 := strconv.ParseUint(maj, 10, 64)
		b, err2 := strconv.ParseUint(min, 10, 64)
		if !ok || err1 != nil || err2 != nil {
			return fmt.Errorf("read %s/io.stat: malformed line %q", dir, line)
		}
		for _, kv := range f[1:] {
			k, v, _ := strings.Cut(kv, "=")
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				continue
			}
			e := BlkioEntry{Major: a, Minor: b, Value: n}
			switch k {
			case "rbytes", "wbytes":
				e.Op = map[string]string{"rbytes": "Read", "wbytes": "Write"}[k]
				s.Blkio.IoServiceBytesRecursive = append(s.Blkio.IoServiceBytesRecursive, e)
			case "rios", "wios":
				e.Op = map[string]string{"rios": "Read", "wios": "Write"}[k]
				s.Blkio.IoServicedRecursive = append(s.Blkio.IoServicedRecursive, e)
			}
		}
	}
	return nil
}
