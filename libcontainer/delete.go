package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/berthrt/berth/cgroups"
	"github.com/berthrt/berth/libcontainer/spec"
	"github.com/berthrt/berth/libcontainer/sys"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Delete removes the container. A created container is killed first, as
// runc does; a running or paused one only with force: then every process in
// it is SIGKILLed and Delete waits (pidfd) for the init to be gone.
func (c *Container) Delete(force bool) error {
	lock, err := lockDir(c.dir, true)
	if err != nil {
		return err
	}
	defer lock.Close()
	st := c.Status()
	if (st == Running || st == Paused) && !force {
		return fmt.Errorf("cannot delete container %q that is not stopped: %s: %w", c.State.ID, st, ErrWrongState)
	}
	if st != Stopped {
		c.killAndWait()
	}
	// The config snapshot goes with the state dir: read the poststop hooks
	// first. They run once the container is gone; their failure is a
	// warning (config.md).
	var poststop []specs.Hook
	if lc, err := c.lifecycleConfig(); err == nil && lc.Hooks != nil {
		poststop = lc.Hooks.Poststop
	}
	if err := c.destroy(); err != nil {
		return err
	}
	if len(poststop) > 0 {
		warnHooks("poststop", poststop, hookState(c.State.ID, c.State.Bundle, 0, Stopped, c.State.Annotations))
	}
	return nil
}

func (c *Container) killAndWait() {
	cg := cgroups.Load(c.State.CgroupPaths)
	fd, err := sys.PidfdOpen(c.State.InitPid, c.State.InitStart)
	if err == nil {
		defer unix.Close(fd)
		_ = unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
	}
	if len(c.State.CgroupPaths) > 0 {
		if pids, err := cg.Pids(); err == nil {
			for _, pid := range pids {
				_ = unix.Kill(pid, unix.SIGKILL)
			}
		}
		// A frozen task cannot act on SIGKILL: thaw a paused container
		// after signalling it, so its processes die without running.
		if st, _ := cg.FreezerState(); st != "" && st != "THAWED" {
			_ = cg.Freeze(false)
		}
	}
	if fd >= 0 && err == nil {
		_, _ = sys.PidfdWait(fd, 10000)
	}
}

// destroy removes the cgroups, the rootfs bind of a container without a
// mount namespace, and the state dir. Processes still in the cgroup (left
// by an init that had no pid namespace) are killed first: a cgroup with
// tasks cannot be removed.
func (c *Container) destroy() error {
	if len(c.State.CgroupPaths) > 0 {
		cg := cgroups.Load(c.State.CgroupPaths)
		killRemaining(cg)
		if err := cg.Destroy(); err != nil {
			return fmt.Errorf("container %q: %w", c.State.ID, err)
		}
	}
	if err := c.detachHostRootfs(); err != nil {
		return err
	}
	if err := os.RemoveAll(c.dir); err != nil {
		return fmt.Errorf("container %q: remove state dir: %w", c.State.ID, err)
	}
	return nil
}

// killRemaining SIGKILLs whatever is left in cg, in one step through
// cgroup.kill where the cgroup has it, else pid by pid, and waits (up to
// 2 s) for the cgroup to empty.
func killRemaining(cg cgroups.Manager) {
	pids, err := cg.Pids()
	if err != nil || len(pids) == 0 {
		return
	}
	perPid := cg.Kill() != nil
	deadline := time.Now().Add(2 * time.Second)
	for {
		if perPid {
			for _, pid := range pids {
				_ = unix.Kill(pid, unix.SIGKILL)
			}
		}
		time.Sleep(time.Millisecond)
		pids, err = cg.Pids()
		if err != nil || len(pids) == 0 || time.Now().After(deadline) {
			return
		}
	}
}

// RemoveAborted removes the state dir of a create that was killed before
// it wrote state.json (runc's delete does the same): such a dir holds the
// id, yet no command sees a container there. It leaves the dir alone while
// a create holds its lock or once state.json exists, and reports whether
// it removed anything. The container's cgroups, found from the config
// snapshot, go too when nothing is left in them (a killed create's init
// dies with its parent's end of the sync socket).
func RemoveAborted(root, id string) (bool, error) {
	dir, err := stateDir(root, id)
	if err != nil {
		return false, err
	}
	f, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		// No dir, or a create between its mkdir and its lock file.
		return false, nil
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return false, nil // a create is still at work
	}
	if _, err := os.Stat(filepath.Join(dir, stateFile)); !errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	removeAbortedCgroups(dir, id)
	if err := os.RemoveAll(dir); err != nil {
		return false, fmt.Errorf("container %q: remove the state dir of an aborted create: %w", id, err)
	}
	return true, nil
}

// removeAbortedCgroups removes the empty cgroups an aborted create made.
// It kills nothing: a cgroup with processes may be shared with a live
// container through its cgroupsPath, and rmdir only takes empty ones.
func removeAbortedCgroups(dir, id string) {
	b, err := os.ReadFile(filepath.Join(dir, configFile))
	if err != nil {
		return
	}
	s, err := spec.Decode(b)
	if err != nil {
		return
	}
	cg, err := containerCgroups(s, id)
	if err != nil {
		return
	}
	if pids, err := cg.Pids(); err == nil && len(pids) == 0 {
		_ = cg.Destroy()
	}
}
