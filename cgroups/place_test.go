package cgroups

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A manager without a unified directory (a v1 host) offers no clone
// handle and no cgroup.kill; Join then joins every directory.
func TestPrepareJoinKillWithoutUnified(t *testing.T) {
	dir := t.TempDir()
	m := newManager(map[string]string{"memory": filepath.Join(dir, "mem", "ctr")})
	f, err := m.Prepare()
	if err != nil || f != nil {
		t.Fatalf("Prepare = %v, %v; want nil, nil", f, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "mem", "ctr")); err != nil {
		t.Fatalf("Prepare did not create the directory: %v", err)
	}
	if err := m.Kill(); !errors.Is(err, ErrNotSupported) {
		t.Fatalf("Kill = %v, want ErrNotSupported", err)
	}
	// On a plain directory cgroup.procs is a plain file: its content
	// shows that Join went there.
	if err := os.WriteFile(filepath.Join(dir, "mem", "ctr", "cgroup.procs"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := m.Join(42); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "mem", "ctr", "cgroup.procs")); string(b) != "42" {
		t.Fatalf("cgroup.procs = %q, want 42", b)
	}
}

// Join leaves the unified directory alone (the process was cloned into it).
func TestJoinSkipsUnified(t *testing.T) {
	dir := t.TempDir()
	u, v1 := filepath.Join(dir, "u"), filepath.Join(dir, "v1")
	m := newManager(map[string]string{Unified: u, "pids": v1})
	for _, d := range []string{u, v1} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(v1, "cgroup.procs"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := m.Join(7); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(u, "cgroup.procs")); !os.IsNotExist(err) {
		t.Fatalf("Join wrote the unified cgroup.procs (%v)", err)
	}
	if b, _ := os.ReadFile(filepath.Join(v1, "cgroup.procs")); string(b) != "7" {
		t.Fatalf("v1 cgroup.procs = %q, want 7", b)
	}
}

// Kill on a unified directory without cgroup.kill (an old kernel) is
// ErrNotSupported; on one that is gone it is another error.
func TestKillNoFile(t *testing.T) {
	dir := t.TempDir()
	if err := newManager(map[string]string{Unified: dir}).Kill(); !errors.Is(err, ErrNotSupported) {
		t.Fatalf("Kill = %v, want ErrNotSupported", err)
	}
	err := newManager(map[string]string{Unified: filepath.Join(dir, "gone")}).Kill()
	if err == nil || errors.Is(err, ErrNotSupported) {
		t.Fatalf("Kill of a missing cgroup = %v, want an error other than ErrNotSupported", err)
	}
}

// With a real cgroup2 hierarchy (pure v2, or the unified mount of a hybrid
// host): a child cloned through the Prepare handle is inside from birth,
// Join adds the v1 hierarchies, and Kill empties the cgroup.
func TestCloneIntoPreparedAndKill(t *testing.T) {
	needRoot(t)
	top := testName(t)
	m, err := New("/"+top+"/ctr", "ignored")
	if err != nil {
		t.Fatal(err)
	}
	mm := m.(*manager)
	if _, ok := mm.paths[Unified]; !ok {
		t.Skip("no cgroup2 hierarchy")
	}
	var parents []string
	for _, d := range mm.dirs {
		parents = append(parents, filepath.Dir(d))
	}
	cleanupCgroups(t, parents...)
	f, err := m.Prepare()
	if err != nil || f == nil {
		t.Fatalf("Prepare = %v, %v", f, err)
	}
	defer f.Close()
	cmd := exec.Command("sh", "-c", "sleep 100 & sleep 100 & wait")
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(f.Fd())}
	if err := cmd.Start(); err != nil {
		t.Skipf("clone into cgroup refused here: %v", err)
	}
	t.Cleanup(func() { kill(cmd) })
	pid := cmd.Process.Pid
	if !slices.Contains(procsOf(t, mm.paths[Unified]), pid) {
		t.Fatalf("pid %d not in %s from birth", pid, mm.paths[Unified])
	}
	if err := m.Join(pid); err != nil {
		t.Fatal(err)
	}
	for key, dir := range m.Paths() {
		if !slices.Contains(procsOf(t, dir), pid) {
			t.Errorf("%s: pid %d not in %s", key, pid, dir)
		}
	}
	// Wait for the two sleeps (born in the unified cgroup, maybe before
	// Join), then kill all three in one step.
	for i := 0; i < 400; i++ {
		if len(procsOf(t, mm.paths[Unified])) == 3 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := m.Kill(); errors.Is(err, ErrNotSupported) {
		t.Skip("no cgroup.kill on this kernel")
	} else if err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if !strings.Contains(cmd.ProcessState.String(), "killed") {
		t.Errorf("sh ended with %v, want killed", cmd.ProcessState)
	}
	for i := 0; ; i++ {
		pids, err := m.Pids()
		if err != nil {
			t.Fatal(err)
		}
		if len(pids) == 0 {
			break
		}
		if i == 400 {
			t.Fatalf("pids left after Kill: %v", pids)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
