package cgroups

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// v2Files are the files of the fake unified cgroup, with initial content.
var v2Files = map[string]string{
	"memory.max": "max", "memory.low": "0", "memory.swap.max": "max", "memory.current": "8192",
	"cpu.weight": "100", "cpu.max": "max 100000", "cpu.max.burst": "0", "cpu.idle": "0",
	"cpuset.cpus": "", "cpuset.mems": "", "pids.max": "max", "io.weight": "default 100", "io.max": "",
	"hugetlb.2MB.max": "max", "rdma.max": "",
}

// fakeV2 makes a fake unified cgroup <tmp>/parent/c1 (the parent offers
// the controllers in cgroup.controllers) and a manager over it; writes are
// recorded as "<file>=<value>".
func fakeV2(t *testing.T, skip ...string) (*manager, *[]string) {
	t.Helper()
	parent := filepath.Join(t.TempDir(), "parent")
	dir := filepath.Join(parent, "c1")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(parent, "cgroup.controllers"), []byte("cpuset cpu io memory hugetlb pids rdma\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for f, v := range v2Files {
		if slicesContains(skip, f) {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, f), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var writes []string
	fileWriter = func(d, name, data string) error {
		if _, err := os.Stat(filepath.Join(d, name)); err != nil {
			return unix.ENOENT
		}
		writes = append(writes, name+"="+data)
		return os.WriteFile(filepath.Join(d, name), []byte(data), 0o644)
	}
	t.Cleanup(func() { fileWriter = writeFile })
	return newManager(map[string]string{Unified: dir}), &writes
}

func TestSetV2Translations(t *testing.T) {
	tests := []struct {
		name string
		r    specs.LinuxResources
		want []string
	}{
		{"memory: v1 swap is memory+swap, v2 swap alone", specs.LinuxResources{Memory: &specs.LinuxMemory{
			Limit: i64(64 << 20), Swap: i64(96 << 20), Reservation: i64(32 << 20)}}, []string{
			"memory.swap.max=33554432", "memory.max=67108864", "memory.low=33554432"}},
		{"memory: -1 lifts memory and swap", specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(-1)}},
			[]string{"memory.swap.max=max", "memory.max=max"}},
		{"memory: swap -1", specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(1 << 20), Swap: i64(-1)}},
			[]string{"memory.swap.max=max", "memory.max=1048576"}},
		{"cpu: shares to weight, quota and period to cpu.max", specs.LinuxResources{CPU: &specs.LinuxCPU{
			Shares: u64(1024), Quota: i64(50000), Period: u64(200000), Burst: u64(1000), Idle: i64(1),
			Cpus: "0", Mems: "0"}}, []string{
			"cpu.weight=39", "cpu.max=50000 200000", "cpu.max.burst=1000", "cpu.idle=1",
			"cpuset.cpus=0", "cpuset.mems=0"}},
		{"cpu: shares at the ends of the range", specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: u64(2)}},
			[]string{"cpu.weight=1"}},
		{"cpu: quota -1 is max", specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(-1), Period: u64(100000)}},
			[]string{"cpu.max=max 100000"}},
		{"cpu: a period alone keeps the current quota", specs.LinuxResources{CPU: &specs.LinuxCPU{Period: u64(50000)}},
			[]string{"cpu.max=max 50000"}},
		{"pids", specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(10)}}, []string{"pids.max=10"}},
		{"pids: 0 is no limit", specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(0)}}, []string{"pids.max=max"}},
		{"io: weight 10..1000 to 1..10000, throttles to io.max", specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{
			Weight:                u16(500),
			ThrottleReadBpsDevice: []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Rate: 1048576}},
			ThrottleWriteIOPSDevice: []specs.LinuxThrottleDevice{
				{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Rate: 100},
				{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 16}, Rate: 0}},
		}}, []string{"io.weight=4950", "io.max=8:0 rbps=1048576", "io.max=8:0 wiops=100", "io.max=8:16 wiops=max"}},
		{"hugetlb and rdma", specs.LinuxResources{
			HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 4 << 20}},
			Rdma:           map[string]specs.LinuxRdma{"mlx5_0": {HcaHandles: u32(3)}},
		}, []string{"hugetlb.2MB.max=4194304", "rdma.max=mlx5_0 hca_handle=3 hca_object=max"}},
		{"unified is written last, in key order", specs.LinuxResources{
			Pids:    &specs.LinuxPids{Limit: i64(10)},
			Unified: map[string]string{"pids.max": "20", "memory.max": "1000000"},
		}, []string{"pids.max=10", "memory.max=1000000", "pids.max=20"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, writes := fakeV2(t)
			if err := m.Set(&tc.r); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*writes, tc.want) {
				t.Errorf("writes:\n got %q\nwant %q", *writes, tc.want)
			}
		})
	}
}

func TestSetV2SwapAloneUsesCurrentLimit(t *testing.T) {
	m, writes := fakeV2(t)
	if err := os.WriteFile(filepath.Join(m.paths[Unified], "memory.max"), []byte("1000\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := m.Set(&specs.LinuxResources{Memory: &specs.LinuxMemory{Swap: i64(3000)}}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"memory.swap.max=2000"}; !reflect.DeepEqual(*writes, want) {
		t.Errorf("writes %q, want %q", *writes, want)
	}
}

func TestSharesToWeight(t *testing.T) {
	for shares, want := range map[uint64]uint64{0: 0, 2: 1, 1024: 39, 262144: 10000, 1 << 30: 10000} {
		if got := SharesToWeight(shares); got != want {
			t.Errorf("SharesToWeight(%d) = %d, want %d", shares, got, want)
		}
	}
	for w, want := range map[uint64]uint64{10: 1, 1000: 10000, 100: 910} {
		if got := BlkioWeightToIOWeight(w); got != want {
			t.Errorf("BlkioWeightToIOWeight(%d) = %d, want %d", w, got, want)
		}
	}
}

func TestSetV2Errors(t *testing.T) {
	tests := []struct {
		r    specs.LinuxResources
		skip string
		want string
		is   error
	}{
		{specs.LinuxResources{Memory: &specs.LinuxMemory{Swap: i64(1000)}}, "",
			"linux.resources.memory.swap: 1000 needs a memory.limit on cgroup v2", nil},
		{specs.LinuxResources{Memory: &specs.LinuxMemory{Swappiness: u64(10)}}, "",
			"linux.resources.memory.swappiness: there is no per-cgroup swappiness on cgroup v2", ErrNotSupported},
		{specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(4096), CheckBeforeUpdate: yes()}}, "",
			"linux.resources.memory.limit: 4096 is below the current usage 8192", nil},
		{specs.LinuxResources{CPU: &specs.LinuxCPU{RealtimeRuntime: i64(100)}}, "",
			"linux.resources.cpu.realtimeRuntime: there is no realtime scheduling budget on cgroup v2", ErrNotSupported},
		{specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{LeafWeight: u16(100)}}, "",
			"linux.resources.blockIO.leafWeight: there are no leaf weights on cgroup v2", ErrNotSupported},
		{specs.LinuxResources{Network: &specs.LinuxNetwork{ClassID: u32(1)}}, "",
			"linux.resources.network.classID: there is no net_cls controller on cgroup v2", ErrNotSupported},
		{specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(5)}}, "pids.max",
			"linux.resources.pids.limit: pids.max: no such cgroup file on this kernel", ErrNotMounted},
		{specs.LinuxResources{Unified: map[string]string{"misc.max": "1"}}, "",
			`linux.resources.unified["misc.max"]: the misc controller is not available in`, ErrNotMounted},
		{specs.LinuxResources{Unified: map[string]string{"memory.bogus": "1"}}, "",
			`linux.resources.unified["memory.bogus"]: no such cgroup file in`, ErrNotMounted},
		{specs.LinuxResources{Unified: map[string]string{"cgroup.procs": "1"}}, "",
			`linux.resources.unified["cgroup.procs"]: berth manages this file itself`, nil},
		{specs.LinuxResources{Unified: map[string]string{"../x.max": "1"}}, "",
			`linux.resources.unified: key "../x.max" is not a cgroup file name`, nil},
		{specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "1GB", Limit: 1}}}, "",
			`linux.resources.hugepageLimits[0].pageSize: "1GB": this host has no such huge page size`, ErrNotMounted},
	}
	for _, tc := range tests {
		m, writes := fakeV2(t, tc.skip)
		err := m.Set(&tc.r)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Set(%+v) = %v, want %q", tc.r, err, tc.want)
			continue
		}
		if tc.is != nil && !errors.Is(err, tc.is) {
			t.Errorf("Set(%+v) = %v, not wrapping %v", tc.r, err, tc.is)
		}
		if tc.skip == "" && len(*writes) > 0 && !strings.Contains(tc.want, "unified") {
			t.Errorf("Set(%+v) wrote %q before failing", tc.r, *writes)
		}
	}
}

func TestStatsV2(t *testing.T) {
	m, _ := fakeV2(t)
	dir := m.paths[Unified]
	files := map[string]string{
		"cpu.stat":              "usage_usec 100\nuser_usec 60\nsystem_usec 40\nnr_periods 5\nnr_throttled 2\nthrottled_usec 7\n",
		"memory.stat":           "anon 4096\nfile 8192\n",
		"memory.current":        "12288\n",
		"memory.max":            "max\n",
		"memory.swap.current":   "100\n",
		"memory.events":         "low 0\nhigh 1\nmax 2\noom 3\noom_kill 4\n",
		"pids.current":          "3\n",
		"pids.max":              "10\n",
		"io.stat":               "8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n",
		"cpuset.cpus.effective": "0-1\n",
	}
	for f, v := range files {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if s.CPU.Usage.Total != 100000 || s.CPU.Usage.User != 60000 || s.CPU.Usage.Kernel != 40000 ||
		s.CPU.Throttling != (Throttling{5, 2, 7000}) {
		t.Errorf("cpu = %+v", s.CPU)
	}
	if s.Memory.Usage.Usage != 12288 || s.Memory.Usage.Limit != math.MaxUint64 || s.Memory.Cache != 8192 ||
		s.Memory.Swap.Usage != 12388 || s.Memory.EventCount.OOMKill != 4 || s.Memory.Raw["anon"] != 4096 {
		t.Errorf("memory = %+v", s.Memory)
	}
	if s.Pids != (Pids{3, 10}) {
		t.Errorf("pids = %+v", s.Pids)
	}
	if want := []BlkioEntry{{8, 0, "Read", 10}, {8, 0, "Write", 20}}; !reflect.DeepEqual(s.Blkio.IoServiceBytesRecursive, want) {
		t.Errorf("io bytes = %+v", s.Blkio.IoServiceBytesRecursive)
	}
	if !reflect.DeepEqual(s.CPUSet.CPUs, []uint16{0, 1}) {
		t.Errorf("cpuset = %+v", s.CPUSet)
	}
}
