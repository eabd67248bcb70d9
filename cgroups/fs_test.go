package cgroups

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// These tests make real cgroups, named berth-test-<random>, and remove them.

func needRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	if _, err := os.Stat("/sys/fs/cgroup"); err != nil {
		t.Skip("no /sys/fs/cgroup")
	}
}

func testName(t testing.TB) string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "berth-test-" + hex.EncodeToString(b)
}

// startSleep starts a child that is killed and reaped at cleanup, before
// the cgroup cleanups registered after it run.
func startSleep(t testing.TB) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "100")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kill(cmd) })
	return cmd
}

func kill(cmd *exec.Cmd) {
	if cmd.ProcessState == nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
}

// cleanupCgroups removes dirs (and their children) at the end of the test,
// after any process placed in them is gone.
func cleanupCgroups(t testing.TB, dirs ...string) {
	t.Cleanup(func() {
		for _, d := range dirs {
			if err := removeCgroup(d); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
	})
}

func procsOf(t testing.TB, dir string) []int {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, f := range strings.Fields(string(data)) {
		n, _ := strconv.Atoi(f)
		pids = append(pids, n)
	}
	return pids
}

func TestLifecycle(t *testing.T) {
	needRoot(t)
	top := testName(t)
	m, err := New("/"+top+"/ctr", "ignored")
	if err != nil {
		t.Fatal(err)
	}
	var parents []string
	for _, d := range m.(*manager).dirs {
		parents = append(parents, filepath.Dir(d))
	}
	cleanupCgroups(t, parents...) // registered first, so it runs last
	if m.Exists() {
		t.Fatal("Exists before Apply")
	}
	child := startSleep(t)
	pid := child.Process.Pid
	if err := m.Apply(pid); err != nil {
		t.Fatal(err)
	}
	if !m.Exists() {
		t.Fatal("not Exists after Apply")
	}
	for key, dir := range m.Paths() {
		if !slices.Contains(procsOf(t, dir), pid) {
			t.Errorf("%s: pid %d not in %s/cgroup.procs", key, pid, dir)
		}
	}
	if Mode() == "hybrid" {
		if _, ok := m.Paths()[Unified]; !ok {
			t.Errorf("hybrid host: unified hierarchy not joined: %v", m.Paths())
		}
	}

	t.Run("devices", func(t *testing.T) { testDevices(t, m) })
	t.Run("pids", func(t *testing.T) { testPids(t, m, pid) })
	t.Run("freezer", func(t *testing.T) { testFreezer(t, m) })

	// Reload from saved paths, as a later berth command would.
	m = Load(m.Paths())
	if err := m.Destroy(); err == nil {
		t.Error("Destroy with a live task: want an error")
	}
	kill(child)
	if err := m.Destroy(); err != nil {
		t.Fatal(err)
	}
	if m.Exists() {
		t.Error("Exists after Destroy")
	}
	if err := m.Destroy(); err != nil {
		t.Errorf("second Destroy: %v", err)
	}
}

func testDevices(t *testing.T, m Manager) {
	dir, ok := m.Paths()["devices"]
	if !ok {
		t.Skip("no v1 devices hierarchy")
	}
	err := m.Set(&specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		{Allow: true, Type: "c", Major: i64(1), Minor: i64(3), Access: "rwm"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "devices.list"))
	if err != nil {
		t.Fatal(err)
	}
	list := strings.Split(strings.TrimSpace(string(data)), "\n")
	for _, want := range []string{"c 1:3 rwm", "c *:* m", "b *:* m", "c 136:* rwm", "c 5:2 rwm"} {
		if !slices.Contains(list, want) {
			t.Errorf("devices.list lacks %q: %q", want, list)
		}
	}
	if slices.Contains(list, "a *:* rwm") || slices.Contains(list, "c 1:11 rwm") {
		t.Errorf("devices.list still allows everything or /dev/kmsg: %q", list)
	}
	// A process in the cgroup can open /dev/null but not /dev/kmsg (1:11).
	script := fmt.Sprintf(`echo $$ > %s/cgroup.procs && true </dev/null && ! true </dev/kmsg 2>/dev/null`, dir)
	if out, err := exec.Command("sh", "-c", script).CombinedOutput(); err != nil {
		t.Errorf("device access inside the cgroup: %v %s", err, out)
	}
}

func testPids(t *testing.T, m Manager, pid int) {
	// A second task in a sub-cgroup of the primary hierarchy is listed too.
	sub := filepath.Join(m.(*manager).primary(), "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	other := startSleep(t)
	if err := writeFile(sub, "cgroup.procs", strconv.Itoa(other.Process.Pid)); err != nil {
		t.Fatal(err)
	}
	pids, err := m.Pids()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(pids, pid) || !slices.Contains(pids, other.Process.Pid) {
		t.Errorf("Pids() = %v, want %d and %d", pids, pid, other.Process.Pid)
	}
	kill(other) // sub stays, for Destroy to remove children first
}

func testFreezer(t *testing.T, m Manager) {
	dir, ok := m.Paths()["freezer"]
	if !ok {
		t.Skip("no v1 freezer")
	}
	check := func(want string) {
		t.Helper()
		if got, err := m.FreezerState(); err != nil || got != want {
			t.Errorf("FreezerState() = %q, %v; want %q", got, err, want)
		}
	}
	check("THAWED")
	if err := writeFile(dir, "freezer.state", "FROZEN"); err != nil {
		t.Fatal(err)
	}
	check("FROZEN")
	if err := writeFile(dir, "freezer.state", "THAWED"); err != nil {
		t.Fatal(err)
	}
	check("THAWED")
}

// TestDefaultPath uses the runc default (relative "<id>") on the real host.
func TestDefaultPath(t *testing.T) {
	needRoot(t)
	id := testName(t)
	m, err := New("", id)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Destroy(); err != nil {
			t.Error(err)
		}
	})
	child := startSleep(t)
	if err := m.Apply(child.Process.Pid); err != nil {
		t.Fatal(err)
	}
	for key, dir := range m.Paths() {
		if filepath.Base(dir) != id {
			t.Errorf("%s: %s does not end in the id", key, dir)
		}
	}
}

func TestApplyErrorNamesPathAndPid(t *testing.T) {
	needRoot(t)
	top := testName(t)
	m, err := New("/"+top, "x")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Destroy() })
	const pid = 1 << 30 // above any pid_max
	err = m.Apply(pid)
	if err == nil {
		t.Fatal("want an error")
	}
	first := m.(*manager).dirs[0]
	want := fmt.Sprintf("cgroup %s: join pid %d: ", first, pid)
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("got %q, want prefix %q", err, want)
	}
}

func BenchmarkNewApply(b *testing.B) {
	needRoot(b)
	top := testName(b)
	child := startSleep(b)
	// Cleanups run last-registered first: the child dies, then the tree goes.
	var dirs []string
	b.Cleanup(func() {
		kill(child)
		for _, d := range dirs {
			_ = removeCgroup(d)
		}
	})
	first, err := New("/"+top+"/warm", "x")
	if err != nil {
		b.Fatal(err)
	}
	for _, d := range first.(*manager).dirs {
		dirs = append(dirs, filepath.Dir(d))
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		m, err := New(fmt.Sprintf("/%s/c%d", top, i), "x")
		if err != nil {
			b.Fatal(err)
		}
		if err := m.Apply(child.Process.Pid); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNew(b *testing.B) {
	for i := 0; b.Loop(); i++ {
		if _, err := New(fmt.Sprintf("/berth-bench/c%d", i), "x"); err != nil {
			b.Fatal(err)
		}
	}
}
