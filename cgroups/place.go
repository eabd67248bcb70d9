package cgroups

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Placement without a window: on cgroup v2 a process can be created
// directly inside its cgroup (clone3 with CLONE_INTO_CGROUP, Linux >= 5.7),
// so nothing it runs, not even its first instruction, is accounted or
// limited anywhere else. Prepare makes the directories and hands out the
// unified one's handle for that; Join then writes the pid into the v1
// hierarchies that a hybrid host still has. Where the kernel refuses the
// clone, the caller falls back to Apply (a write to cgroup.procs after the
// start).

// Prepare creates the cgroup directories, moving no process, and opens the
// unified one for clone3(CLONE_INTO_CGROUP) (Go's SysProcAttr.CgroupFD).
// The handle is nil, with no error, when there is no cgroup2 directory to
// clone into (a v1-only host).
func (m *manager) Prepare() (*os.File, error) {
	if err := m.create(); err != nil {
		return nil, err
	}
	dir, ok := m.paths[Unified]
	if !ok {
		return nil, nil
	}
	var fd int
	err := ignoringEINTR(func() error {
		var err error
		fd, err = unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("cgroup %s: open: %w", dir, err)
	}
	return os.NewFile(uintptr(fd), dir), nil
}

// Join moves pid into every directory except the unified one, which the
// process was cloned into (Prepare). On a pure v2 host there is nothing
// left to do.
func (m *manager) Join(pid int) error {
	unified := m.paths[Unified]
	for _, dir := range m.dirs {
		if dir == unified {
			continue
		}
		if err := joinDir(dir, pid); err != nil {
			return err
		}
	}
	return nil
}

// Kill SIGKILLs every process of the cgroup and its sub-cgroups at once by
// writing cgroup.kill of the unified directory (Linux >= 5.14). The kernel
// also kills what is forked while it works, so no freeze is needed, and a
// frozen cgroup v2 task dies too. It wraps ErrNotSupported when there is no
// cgroup.kill (a v1 host, an older kernel): the caller then signals pid by
// pid.
func (m *manager) Kill() error {
	dir, ok := m.paths[Unified]
	if !ok {
		return fmt.Errorf("cgroup.kill: no cgroup2 hierarchy: %w", ErrNotSupported)
	}
	err := writeFile(dir, "cgroup.kill", "1")
	if err == nil {
		return nil
	}
	if errors.Is(err, unix.ENOENT) {
		if _, serr := os.Stat(dir); serr == nil {
			return fmt.Errorf("cgroup %s: no cgroup.kill (Linux < 5.14): %w", dir, ErrNotSupported)
		}
	}
	return fmt.Errorf("cgroup %s: write cgroup.kill: %w", dir, err)
}
