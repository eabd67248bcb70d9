package libcontainer

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/berthrt/berth/libcontainer/sys"
	"golang.org/x/sys/unix"
)

func TestValidateID(t *testing.T) {
	for _, id := range []string{"a", "abc-1.2_3", "A+b"} {
		if err := ValidateID(id); err != nil {
			t.Errorf("ValidateID(%q) = %v", id, err)
		}
	}
	for _, id := range []string{"", ".", "..", "a/b", "../x", "a b", "é"} {
		if err := ValidateID(id); !errors.Is(err, ErrInvalidID) {
			t.Errorf("ValidateID(%q) = %v, want ErrInvalidID", id, err)
		}
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := writeFileAtomic(p, []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := writeFileAtomic(p, []byte("two"), 0o644); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	fi, _ := os.Stat(p)
	if string(b) != "two" || fi.Mode().Perm() != 0o644 {
		t.Fatalf("content %q mode %v", b, fi.Mode())
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("temp files left: %v", ents)
	}
}

// fakeContainer makes a state dir whose "init" is pid with its real start.
func fakeContainer(t *testing.T, root, id string, pid int) *Container {
	t.Helper()
	dir := filepath.Join(root, id)
	if err := os.MkdirAll(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	st, err := sys.Stat(pid)
	if err != nil {
		t.Fatal(err)
	}
	s := &State{OCIVersion: "1.2.0", ID: id, InitPid: pid, InitStart: st.StartTime,
		Bundle: "/b", Created: time.Now().UTC(), Owner: "root"}
	if err := saveState(dir, s); err != nil {
		t.Fatal(err)
	}
	c, err := Load(root, id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestStatusFromLiveProcess(t *testing.T) {
	root := t.TempDir()
	c := fakeContainer(t, root, "c1", os.Getpid())
	if st := c.Status(); st != Running {
		t.Fatalf("status = %s, want running", st)
	}
	if err := unix.Mkfifo(filepath.Join(c.dir, fifoFile), 0o622); err != nil {
		t.Fatal(err)
	}
	if st := c.Status(); st != Created {
		t.Fatalf("status with exec.fifo = %s, want created", st)
	}
	// A reused pid (other start time) reads as stopped.
	c.State.InitStart++
	if st := c.Status(); st != Stopped {
		t.Fatalf("status with wrong start time = %s, want stopped", st)
	}
	if s := c.OCIState(); s.Pid != 0 || s.Status != Stopped {
		t.Fatalf("stopped state shows pid %d status %s", s.Pid, s.Status)
	}
}

func TestLoadAndList(t *testing.T) {
	root := t.TempDir()
	fakeContainer(t, root, "b", os.Getpid())
	fakeContainer(t, root, "a", os.Getpid())
	// A container being created has no state.json yet.
	os.Mkdir(filepath.Join(root, "creating"), 0o711)
	cs, err := List(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || cs[0].ID() != "a" || cs[1].ID() != "b" {
		t.Fatalf("List = %v", cs)
	}
	if _, err := Load(root, "nope"); !errors.Is(err, ErrNotExist) {
		t.Fatalf("Load(nope) = %v", err)
	}
	if _, err := Load(root, "../x"); !errors.Is(err, ErrInvalidID) {
		t.Fatalf("Load(../x) = %v", err)
	}
	if cs, err := List(filepath.Join(root, "missing")); err != nil || cs != nil {
		t.Fatalf("List(missing) = %v, %v", cs, err)
	}
}

func TestLockExcludes(t *testing.T) {
	dir := t.TempDir()
	if _, err := lockDir(dir, false); !errors.Is(err, ErrNotExist) {
		t.Fatalf("lock without a lock file: %v, want ErrNotExist (it must not be re-created)", err)
	}
	os.WriteFile(filepath.Join(dir, lockFile), nil, 0o600)
	l1, err := lockDir(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	defer l1.Close()
	f, _ := os.Open(filepath.Join(dir, lockFile))
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB); err != unix.EWOULDBLOCK {
		t.Fatalf("shared lock while exclusive held: %v", err)
	}
}

func TestMakeStateDirOnce(t *testing.T) {
	root := filepath.Join(t.TempDir(), "root")
	var undo cleanup
	dir := filepath.Join(root, "x")
	lock, err := makeStateDir(root, dir, &undo)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	var undo2 cleanup
	if _, err := makeStateDir(root, dir, &undo2); !errors.Is(err, ErrExist) {
		t.Fatalf("second mkdir = %v, want ErrExist", err)
	}
	undo.run()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatal("undo left the state dir")
	}
}

func TestWritePidFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "pid")
	if err := WritePidFile(p, 1234); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "1234" {
		t.Fatalf("pid file = %q", b)
	}
}

func TestRemoveAborted(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "x")
	var undo cleanup
	lock, err := makeStateDir(root, dir, &undo)
	if err != nil {
		t.Fatal(err)
	}
	// A create at work (its lock held) is left alone.
	if removed, err := RemoveAborted(root, "x"); removed || err != nil {
		t.Fatalf("while locked: removed=%v err=%v", removed, err)
	}
	// Once it wrote state.json, it is a container, not an aborted create.
	if err := os.WriteFile(filepath.Join(dir, stateFile), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	lock.Close()
	if removed, err := RemoveAborted(root, "x"); removed || err != nil {
		t.Fatalf("with state.json: removed=%v err=%v", removed, err)
	}
	// Killed before state.json: removed.
	os.Remove(filepath.Join(dir, stateFile))
	if removed, err := RemoveAborted(root, "x"); !removed || err != nil {
		t.Fatalf("aborted: removed=%v err=%v", removed, err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatal("the aborted state dir is still there")
	}
	if removed, err := RemoveAborted(root, "x"); removed || err != nil {
		t.Fatalf("nothing there: removed=%v err=%v", removed, err)
	}
}
