package cgroups

import (
	"errors"
	"reflect"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func i64(n int64) *int64 { return &n }

func TestFormatDeviceRule(t *testing.T) {
	tests := []struct {
		rule specs.LinuxDeviceCgroup
		want []string
	}{
		{specs.LinuxDeviceCgroup{Type: "c", Major: i64(1), Minor: i64(3), Access: "rwm"}, []string{"c 1:3 rwm"}},
		{specs.LinuxDeviceCgroup{Type: "b", Major: i64(8), Access: "r"}, []string{"b 8:* r"}},
		{specs.LinuxDeviceCgroup{Type: "c", Minor: i64(-1), Access: "mw"}, []string{"c *:* mw"}},
		{specs.LinuxDeviceCgroup{Type: "a", Access: "rwm"}, []string{"a"}},
		{specs.LinuxDeviceCgroup{Access: "mrw"}, []string{"a"}},
		// The kernel would read "a r" as everything: split it instead.
		{specs.LinuxDeviceCgroup{Type: "a", Access: "r"}, []string{"c *:* r", "b *:* r"}},
		{specs.LinuxDeviceCgroup{Major: i64(10), Minor: i64(200), Access: "rwm"}, []string{"c 10:200 rwm", "b 10:200 rwm"}},
	}
	for _, tc := range tests {
		got, err := formatDeviceRule(tc.rule)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("formatDeviceRule(%+v) = %q, %v; want %q", tc.rule, got, err, tc.want)
		}
	}
}

func TestDeviceRulesErrors(t *testing.T) {
	tests := []struct {
		rule specs.LinuxDeviceCgroup
		want string
	}{
		{specs.LinuxDeviceCgroup{Type: "c"}, `linux.resources.devices[1].access: must not be empty (some of r, w, m)`},
		{specs.LinuxDeviceCgroup{Type: "c", Access: "rx"}, `linux.resources.devices[1].access: "rx" is not a set of r, w, m`},
		{specs.LinuxDeviceCgroup{Type: "c", Access: "rr"}, `linux.resources.devices[1].access: "rr" is not a set of r, w, m`},
		{specs.LinuxDeviceCgroup{Type: "p", Access: "r"}, `linux.resources.devices[1].type: "p" is not one of a, b, c`},
		{specs.LinuxDeviceCgroup{Type: "c", Major: i64(-5), Access: "r"}, `linux.resources.devices[1].major: -5 is below 0`},
	}
	ok := specs.LinuxDeviceCgroup{Type: "c", Access: "m"}
	for _, tc := range tests {
		_, err := deviceRules("linux.resources.devices", []specs.LinuxDeviceCgroup{ok, tc.rule})
		if err == nil || err.Error() != tc.want {
			t.Errorf("%+v: got %v, want %q", tc.rule, err, tc.want)
		}
	}
}

func TestAllowedDevices(t *testing.T) {
	lines, err := deviceRules("x", AllowedDevices())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range lines {
		if !l.allow {
			t.Errorf("%q is not an allow rule", l.rule)
		}
		got = append(got, l.rule)
	}
	want := []string{"c *:* m", "b *:* m", "c 1:3 rwm", "c 1:8 rwm", "c 1:7 rwm",
		"c 5:0 rwm", "c 1:5 rwm", "c 1:9 rwm", "c 136:* rwm", "c 5:2 rwm"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// Until the v2 driver is written, a pure v2 host refuses all but devices.
func TestSetNotSupported(t *testing.T) {
	limit := int64(1 << 20)
	tests := []struct {
		r    *specs.LinuxResources
		want string
	}{
		{&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &limit}}, "linux.resources.memory: not supported by berth"},
		{&specs.LinuxResources{Pids: &specs.LinuxPids{Limit: &limit}}, "linux.resources.pids: not supported by berth"},
		{&specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: u16(100)}}, "linux.resources.blockIO: not supported by berth"},
		{&specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB"}}}, "linux.resources.hugepageLimits: not supported by berth"},
		{&specs.LinuxResources{Unified: map[string]string{"memory.high": "b"}}, "linux.resources.unified: not supported by berth"},
	}
	// A pure v2 manager over paths that do not exist: nothing is touched.
	m := Load(map[string]string{Unified: "/nonexistent/berth"})
	for _, tc := range tests {
		err := m.Set(tc.r)
		if err == nil || err.Error() != tc.want || !errors.Is(err, ErrNotSupported) {
			t.Errorf("got %v, want %q", err, tc.want)
		}
	}
	if err := m.Set(&specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}}); err == nil ||
		err.Error() != "linux.resources.devices: not supported by berth" {
		t.Errorf("devices on v2: got %v", err)
	}
	for _, r := range []*specs.LinuxResources{nil, {}, {Memory: &specs.LinuxMemory{}, CPU: &specs.LinuxCPU{}}} {
		if err := m.Set(r); err != nil {
			t.Errorf("empty resources %+v: %v", r, err)
		}
	}
}
