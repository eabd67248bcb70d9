package cgroups

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// v1Files are the files of the fake v1 tree, per controller, with their
// initial content.
var v1Files = map[string]map[string]string{
	"memory": {"memory.limit_in_bytes": "", "memory.memsw.limit_in_bytes": "9223372036854771712",
		"memory.soft_limit_in_bytes": "", "memory.kmem.tcp.limit_in_bytes": "", "memory.swappiness": "",
		"memory.oom_control": "", "memory.usage_in_bytes": "4096"},
	"cpu": {"cpu.shares": "", "cpu.cfs_period_us": "", "cpu.cfs_quota_us": "", "cpu.cfs_burst_us": "",
		"cpu.rt_period_us": "", "cpu.rt_runtime_us": "", "cpu.idle": ""},
	"cpuset":  {"cpuset.cpus": "", "cpuset.mems": ""},
	"pids":    {"pids.max": ""},
	"blkio":   {"blkio.throttle.read_bps_device": "", "blkio.throttle.write_bps_device": "", "blkio.throttle.read_iops_device": "", "blkio.throttle.write_iops_device": "", "blkio.bfq.weight": "", "blkio.bfq.weight_device": ""},
	"hugetlb": {"hugetlb.2MB.limit_in_bytes": "", "hugetlb.2MB.rsvd.limit_in_bytes": ""},
	"devices": {"devices.allow": "", "devices.deny": ""},
}

// fakeV1 makes a fake v1 tree in a temp dir and a manager over it; writes
// are recorded as "<controller>/<file>=<value>".
func fakeV1(t *testing.T, skip ...string) (*manager, *[]string) {
	t.Helper()
	root := t.TempDir()
	paths := map[string]string{}
	for ctrl, files := range v1Files {
		if slicesContains(skip, ctrl) {
			continue
		}
		dir := filepath.Join(root, ctrl, "c1")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for f, v := range files {
			if slicesContains(skip, f) {
				continue
			}
			if err := os.WriteFile(filepath.Join(dir, f), []byte(v), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		paths[ctrl] = dir
	}
	var writes []string
	fileWriter = func(dir, name, data string) error {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return unix.ENOENT // only existing files are written, as in cgroupfs
		}
		rel, _ := filepath.Rel(root, dir)
		writes = append(writes, strings.Split(rel, "/")[0]+"/"+name+"="+data)
		return os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644)
	}
	t.Cleanup(func() { fileWriter = writeFile })
	return newManager(paths), &writes
}

func u64(n uint64) *uint64 { return &n }
func u16(n uint16) *uint16 { return &n }
func u32(n uint32) *uint32 { return &n }
func yes() *bool           { b := true; return &b }

func TestSetV1Translations(t *testing.T) {
	tests := []struct {
		name string
		r    specs.LinuxResources
		want []string
	}{
		{"memory", specs.LinuxResources{Memory: &specs.LinuxMemory{
			Limit: i64(64 << 20), Swap: i64(128 << 20), Reservation: i64(32 << 20), KernelTCP: i64(1 << 20),
			Swappiness: u64(10), DisableOOMKiller: yes()}}, []string{
			"memory/memory.limit_in_bytes=67108864", "memory/memory.memsw.limit_in_bytes=134217728",
			"memory/memory.soft_limit_in_bytes=33554432", "memory/memory.kmem.tcp.limit_in_bytes=1048576",
			"memory/memory.swappiness=10", "memory/memory.oom_control=1"}},
		{"unlimited swap goes first", specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(1 << 20), Swap: i64(-1)}},
			[]string{"memory/memory.memsw.limit_in_bytes=-1", "memory/memory.limit_in_bytes=1048576"}},
		{"cpu", specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: u64(512), Period: u64(100000), Quota: i64(50000),
			Burst: u64(10000), RealtimePeriod: u64(1000000), RealtimeRuntime: i64(0), Idle: i64(0), Cpus: "0", Mems: "0"}}, []string{
			"cpu/cpu.shares=512", "cpu/cpu.cfs_period_us=100000", "cpu/cpu.cfs_quota_us=50000", "cpu/cpu.cfs_burst_us=10000",
			"cpu/cpu.rt_period_us=1000000", "cpu/cpu.rt_runtime_us=0", "cpu/cpu.idle=0",
			"cpuset/cpuset.cpus=0", "cpuset/cpuset.mems=0"}},
		{"pids", specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(20)}}, []string{"pids/pids.max=20"}},
		{"pids unlimited", specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(-1)}}, []string{"pids/pids.max=max"}},
		{"blkio (bfq files)", specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: u16(300),
			WeightDevice:            []specs.LinuxWeightDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Weight: u16(200)}},
			ThrottleReadBpsDevice:   []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Rate: 1000}},
			ThrottleWriteIOPSDevice: []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 16}, Rate: 10}},
		}}, []string{"blkio/blkio.bfq.weight=300", "blkio/blkio.bfq.weight_device=8:0 200",
			"blkio/blkio.throttle.read_bps_device=8:0 1000", "blkio/blkio.throttle.write_iops_device=8:16 10"}},
		{"hugetlb v1", specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 4 << 20}}},
			[]string{"hugetlb/hugetlb.2MB.limit_in_bytes=4194304", "hugetlb/hugetlb.2MB.rsvd.limit_in_bytes=4194304"}},
		{"devices", specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{}}, nil}, // via writeDevices, not recorded
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, writes := fakeV1(t)
			if err := m.Set(&tc.r); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*writes, tc.want) {
				t.Errorf("writes\n got  %q\n want %q", *writes, tc.want)
			}
		})
	}
}

func TestSetV1MemoryOrder(t *testing.T) {
	m, writes := fakeV1(t)
	os.WriteFile(filepath.Join(m.paths["memory"], "memory.memsw.limit_in_bytes"), []byte("2097152\n"), 0o644)
	// Raising both: memsw first, or the kernel refuses limit > memsw.
	if err := m.Set(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(3 << 20), Swap: i64(4 << 20)}}); err != nil {
		t.Fatal(err)
	}
	want := []string{"memory/memory.memsw.limit_in_bytes=4194304", "memory/memory.limit_in_bytes=3145728"}
	if !reflect.DeepEqual(*writes, want) {
		t.Errorf("raise: got %q, want %q", *writes, want)
	}
	*writes = nil
	// Cutting both: the limit first.
	if err := m.Set(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(1 << 20), Swap: i64(2 << 20)}}); err != nil {
		t.Fatal(err)
	}
	want = []string{"memory/memory.limit_in_bytes=1048576", "memory/memory.memsw.limit_in_bytes=2097152"}
	if !reflect.DeepEqual(*writes, want) {
		t.Errorf("cut: got %q, want %q", *writes, want)
	}
}

func TestSetV1CheckBeforeUpdate(t *testing.T) {
	m, writes := fakeV1(t)
	err := m.Set(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(1024), CheckBeforeUpdate: yes()}})
	want := "linux.resources.memory.limit: 1024 is below the current usage 4096 (checkBeforeUpdate is set)"
	if err == nil || err.Error() != want || len(*writes) != 0 {
		t.Errorf("got %v (writes %q), want %q", err, *writes, want)
	}
}

func TestSetV1Errors(t *testing.T) {
	tests := []struct {
		name string
		skip []string
		r    specs.LinuxResources
		want string
		kind error
	}{
		{"no memsw file", []string{"memory.memsw.limit_in_bytes"}, specs.LinuxResources{Memory: &specs.LinuxMemory{Swap: i64(1 << 20)}},
			"linux.resources.memory.swap: memory.memsw.limit_in_bytes: no such cgroup file on this kernel: not available on this host", ErrNotMounted},
		{"kernel memory", nil, specs.LinuxResources{Memory: &specs.LinuxMemory{Kernel: i64(1 << 20)}},
			"linux.resources.memory.kernel: memory.kmem.limit_in_bytes: no such cgroup file on this kernel: not available on this host", ErrNotMounted},
		{"no leaf weight", nil, specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{LeafWeight: u16(10)}},
			"linux.resources.blockIO.leafWeight: blkio.leaf_weight: no such cgroup file on this kernel: not available on this host", ErrNotMounted},
		{"no pids hierarchy", []string{"pids"}, specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(5)}},
			"linux.resources.pids.limit: the pids cgroup controller is not mounted: not available on this host", ErrNotMounted},
		{"net_cls", nil, specs.LinuxResources{Network: &specs.LinuxNetwork{ClassID: u32(0x100001)}},
			"linux.resources.network.classID: the net_cls cgroup controller is not mounted: not available on this host", ErrNotMounted},
		{"net_prio", nil, specs.LinuxResources{Network: &specs.LinuxNetwork{Priorities: []specs.LinuxInterfacePriority{{Name: "eth0", Priority: 1}}}},
			"linux.resources.network.priorities[0]: the net_prio cgroup controller is not mounted: not available on this host", ErrNotMounted},
		{"rdma", nil, specs.LinuxResources{Rdma: map[string]specs.LinuxRdma{"mlx5_0": {HcaHandles: u32(1)}}},
			"linux.resources.rdma: the rdma cgroup controller is not mounted: not available on this host", ErrNotMounted},
		{"page size", nil, specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "1GB", Limit: 1}}},
			`linux.resources.hugepageLimits[0].pageSize: "1GB": this host has no such huge page size: not available on this host`, ErrNotMounted},
		{"unified", nil, specs.LinuxResources{Unified: map[string]string{"memory.high": "1M"}},
			"linux.resources.unified: cgroup v2 files cannot be set on a cgroup v1 host: not supported by berth", ErrNotSupported},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := fakeV1(t, tc.skip...)
			err := m.Set(&tc.r)
			if err == nil || err.Error() != tc.want || !errors.Is(err, tc.kind) {
				t.Errorf("got  %v\nwant %q", err, tc.want)
			}
		})
	}
}

func TestSetV1SharesClamped(t *testing.T) {
	m, _ := fakeV1(t)
	fileWriter = func(dir, name, data string) error { // the kernel clamps
		return os.WriteFile(filepath.Join(dir, name), []byte("262144\n"), 0o644)
	}
	err := m.Set(&specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: u64(1 << 20)}})
	want := "linux.resources.cpu.shares: 1048576 is outside what the kernel takes (it set 262144)"
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
}

func TestRdmaLine(t *testing.T) {
	if got := rdmaLine("mlx5_0", specs.LinuxRdma{HcaHandles: u32(3)}); got != "mlx5_0 hca_handle=3 hca_object=max" {
		t.Errorf("got %q", got)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		r    specs.LinuxResources
		want string
	}{
		{specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(-5)}}, "linux.resources.memory.limit: -5 is below -1 (unlimited)"},
		{specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(2 << 20), Swap: i64(1 << 20)}},
			"linux.resources.memory.swap: 1048576 is below memory.limit 2097152 (swap is the memory+swap total)"},
		{specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(-1), Swap: i64(1 << 20)}},
			"linux.resources.memory.swap: 1048576 is set with an unlimited memory.limit"},
		{specs.LinuxResources{Memory: &specs.LinuxMemory{Swappiness: u64(101)}}, "linux.resources.memory.swappiness: 101 is above 100"},
		{specs.LinuxResources{CPU: &specs.LinuxCPU{Period: u64(10)}}, "linux.resources.cpu.period: 10 is outside 1000..1000000 (µs)"},
		{specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(-7)}}, "linux.resources.cpu.quota: -7 is neither -1 (unlimited) nor at least 1000 (µs)"},
		{specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(-1), Burst: u64(5)}}, "linux.resources.cpu.burst: 5 needs a cpu.quota, which is -1 (unlimited)"},
		{specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(2000), Burst: u64(5000)}}, "linux.resources.cpu.burst: 5000 is above cpu.quota 2000"},
		{specs.LinuxResources{CPU: &specs.LinuxCPU{RealtimeRuntime: i64(2000), RealtimePeriod: u64(1000)}},
			"linux.resources.cpu.realtimeRuntime: 2000 is above cpu.realtimePeriod 1000"},
		{specs.LinuxResources{CPU: &specs.LinuxCPU{Idle: i64(2)}}, "linux.resources.cpu.idle: 2 is not 0 or 1"},
		{specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "3-1"}}, `linux.resources.cpu.cpus: "3-1" is not a list like 0-3,7`},
		{specs.LinuxResources{CPU: &specs.LinuxCPU{Mems: "x"}}, `linux.resources.cpu.mems: "x" is not a list like 0-3,7`},
		{specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(-2)}}, "linux.resources.pids.limit: -2 is below -1 (unlimited)"},
		{specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: u16(0)}}, "linux.resources.blockIO.weight: 0 is outside 1..1000"},
		{specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{ThrottleReadBpsDevice: []specs.LinuxThrottleDevice{
			{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: -1}}}}},
			"linux.resources.blockIO.throttleReadBpsDevice[0]: device -1:0 has a negative number"},
		{specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{WeightDevice: []specs.LinuxWeightDevice{{}}}},
			"linux.resources.blockIO.weightDevice[0]: sets neither weight nor leafWeight"},
		{specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2M"}}},
			`linux.resources.hugepageLimits[0].pageSize: "2M" is not a size like 2MB`},
		{specs.LinuxResources{Network: &specs.LinuxNetwork{Priorities: []specs.LinuxInterfacePriority{{Name: ""}}}},
			`linux.resources.network.priorities[0].name: "" is not an interface name`},
		{specs.LinuxResources{Unified: map[string]string{"../memory.max": "1"}},
			`linux.resources.unified: key "../memory.max" is not a cgroup file name like memory.high`},
		{specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Type: "x", Access: "r"}}},
			`linux.resources.devices[0].type: "x" is not one of a, b, c`},
	}
	for _, tc := range tests {
		err := Validate(&tc.r)
		if err == nil || err.Error() != tc.want {
			t.Errorf("got  %v\nwant %q", err, tc.want)
		}
	}
	ok := &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(1 << 20), Swap: i64(-1)},
		CPU: &specs.LinuxCPU{Quota: i64(-1), Period: u64(100000), Cpus: "0-1,3"}, Pids: &specs.LinuxPids{Limit: i64(-1)}}
	if err := Validate(ok); err != nil {
		t.Errorf("valid resources: %v", err)
	}
}

func TestParseList(t *testing.T) {
	got, err := ParseList("0-2,5")
	if err != nil || !reflect.DeepEqual(got, []uint16{0, 1, 2, 5}) {
		t.Errorf("got %v, %v", got, err)
	}
}
