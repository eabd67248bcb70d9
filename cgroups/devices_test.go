package cgroups

import (
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
