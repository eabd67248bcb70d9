package libcontainer

import (
	"fmt"

	"github.com/berthrt/berth/cgroups"
	"github.com/berthrt/berth/libcontainer/sys"
	"golang.org/x/sys/unix"
)

// Kill sends sig to the container's init, or with all to every process in
// its cgroup. A stopped container cannot be killed.
// With all, a stopped container is not an error (as in runc): processes
// the init left behind in its cgroup, when it had no pid namespace, are
// still signalled.
func (c *Container) Kill(sig unix.Signal, all bool) error {
	if all {
		return c.killAll(sig)
	}
	if c.Status() == Stopped {
		return fmt.Errorf("container %q is not running: %w", c.State.ID, ErrWrongState)
	}
	return c.signalInit(sig)
}

// signalInit signals through a pidfd opened after checking the start time,
// so a reused pid is never hit.
func (c *Container) signalInit(sig unix.Signal) error {
	fd, err := sys.PidfdOpen(c.State.InitPid, c.State.InitStart)
	if err != nil {
		return fmt.Errorf("container %q is not running: %w", c.State.ID, ErrWrongState)
	}
	defer unix.Close(fd)
	if err := unix.PidfdSendSignal(fd, sig, nil, 0); err != nil {
		return fmt.Errorf("signal %d to init %d: %w", sig, c.State.InitPid, err)
	}
	return nil
}

func (c *Container) killAll(sig unix.Signal) error {
	cg := cgroups.Load(c.State.CgroupPaths)
	pids, err := cg.Pids()
	if err != nil {
		return fmt.Errorf("list processes of %q: %w", c.State.ID, err)
	}
	for _, pid := range pids {
		if err := unix.Kill(pid, sig); err != nil && err != unix.ESRCH {
			return fmt.Errorf("signal %d to pid %d: %w", sig, pid, err)
		}
	}
	return nil
}
