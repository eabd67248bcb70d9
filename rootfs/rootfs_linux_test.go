package rootfs

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The integration tests re-exec the test binary into new mount and pid
// namespaces (plus a user namespace for the InUserNS variant); TestMain
// sees childEnv and runs Setup, MountConsole and Finalize there, then checks
// the result from inside the container. The namespaces die with the child,
// so nothing stays mounted on the host.

const childEnv = "BERTH_ROOTFS_TEST_CHILD"

// childSpec is what the parent test passes to the child (as JSON in
// childEnv).
type childSpec struct {
	Scenario string // "full", "escape" or "error"
	Config   Config
	Console  bool
}

func TestMain(m *testing.M) {
	if s := os.Getenv(childEnv); s != "" {
		os.Exit(runChild(s))
	}
	os.Exit(m.Run())
}

// runChild is the container side. Exit codes: 0 all checks passed, 1 some
// check failed, 2 Setup/Finalize failed (the error is printed).
func runChild(s string) int {
	var cs childSpec
	if err := json.Unmarshal([]byte(s), &cs); err != nil {
		fmt.Fprintln(os.Stderr, "child spec:", err)
		return 2
	}
	if err := setupChild(&cs); err != nil {
		fmt.Fprintln(os.Stderr, "setup error:", err)
		return 2
	}
	var failed []string
	checks := 0
	check := func(ok bool, format string, args ...any) {
		checks++
		if !ok {
			failed = append(failed, fmt.Sprintf(format, args...))
		}
	}
	switch cs.Scenario {
	case "full":
		checkFull(&cs, check)
	case "escape":
		checkEscape(check)
	}
	for _, f := range failed {
		fmt.Fprintln(os.Stderr, "FAIL:", f)
	}
	if len(failed) > 0 {
		return 1
	}
	fmt.Printf("checks passed: %d\n", checks)
	return 0
}

func setupChild(cs *childSpec) error {
	if err := Setup(&cs.Config); err != nil {
		return err
	}
	if cs.Console {
		slave, err := openPty()
		if err != nil {
			return fmt.Errorf("pty: %w", err)
		}
		if err := MountConsole(slave); err != nil {
			return err
		}
	}
	return Finalize(&cs.Config)
}

// runContainer starts the child with cs and returns its combined output and
// exit code.
func runContainer(t *testing.T, cs childSpec, userns, cgroupns bool) (string, int) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	js, err := json.Marshal(cs)
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), childEnv+"="+string(js))
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWPID}
	if cgroupns {
		cmd.SysProcAttr.Cloneflags |= syscall.CLONE_NEWCGROUP
	}
	if userns {
		// sysfs and mqueue may only be mounted by the user namespace owning
		// the net and ipc namespaces.
		cmd.SysProcAttr.Cloneflags |= syscall.CLONE_NEWUSER | syscall.CLONE_NEWNET | syscall.CLONE_NEWIPC
		ids := []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 65536}}
		cmd.SysProcAttr.UidMappings = ids
		cmd.SysProcAttr.GidMappings = ids
	}
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

// makeRootfs builds a busybox rootfs.
func makeRootfs(t *testing.T) string {
	t.Helper()
	busybox, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Skip("needs /bin/busybox (busybox-static)")
	}
	dir := filepath.Join(t.TempDir(), "rootfs")
	for _, d := range []string{"bin", "etc", "proc", "sys", "dev", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write(t, filepath.Join(dir, "bin/busybox"), string(busybox), 0o755)
	for _, l := range []string{"sh", "ls", "cat", "stat", "readlink"} {
		if err := os.Symlink("busybox", filepath.Join(dir, "bin", l)); err != nil {
			t.Fatal(err)
		}
	}
	write(t, filepath.Join(dir, "etc/secret"), "secret\n", 0o644)
	write(t, filepath.Join(dir, "etc/hostname"), "berth\n", 0o644)
	return dir
}

func write(t *testing.T, path, data string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
}

// defaultMounts is the mount list of `runc spec`.
func defaultMounts() []specs.Mount {
	return []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc"},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
		{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}},
	}
}

func fullConfig(rootfs string) Config {
	return Config{
		Rootfs:   rootfs,
		Readonly: true,
		Mounts:   defaultMounts(),
		Devices: []specs.LinuxDevice{
			{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229},
		},
		MaskedPaths: []string{
			"/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
			"/proc/timer_list", "/proc/sched_debug", "/sys/firmware", "/etc/secret",
			"/does/not/exist",
		},
		ReadonlyPaths: []string{
			"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", "/does/not/exist",
		},
	}
}

func TestSetupFull(t *testing.T) {
	variants := []struct {
		name             string
		userns, cgroupns bool
		noPivot          bool
		propagation      string
	}{
		{name: "pivot"},
		{name: "rshared", propagation: "rshared"},
		{name: "private", propagation: "private"},
		{name: "nopivot", noPivot: true},
		{name: "cgroupns", cgroupns: true},
		{name: "userns", userns: true},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			cs := childSpec{Scenario: "full", Config: fullConfig(makeRootfs(t)), Console: true}
			cs.Config.NoPivot = v.noPivot
			cs.Config.InUserNS = v.userns
			cs.Config.InCgroupNS = v.cgroupns
			cs.Config.Propagation = v.propagation
			out, code := runContainer(t, cs, v.userns, v.cgroupns)
			if code != 0 || !strings.Contains(out, "checks passed: ") {
				t.Fatalf("child exited %d:\n%s", code, out)
			}
		})
	}
}

// TestSymlinkEscape: symlinks in the rootfs pointing at a host directory,
// absolutely or through "..", must resolve inside the rootfs; the host
// directory must be left untouched.
func TestSymlinkEscape(t *testing.T) {
	rootfs := makeRootfs(t)
	host := filepath.Join(t.TempDir(), "hostdir")
	if err := os.Mkdir(host, 0o755); err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	write(t, filepath.Join(src, "marker"), "bound\n", 0o644)
	if err := os.Symlink(host, filepath.Join(rootfs, "mnt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../../../../../../../.."+host, filepath.Join(rootfs, "mnt2")); err != nil {
		t.Fatal(err)
	}
	mounts := append(defaultMounts()[:2],
		specs.Mount{Destination: "/mnt/x", Type: "bind", Source: src, Options: []string{"rbind", "ro"}},
		specs.Mount{Destination: "/mnt2/y/z", Type: "bind", Source: filepath.Join(src, "marker"), Options: []string{"bind"}},
	)
	cs := childSpec{Scenario: "escape", Config: Config{Rootfs: rootfs, Mounts: mounts}}
	out, code := runContainer(t, cs, false, false)
	if code != 0 || !strings.Contains(out, "checks passed: 3") {
		t.Errorf("child exited %d:\n%s", code, out) // the host checks still run
	}
	if ents, err := os.ReadDir(host); err != nil || len(ents) != 0 {
		t.Errorf("host directory %s was touched: %v %v", host, ents, err)
	}
	for _, p := range []string{"x", "y/z"} {
		if _, err := os.Lstat(filepath.Join(rootfs, host, p)); err != nil {
			t.Errorf("mount point not created inside the rootfs: %v", err)
		}
	}
}

func checkEscape(check func(bool, string, ...any)) {
	b, err := os.ReadFile("/mnt/x/marker")
	check(err == nil && string(b) == "bound\n", "/mnt/x/marker: %q %v", b, err)
	b, err = os.ReadFile("/mnt2/y/z")
	check(err == nil && string(b) == "bound\n", "/mnt2/y/z: %q %v", b, err)
	err = os.WriteFile("/mnt/x/new", nil, 0o644)
	check(errors.Is(err, syscall.EROFS), "/mnt/x is not read-only: %v", err)
}

// TestSetupErrors: refused configs fail with an error naming the entry.
func TestSetupErrors(t *testing.T) {
	tests := []struct {
		name  string
		mount specs.Mount
		want  string
	}{
		{
			name:  "bind under /proc",
			mount: specs.Mount{Destination: "/proc/sys/kernel/core_pattern", Type: "bind", Source: "/etc/hostname", Options: []string{"bind"}},
			want:  "mounts[1] (bind on /proc/sys/kernel/core_pattern): /proc/sys/kernel/core_pattern is inside /proc",
		},
		{
			name:  "tmpfs on /proc",
			mount: specs.Mount{Destination: "/proc", Type: "tmpfs", Source: "tmpfs"},
			want:  "mounts[1] (tmpfs on /proc): only a procfs may be mounted on /proc",
		},
		{
			name:  "missing source",
			mount: specs.Mount{Destination: "/x", Type: "bind", Source: "/does/not/exist", Options: []string{"bind"}},
			want:  "mounts[1] (bind on /x): source: stat /does/not/exist: no such file or directory",
		},
		{
			name:  "bad filesystem",
			mount: specs.Mount{Destination: "/x", Type: "nosuchfs", Source: "none"},
			want:  "mounts[1] (nosuchfs on /x): mount: no such device",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mounts := []specs.Mount{defaultMounts()[0], tt.mount}
			cs := childSpec{Scenario: "error", Config: Config{Rootfs: makeRootfs(t), Mounts: mounts}}
			out, code := runContainer(t, cs, false, false)
			if code != 2 || !strings.Contains(out, tt.want) {
				t.Errorf("child exited %d, want 2 and %q in:\n%s", code, tt.want, out)
			}
		})
	}
}
