package libcontainer

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// openBeneath is what keeps sysctl and oom_score_adj writes inside /proc:
// no "..", no symlink, no crossing into another mount.
func TestOpenBeneath(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "a/b"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a/b/f"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("b", filepath.Join(dir, "a/link")); err != nil {
		t.Fatal(err)
	}
	root, err := unix.Open(filepath.Join(dir, "a"), unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(root)
	fd, err := openBeneath(root, "b/f", unix.O_RDONLY)
	if err != nil {
		t.Fatalf("b/f: %v", err)
	}
	unix.Close(fd)
	for path, want := range map[string]error{
		"../a/b/f": unix.EXDEV, "/etc/passwd": unix.EXDEV, "link/f": unix.ELOOP,
	} {
		if fd, err := openBeneath(root, path, unix.O_RDONLY); !errors.Is(err, want) {
			if err == nil {
				unix.Close(fd)
			}
			t.Errorf("%s: got %v, want %v", path, err, want)
		}
	}
}

// The host's /proc passes the checks; /proc/sys/kernel/ostype opens as a
// procfs file; a bind-free but non-procfs directory does not pass.
func TestOpenProcSys(t *testing.T) {
	dir, err := openProcSys()
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(dir)
	fd, err := openBeneath(dir, "kernel/ostype", unix.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := checkProcfs(fd); err != nil {
		t.Error(err)
	}
	if _, err := openBeneath(dir, "../self/status", unix.O_RDONLY); !errors.Is(err, unix.EXDEV) {
		t.Errorf("../self/status: got %v, want EXDEV", err)
	}
	tmp, err := unix.Open(t.TempDir(), unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(tmp)
	if checkProcfs(tmp) == nil {
		t.Error("a temp dir passes as procfs")
	}
}

func TestSetOOMScoreAdjNil(t *testing.T) {
	if err := setOOMScoreAdj(os.Getpid(), nil); err != nil {
		t.Fatal(err)
	}
}
