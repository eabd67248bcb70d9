package libcontainer

import (
	"errors"
	"os"
	"os/exec"
	"syscall"

	"github.com/berthrt/berth/cgroups"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// Placement of the stub (create and exec) in the container's cgroup. On
// cgroup v2, and for the cgroup2 part of a hybrid host, the stub is created
// inside it (clone3 CLONE_INTO_CGROUP): no instruction of the container
// runs outside its cgroup, and there is no migration to pay for. Where the
// kernel refuses, the pid is written into cgroup.procs right after the
// start, before the stub reads its bootstrap, as on v1.

// startInCgroup starts cmd created directly inside the cgroup whose
// directory handle is cgDir (clone3 with CLONE_INTO_CGROUP, through Go's
// SysProcAttr.CgroupFD), so that not one instruction of it runs outside.
// It returns the command that runs and whether it was cloned into the
// cgroup. With no handle, or when the kernel refuses that clone, it starts
// a copy of cmd the plain way (exec.Cmd cannot be started twice) and the
// caller moves the pid in afterwards; the process then waits for its
// bootstrap, so it still forks nothing before it is inside.
func startInCgroup(cmd *exec.Cmd, cgDir *os.File, role string) (*exec.Cmd, bool, error) {
	if cgDir == nil {
		return cmd, false, cmd.Start()
	}
	var plain syscall.SysProcAttr
	if cmd.SysProcAttr != nil {
		plain = *cmd.SysProcAttr
	}
	into := plain
	into.UseCgroupFD, into.CgroupFD = true, int(cgDir.Fd())
	cmd.SysProcAttr = &into
	err := cmd.Start()
	if err == nil {
		logrus.Debugf("%s: pid %d created inside cgroup %s (clone3 CLONE_INTO_CGROUP)", role, cmd.Process.Pid, cgDir.Name())
		return cmd, true, nil
	}
	if !cloneIntoRefused(err) {
		return nil, false, err
	}
	logrus.Debugf("%s: clone into cgroup %s refused (%v): joining it by pid after the start", role, cgDir.Name(), err)
	second := copyCmd(cmd, &plain)
	return second, false, second.Start()
}

// copyCmd is a fresh, unstarted copy of cmd with the given attributes.
func copyCmd(cmd *exec.Cmd, attr *syscall.SysProcAttr) *exec.Cmd {
	c := &exec.Cmd{Path: cmd.Path, Args: cmd.Args, Env: cmd.Env, Dir: cmd.Dir,
		Stdin: cmd.Stdin, Stdout: cmd.Stdout, Stderr: cmd.Stderr, ExtraFiles: cmd.ExtraFiles}
	c.SysProcAttr = attr
	return c
}

// cloneIntoRefused reports whether a failed start is the kernel refusing
// CLONE_INTO_CGROUP rather than the command failing: no clone3 (ENOSYS),
// a clone_args without the cgroup field (E2BIG) or an unknown flag
// (EINVAL) on kernels before 5.7, a cgroup that cannot take processes
// (EBUSY: controllers enabled below it, or a threaded domain; EOPNOTSUPP),
// a handle that is not a cgroup2 directory (EBADF), or a permission only
// the cgroup.procs write can explain (EPERM, EACCES). The pid write then
// gives the error that names the file.
func cloneIntoRefused(err error) bool {
	for _, e := range []unix.Errno{unix.ENOSYS, unix.E2BIG, unix.EINVAL, unix.EBUSY,
		unix.EOPNOTSUPP, unix.EBADF, unix.EPERM, unix.EACCES} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// joinCgroup finishes the placement startInCgroup began: a cloned process
// still has to join the v1 hierarchies (hybrid host), any other one every
// hierarchy.
func joinCgroup(cg cgroups.Manager, pid int, cloned bool) error {
	if cloned {
		return cg.Join(pid)
	}
	return cg.Apply(pid)
}
