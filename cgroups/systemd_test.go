package cgroups

import (
	"math"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestParseSystemdPath(t *testing.T) {
	for in, want := range map[string]unitPath{
		"":                       {"system.slice", "berth-c1.scope"},
		"system.slice:berth:c2":  {"system.slice", "berth-c2.scope"},
		":docker:abc":            {"system.slice", "docker-abc.scope"},
		"machine-x.slice::c3":    {"machine-x.slice", "c3.scope"},
		"user.slice:crio:abc.de": {"user.slice", "crio-abc.de.scope"},
	} {
		got, err := parseSystemdPath(in, "c1")
		if err != nil || got != want {
			t.Errorf("parseSystemdPath(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"/berth/c1":              `linux.cgroupsPath: "/berth/c1" is not of the form slice:prefix:name`,
		"a:b":                    `is not of the form slice:prefix:name`,
		"a:b:c:d":                `is not of the form slice:prefix:name`,
		"system:berth:c1":        `slice "system" is not a systemd slice name`,
		"a/b.slice:berth:c":      `slice "a/b.slice" is not a systemd slice name`,
		"system.slice:b:":        `name "" (prefix "b") must be non-empty`,
		"system.slice:b:x/y":     `name "x/y" (prefix "b") must be non-empty and contain no '/'`,
		"system.slice:a/b:x":     `contain no '/'`,
		"system.slice:b:x.slice": `a slice as the container's unit`,
	} {
		_, err := parseSystemdPath(in, "c1")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parseSystemdPath(%q) = %v, want %q", in, err, want)
		}
	}
}

func TestSliceDir(t *testing.T) {
	for in, want := range map[string]string{
		"system.slice": "/system.slice", "-.slice": "/",
		"a-b-c.slice": "/a.slice/a-b.slice/a-b-c.slice",
	} {
		if got := sliceDir(in); got != want {
			t.Errorf("sliceDir(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestResourceProperties(t *testing.T) {
	r := &specs.LinuxResources{
		Memory:  &specs.LinuxMemory{Limit: i64(64 << 20), Swap: i64(96 << 20), Reservation: i64(1 << 20)},
		CPU:     &specs.LinuxCPU{Shares: u64(1024), Quota: i64(25000), Period: u64(100000), Cpus: "0,2", Mems: "0"},
		Pids:    &specs.LinuxPids{Limit: i64(-1)},
		BlockIO: &specs.LinuxBlockIO{Weight: u16(1000)},
	}
	props, err := resourceProperties(r)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]any{}
	for _, p := range props {
		got[p.Name] = p.Value.Value()
	}
	want := map[string]any{
		"MemoryMax": uint64(64 << 20), "MemoryLow": uint64(1 << 20), "MemorySwapMax": uint64(32 << 20),
		"CPUWeight": uint64(39), "CPUQuotaPeriodUSec": uint64(100000), "CPUQuotaPerSecUSec": uint64(250000),
		"AllowedCPUs": []byte{5}, "AllowedMemoryNodes": []byte{1},
		"TasksMax": uint64(math.MaxUint64), "IOWeight": uint64(10000),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("properties\n got %v\nwant %v", got, want)
	}
	// runc rounds the quota up to whole 10ms per second.
	if q := quotaPerSec(12345, u64(100000)); q != 130000 {
		t.Errorf("quotaPerSec = %d", q)
	}
}

func TestAnnotationProperties(t *testing.T) {
	props, err := annotationProperties(map[string]string{
		"org.systemd.property.TimeoutStopSec":   "5",
		"org.systemd.property.RuntimeMaxSec":    "1.5",
		"org.systemd.property.CollectMode":      "'inactive-or-failed'",
		"org.systemd.property.CPUWeight":        "uint64 20",
		"org.systemd.property.IOAccounting":     "true",
		"org.systemd.property.TimeoutStartUSec": "@t 7",
		"other":                                 "ignored",
	})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]any{}
	for _, p := range props {
		got[p.Name] = p.Value.Value()
	}
	want := map[string]any{
		"TimeoutStopUSec": uint64(5000000), "RuntimeMaxUSec": uint64(1500000),
		"CollectMode": "inactive-or-failed", "CPUWeight": uint64(20), "IOAccounting": true,
		"TimeoutStartUSec": uint64(7),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("properties\n got %#v\nwant %#v", got, want)
	}
	for ann, msg := range map[string]string{
		"org.systemd.property.TimeoutStopSec": `"'x'" is not a number of seconds`,
		"org.systemd.property.Slice":          `property "Slice" cannot be set by an annotation`,
		"org.systemd.property.CPUWeight":      `is not a GVariant value`,
	} {
		v := map[string]string{"org.systemd.property.TimeoutStopSec": "'x'", "org.systemd.property.Slice": "'a.slice'",
			"org.systemd.property.CPUWeight": "uint64 'x"}[ann]
		_, err := annotationProperties(map[string]string{ann: v})
		if err == nil || !strings.Contains(err.Error(), msg) || !strings.Contains(err.Error(), `annotations["`+ann+`"]`) {
			t.Errorf("%s=%s: %v, want %q", ann, v, err, msg)
		}
	}
}

func TestLoadSystemd(t *testing.T) {
	m := Load(map[string]string{Unified: "/sys/fs/cgroup/system.slice/berth-c1.scope", Systemd: "/sys/fs/cgroup/system.slice/berth-c1.scope"})
	sm, ok := m.(*systemdManager)
	if !ok || sm.unit != "berth-c1.scope" {
		t.Fatalf("Load = %#v", m)
	}
	if p := m.Paths(); len(p) != 2 || p[Systemd] != p[Unified] {
		t.Errorf("Paths = %v", p)
	}
}
