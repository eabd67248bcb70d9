package exeseal

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

func fdPath(f *os.File) string { return "/proc/self/fd/" + strconv.Itoa(int(f.Fd())) }

// checkReadOnly: reopening the view for writing fails (the ro mount), or
// a write through it fails (the sealed memfd).
func checkReadOnly(t *testing.T, f *os.File) {
	t.Helper()
	w, err := os.OpenFile(fdPath(f), os.O_WRONLY, 0)
	if err != nil {
		if !errors.Is(err, unix.EROFS) && !errors.Is(err, unix.ETXTBSY) {
			t.Fatalf("open for writing: %v, want EROFS", err)
		}
		return
	}
	defer w.Close()
	if _, err := w.Write([]byte("x")); err == nil {
		t.Fatal("wrote to the sealed binary")
	}
}

func TestOpenIsReadOnlyAndRuns(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (open_tree)")
	}
	f, err := Open(100)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Fd() < 100 {
		t.Fatalf("fd %d below 100", f.Fd())
	}
	checkReadOnly(t, f)
	// The view runs: start the test binary from it, listing no tests.
	cmd := exec.Command(fdPath(f), "-test.run=^$")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("run from the sealed view: %v: %s", err, out)
	}
}

func TestSealedCopyIsReadOnly(t *testing.T) {
	fd, err := sealedCopy()
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fd), "copy")
	defer f.Close()
	checkReadOnly(t, f)
}

func BenchmarkOpen(b *testing.B) {
	for i := 0; i < b.N; i++ {
		f, err := Open(100)
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}
