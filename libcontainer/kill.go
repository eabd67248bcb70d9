package libcontainer

import (
	"errors"
	"fmt"

	"github.com/berthrt/berth/cgroups"
	"github.com/berthrt/berth/libcontainer/sys"
	"github.com/sirupsen/logrus"
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

// killAll signals every process of the container. SIGKILL goes through
// cgroup.kill where the cgroup has it (cgroup v2, and the cgroup2 part of a
// hybrid host, Linux >= 5.14; runc does the same): one write, and the
// kernel also kills what forks meanwhile. Other signals, and SIGKILL
// without cgroup.kill, go pid by pid with the cgroup frozen, so that no
// process forks a child the list missed.
func (c *Container) killAll(sig unix.Signal) error {
	cg := cgroups.Load(c.State.CgroupPaths)
	if sig == unix.SIGKILL {
		err := cg.Kill()
		if err == nil {
			logrus.Debugf("container %s: killed through cgroup.kill", c.State.ID)
			thawKilled(cg)
			return nil
		}
		if !errors.Is(err, cgroups.ErrNotSupported) {
			return fmt.Errorf("kill processes of %q: %w", c.State.ID, err)
		}
	}
	// Freeze a running container only, and thaw only what was frozen
	// here: a paused one stays paused (its processes get the signal when
	// resumed), except after SIGKILL, which must not wait for a resume.
	frozenHere := false
	if st, _ := cg.FreezerState(); st == "THAWED" {
		if err := cg.Freeze(true); err != nil {
			logrus.Warnf("kill --all: freeze: %v", err)
		} else {
			frozenHere = true
		}
	}
	err := signalPids(cg, sig)
	if frozenHere {
		if terr := cg.Freeze(false); terr != nil {
			logrus.Warnf("kill --all: thaw: %v", terr)
		}
	} else if sig == unix.SIGKILL {
		thawKilled(cg)
	}
	if err != nil {
		return fmt.Errorf("kill processes of %q: %w", c.State.ID, err)
	}
	return nil
}

// signalPids signals every pid of the cgroup once; a pid gone meanwhile is
// not an error.
func signalPids(cg cgroups.Manager, sig unix.Signal) error {
	pids, err := cg.Pids()
	if err != nil {
		return fmt.Errorf("list processes: %w", err)
	}
	for _, pid := range pids {
		if err := unix.Kill(pid, sig); err != nil && err != unix.ESRCH {
			return fmt.Errorf("signal %d to pid %d: %w", sig, pid, err)
		}
	}
	return nil
}

// thawKilled thaws a paused container after SIGKILL: a task frozen by the
// v1 freezer cannot act on the signal until thawed (a v2 one dies frozen).
func thawKilled(cg cgroups.Manager) {
	if st, _ := cg.FreezerState(); st != "" && st != "THAWED" {
		if err := cg.Freeze(false); err != nil {
			logrus.Warnf("kill --all: thaw: %v", err)
		}
	}
}
