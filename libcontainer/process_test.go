package libcontainer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/berthrt/berth/nsenter"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestBootstrapFor(t *testing.T) {
	s := &specs.Spec{Linux: &specs.Linux{
		Namespaces: []specs.LinuxNamespace{
			{Type: "pid"}, {Type: "mount"}, {Type: "user"}, {Type: "time"},
			{Type: "network", Path: "/proc/1/ns/net"},
		},
		TimeOffsets: map[string]specs.LinuxTimeOffset{"boottime": {Secs: 5}, "monotonic": {Secs: -1, Nanosecs: 7}},
	}}
	b, plan, err := bootstrapFor(s)
	if err != nil {
		t.Fatal(err)
	}
	want := uint32(unix.CLONE_NEWPID | unix.CLONE_NEWNS | unix.CLONE_NEWUSER | unix.CLONE_NEWTIME)
	if b.CloneFlags != want {
		t.Errorf("clone flags %#x, want %#x", b.CloneFlags, want)
	}
	if !reflect.DeepEqual(b.Join, []nsenter.NSPath{{Flag: unix.CLONE_NEWNET, Path: "/proc/1/ns/net"}}) {
		t.Errorf("join = %v", b.Join)
	}
	if b.TimensOffsets != "monotonic -1 7\nboottime 5 0\n" {
		t.Errorf("offsets = %q", b.TimensOffsets)
	}
	if !plan.NewUserNS || plan.WaitRun {
		t.Errorf("plan = %+v", plan)
	}
}

func TestDeviceRules(t *testing.T) {
	got := deviceRules([]specs.LinuxDevice{
		{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229},
		{Path: "/dev/u", Type: "u", Major: 1, Minor: 2},
		{Path: "/dev/fifo", Type: "p"},
	})
	if len(got) != 2 || got[0].Type != "c" || *got[0].Major != 10 || got[1].Type != "c" || got[1].Access != "rwm" {
		t.Fatalf("rules = %+v", got)
	}
}

func TestRootfsPath(t *testing.T) {
	if p := rootfsPath("/b", &specs.Spec{Root: &specs.Root{Path: "rootfs"}}); p != "/b/rootfs" {
		t.Error(p)
	}
	if p := rootfsPath("/b", &specs.Spec{Root: &specs.Root{Path: "/x/../r"}}); p != "/r" {
		t.Error(p)
	}
}

func TestLookPath(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "tool")
	os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755)
	os.WriteFile(filepath.Join(dir, "data"), nil, 0o644)
	if p, err := lookPath("tool", []string{"PATH=/nonexistent:" + dir}); err != nil || p != exe {
		t.Errorf("lookPath(tool) = %q, %v", p, err)
	}
	if _, err := lookPath("data", []string{"PATH=" + dir}); err == nil {
		t.Error("non-executable found")
	}
	if _, err := lookPath(filepath.Join(dir, "missing"), nil); err == nil {
		t.Error("missing absolute path accepted")
	}
	if _, err := lookPath("nope", []string{"PATH=" + dir}); err == nil {
		t.Error("missing name found")
	}
}

func TestProcessEnvHome(t *testing.T) {
	p := &specs.Process{Env: []string{"A=1", "HOME=/h"}}
	if env := processEnv(p); len(env) != 2 {
		t.Errorf("HOME added though set: %v", env)
	}
	p = &specs.Process{Env: []string{"A=1"}, User: specs.User{UID: 0}}
	env := processEnv(p)
	if env[len(env)-1] != "HOME="+homeOf(0) {
		t.Errorf("env = %v", env)
	}
}

func TestOwnerName(t *testing.T) {
	if n := ownerName(0); n != "root" {
		t.Errorf("ownerName(0) = %q", n)
	}
	if n := ownerName(987654); n != "#987654" {
		t.Errorf("ownerName(987654) = %q", n)
	}
}

func TestCleanupOrder(t *testing.T) {
	var got []int
	var c cleanup
	c.push(func() { got = append(got, 1) })
	c.push(func() { got = append(got, 2) })
	c.run()
	c.run()
	if !reflect.DeepEqual(got, []int{2, 1}) {
		t.Fatalf("undo order %v", got)
	}
	c.push(func() { t.Fatal("released undo ran") })
	c.release()
	c.run()
}

// TestInitSpecKeepsWhatTheInitReads decodes one config with every field the
// init reads both ways and checks the trimmed initSpec loses none of them.
func TestInitSpecKeepsWhatTheInitReads(t *testing.T) {
	full := &specs.Spec{
		Process: &specs.Process{Args: []string{"sh"}, Cwd: "/w", Env: []string{"A=1"},
			User:         specs.User{UID: 1, GID: 2, AdditionalGids: []uint32{3}},
			Capabilities: &specs.LinuxCapabilities{Bounding: []string{"CAP_KILL"}},
			Rlimits:      []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 9, Soft: 8}},
			Scheduler:    &specs.Scheduler{Policy: "SCHED_IDLE"},
			IOPriority:   &specs.LinuxIOPriority{Class: "IOPRIO_CLASS_IDLE"},
			ConsoleSize:  &specs.Box{Height: 5, Width: 6}, NoNewPrivileges: true},
		Root:     &specs.Root{Path: "rootfs", Readonly: true},
		Hostname: "h", Domainname: "d",
		Mounts: []specs.Mount{{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid"},
			UIDMappings: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1, Size: 2}}}},
		Hooks: &specs.Hooks{CreateContainer: []specs.Hook{{Path: "/bin/true"}},
			StartContainer: []specs.Hook{{Path: "/bin/false", Args: []string{"false"}}}},
		Linux: &specs.Linux{
			Namespaces:        []specs.LinuxNamespace{{Type: "mount"}, {Type: "user", Path: "/p"}},
			Devices:           []specs.LinuxDevice{{Path: "/dev/x", Type: "c", Major: 1, Minor: 3}},
			Sysctl:            map[string]string{"net.ipv4.ip_forward": "1"},
			RootfsPropagation: "slave", MaskedPaths: []string{"/m"}, ReadonlyPaths: []string{"/r"},
			Personality:  &specs.LinuxPersonality{Domain: "LINUX32"},
			MemoryPolicy: &specs.LinuxMemoryPolicy{Mode: "MPOL_BIND", Nodes: "0"},
			// not read by the init: must not matter
			Resources: &specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "0"}},
		},
	}
	b, err := json.Marshal(full)
	if err != nil {
		t.Fatal(err)
	}
	var is initSpec
	if err := json.Unmarshal(b, &is); err != nil {
		t.Fatal(err)
	}
	got := is.spec()
	want := *full
	l := *full.Linux
	l.Resources = nil
	want.Linux = &l
	if !reflect.DeepEqual(got, &want) {
		gb, _ := json.Marshal(got)
		wb, _ := json.Marshal(&want)
		t.Errorf("initSpec lost fields:\n got %s\nwant %s", gb, wb)
	}
}
