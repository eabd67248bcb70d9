package cgroups

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func defaultDevRules(t *testing.T, extra ...specs.LinuxDeviceCgroup) []devRule {
	t.Helper()
	rules, err := toDevRules(append(extra, AllowedDevices()...))
	if err != nil {
		t.Fatal(err)
	}
	return rules
}

func TestDeviceRuleModel(t *testing.T) {
	c, b := int32(bpfDevChar), int32(bpfDevBlock)
	rw := int32(bpfRead | bpfWrite)
	tests := []struct {
		name         string
		extra        []specs.LinuxDeviceCgroup
		typ          int32
		major, minor int64
		access       int32
		want         bool
	}{
		{"/dev/null rw", nil, c, 1, 3, rw, true},
		{"/dev/pts/3", nil, c, 136, 3, rw, true},
		{"mknod of any char device", nil, c, 10, 200, bpfMknod, true},
		{"mknod of any block device", nil, b, 8, 0, bpfMknod, true},
		{"tun is not a default", nil, c, 10, 200, bpfRead, false},
		{"a block device", nil, b, 8, 0, bpfRead, false},
		{"allowed by the config", []specs.LinuxDeviceCgroup{{Allow: true, Type: "c", Major: i64(10), Minor: i64(200), Access: "rw"}}, c, 10, 200, rw, true},
		{"allowed for read only", []specs.LinuxDeviceCgroup{{Allow: true, Type: "b", Major: i64(8), Access: "r"}}, b, 8, 1, rw, false},
		{"a config allow-all", []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}, b, 8, 1, rw, true},
		{"a later deny wins", []specs.LinuxDeviceCgroup{
			{Allow: true, Type: "c", Major: i64(10), Access: "rwm"},
			{Allow: false, Type: "c", Major: i64(10), Minor: i64(200), Access: "w"}}, c, 10, 200, rw, false},
		{"a partial deny leaves the rest", []specs.LinuxDeviceCgroup{
			{Allow: true, Type: "c", Major: i64(10), Access: "rwm"},
			{Allow: false, Type: "c", Major: i64(10), Minor: i64(200), Access: "w"}}, c, 10, 200, bpfRead, true},
		// The defaults come last and cannot be denied, as with runc.
		{"defaults cannot be denied", []specs.LinuxDeviceCgroup{{Allow: false, Type: "c", Major: i64(1), Minor: i64(3), Access: "rwm"}}, c, 1, 3, rw, true},
	}
	for _, tc := range tests {
		if got := decide(defaultDevRules(t, tc.extra...), tc.typ, tc.major, tc.minor, tc.access); got != tc.want {
			t.Errorf("%s: decide = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestDeviceProgramShape(t *testing.T) {
	// A leading deny-all (runc's default spec) is unconditional: nothing
	// before it is reachable, and it is the program's last block.
	rules := defaultDevRules(t, specs.LinuxDeviceCgroup{Allow: false, Access: "rwm"})
	insns := deviceProgram(rules)
	var buf bytes.Buffer
	if err := insns.Marshal(&buf, binary.LittleEndian); err != nil {
		t.Fatalf("marshal: %v", err)
	}
	last := insns[len(insns)-2]
	if last.Constant != 0 {
		t.Errorf("the last block returns %d, want 0 (deny)", last.Constant)
	}
	// An allow-all rule as the last rule cuts the program to one block.
	short := deviceProgram([]devRule{{typ: -1, major: -1, minor: -1, access: bpfAll, allow: true}})
	if len(short) != 8 {
		t.Errorf("allow-all program has %d instructions:\n%v", len(short), short)
	}
	if _, err := toDevRules([]specs.LinuxDeviceCgroup{{Type: "x", Access: "r"}}); err == nil ||
		!strings.Contains(err.Error(), `[0].type: "x" is not one of a, b, c`) {
		t.Errorf("bad type: %v", err)
	}
}

// TestDeviceFilterKernel loads and attaches the program to a cgroup2
// cgroup (this hybrid host's cgroup2 mount will do: the kernel runs device
// programs on v1 hosts too) and checks what a process inside may open.
func TestDeviceFilterKernel(t *testing.T) {
	base := "/sys/fs/cgroup"
	if !isCgroup2(base) {
		base = "/sys/fs/cgroup/unified"
	}
	if os.Geteuid() != 0 || !isCgroup2(base) {
		t.Skip("needs root and a cgroup2 mount")
	}
	dir := filepath.Join(base, "berth-devtest-"+strconv.Itoa(os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Skip("cannot create a cgroup2 cgroup:", err)
	}
	defer os.Remove(dir)
	rules := append([]specs.LinuxDeviceCgroup{
		{Allow: true, Type: "c", Major: i64(1), Minor: i64(11), Access: "r"}, // kmsg: read only
	}, AllowedDevices()...)
	rules = append(rules[:0:0], rules...)
	rules = append(rules, specs.LinuxDeviceCgroup{Allow: false, Type: "c", Major: i64(1), Minor: i64(9), Access: "w"}) // urandom: no write
	if err := setDeviceFilter(dir, rules); err != nil {
		t.Fatal(err)
	}
	// A second Set replaces the program: exactly one stays attached.
	if err := setDeviceFilter(dir, rules); err != nil {
		t.Fatal(err)
	}
	probe := func(path string, flag int) error {
		// sh joins the cgroup, then tries the open with dd.
		mode := map[int]string{unix.O_RDONLY: "if=" + path + " of=/dev/null count=1 bs=8192 iflag=nonblock", unix.O_WRONLY: "if=/dev/zero of=" + path + " count=1 bs=1 conv=notrunc"}[flag]
		cmd := exec.Command("sh", "-c", "echo $$ > "+dir+"/cgroup.procs && exec dd status=none "+mode)
		out, err := cmd.CombinedOutput()
		if err != nil {
			return &os.PathError{Op: string(out), Path: path, Err: err}
		}
		return nil
	}
	for _, tc := range []struct {
		path string
		flag int
		ok   bool
	}{
		{"/dev/null", unix.O_WRONLY, true},
		{"/dev/zero", unix.O_RDONLY, true},
		{"/dev/full", unix.O_WRONLY, true},
		{"/dev/kmsg", unix.O_RDONLY, true},
		{"/dev/kmsg", unix.O_WRONLY, false},
		{"/dev/urandom", unix.O_RDONLY, true},
		{"/dev/urandom", unix.O_WRONLY, false},
		{"/dev/loop-control", unix.O_RDONLY, false},
		{"/dev/loop0", unix.O_RDONLY, false},
	} {
		err := probe(tc.path, tc.flag)
		// Writing /dev/full fails with ENOSPC when allowed: only EPERM
		// is the filter's answer.
		denied := err != nil && strings.Contains(err.Error(), "Operation not permitted")
		if denied == tc.ok {
			t.Errorf("open %s flag %d: %v, want allowed=%v", tc.path, tc.flag, err, tc.ok)
		}
	}
}
