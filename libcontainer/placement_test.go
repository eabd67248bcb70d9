package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"testing"

	"golang.org/x/sys/unix"
)

// The errors of a refused CLONE_INTO_CGROUP fall back to the pid write;
// an error of the command itself is returned as is.
func TestCloneIntoRefused(t *testing.T) {
	startErr := func(e error) error { return &os.PathError{Op: "fork/exec", Path: "/proc/self/exe", Err: e} }
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{startErr(unix.ENOSYS), true},     // no clone3
		{startErr(unix.E2BIG), true},      // clone_args larger than the kernel's (< 5.7)
		{startErr(unix.EINVAL), true},     // CLONE_INTO_CGROUP unknown
		{startErr(unix.EBUSY), true},      // cgroup with controllers enabled below it
		{startErr(unix.EOPNOTSUPP), true}, // threaded cgroup
		{startErr(unix.EBADF), true},      // not a cgroup2 directory
		{startErr(unix.EPERM), true},
		{startErr(unix.EACCES), true},
		{fmt.Errorf("start: %w", startErr(unix.EBUSY)), true},
		{startErr(unix.ENOENT), false}, // the binary is missing
		{startErr(unix.EAGAIN), false}, // out of processes
		{startErr(unix.ENOMEM), false},
		{errors.New("exec: no command"), false},
	} {
		if got := cloneIntoRefused(tc.err); got != tc.want {
			t.Errorf("cloneIntoRefused(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// A handle the kernel refuses (a directory that is no cgroup: EBADF) makes
// startInCgroup start a copy of the command the plain way.
func TestStartInCgroupFallsBack(t *testing.T) {
	dir, err := os.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	orig := exec.Command("/bin/sh", "-c", "exit 3")
	cmd, cloned, err := startInCgroup(orig, dir, "test")
	if err != nil {
		t.Fatalf("startInCgroup: %v", err)
	}
	if cloned {
		t.Fatal("reported cloned into a directory that is not a cgroup")
	}
	if cmd == orig {
		t.Fatal("the failed command was reused; exec.Cmd cannot start twice")
	}
	if cmd.SysProcAttr != nil && cmd.SysProcAttr.UseCgroupFD {
		t.Fatal("the fallback still asks for CLONE_INTO_CGROUP")
	}
	if err := cmd.Wait(); err == nil || cmd.ProcessState.ExitCode() != 3 {
		t.Fatalf("fallback command: %v, want exit 3", err)
	}
}

// Without a handle (v1, a systemd scope) the command starts as it is.
func TestStartInCgroupWithoutHandle(t *testing.T) {
	orig := exec.Command("/bin/true")
	cmd, cloned, err := startInCgroup(orig, nil, "test")
	if err != nil || cloned || cmd != orig {
		t.Fatalf("startInCgroup(nil) = %v, %v, %v", cmd == orig, cloned, err)
	}
	_ = cmd.Wait()
}

// A command that fails for its own reasons is not retried.
func TestStartInCgroupCommandError(t *testing.T) {
	dir, err := os.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	_, _, err = startInCgroup(exec.Command("/nonexistent/berth-test"), dir, "test")
	if !errors.Is(err, unix.ENOENT) {
		t.Fatalf("err = %v, want ENOENT", err)
	}
}
