package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// manager is the cgroupfs driver for v1, hybrid and v2 layouts alike: what
// it does is decided by which keys the paths hold (a "devices" key means a
// v1 devices controller, Unified alone means a pure v2 host).
type manager struct {
	paths map[string]string
	dirs  []string // distinct directories, sorted (co-mounted controllers share one)
	// created: the directories were made by this manager (create).
	created bool
	// loaded: from Load, for joining an existing container's cgroup.
	loaded bool
}

func newManager(paths map[string]string) *manager {
	m := &manager{paths: paths}
	seen := make(map[string]bool, len(paths))
	for _, d := range paths {
		if !seen[d] {
			seen[d] = true
			m.dirs = append(m.dirs, d)
		}
	}
	sort.Strings(m.dirs)
	return m
}

func (m *manager) Paths() map[string]string {
	cp := make(map[string]string, len(m.paths))
	for k, v := range m.paths {
		cp[k] = v
	}
	return cp
}

func (m *manager) Apply(pid int) error {
	if err := m.create(); err != nil {
		return err
	}
	for _, dir := range m.dirs {
		if err := joinDir(dir, pid); err != nil {
			return err
		}
	}
	return nil
}

// create makes every directory of the cgroup, ready to take processes.
// It runs once per manager: Prepare and then Apply make them only once.
func (m *manager) create() error {
	if m.created {
		return nil
	}
	for _, dir := range m.dirs {
		created, err := mkdirs(dir)
		if err != nil {
			return err
		}
		// On v2 a cgroup has the files of the controllers its parent
		// enables in cgroup.subtree_control: enable them on the way
		// down before the pid joins, so Set finds them. Not for a
		// joining manager (Load: an exec, maybe into a sub-cgroup):
		// the container's own cgroup holds processes, so only the
		// threaded controllers would be enabled there, which turns it
		// into a threaded domain root and its sub-cgroups "domain
		// invalid", refusing every process (EOPNOTSUPP).
		if m.pureV2() && !m.loaded {
			enableAllControllers(dir)
		}
		// A new v1 cpuset has empty cpus and mems and refuses tasks
		// (ENOSPC), so the values must be filled in before the join.
		if dir == m.paths["cpuset"] && len(created) > 0 {
			if err := copyCpuset(created); err != nil {
				return err
			}
		}
	}
	m.created = true
	return nil
}

func joinDir(dir string, pid int) error {
	if err := writeFile(dir, "cgroup.procs", strconv.Itoa(pid)); err != nil {
		return fmt.Errorf("cgroup %s: join pid %d: %w", dir, pid, err)
	}
	return nil
}

// mkdirs is mkdir -p costing one syscall when the parent exists. It returns
// the directories it created, outermost first.
func mkdirs(dir string) ([]string, error) {
	err := ignoringEINTR(func() error { return unix.Mkdir(dir, 0o755) })
	switch err {
	case nil:
		return []string{dir}, nil
	case unix.EEXIST:
		return nil, nil
	case unix.ENOENT:
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		created, perr := mkdirs(parent)
		if perr != nil {
			return nil, perr
		}
		err = ignoringEINTR(func() error { return unix.Mkdir(dir, 0o755) })
		if err == nil {
			return append(created, dir), nil
		}
		if err == unix.EEXIST {
			return created, nil
		}
	}
	return nil, fmt.Errorf("cgroup %s: create: %w", dir, err)
}

// copyCpuset copies cpuset.cpus and cpuset.mems down the directories
// Apply created, outermost first, each from its parent.
func copyCpuset(created []string) error {
	for _, dir := range created {
		parent := filepath.Dir(dir)
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			v, err := readFile(parent, f)
			if err != nil {
				return fmt.Errorf("cgroup %s: read %s: %w", parent, f, err)
			}
			if strings.TrimSpace(v) == "" {
				return fmt.Errorf("cgroup %s: %s is empty, cannot fill %s", parent, f, dir)
			}
			if err := writeFile(dir, f, v); err != nil {
				return fmt.Errorf("cgroup %s: write %s %q: %w", dir, f, strings.TrimSpace(v), err)
			}
		}
	}
	return nil
}

// primary is the directory Pids and friends read: a v1 hierarchy every
// host has, else the unified one, else any.
func (m *manager) primary() string {
	for _, k := range []string{"devices", "freezer", "pids", "memory", "name=systemd", Unified} {
		if d, ok := m.paths[k]; ok {
			return d
		}
	}
	if len(m.dirs) > 0 {
		return m.dirs[0]
	}
	return ""
}

func (m *manager) Pids() ([]int, error) {
	dir := m.primary()
	if dir == "" {
		return nil, errors.New("cgroup: no hierarchy to read pids from")
	}
	var pids []int
	if err := collectPids(dir, &pids, true); err != nil {
		return nil, err
	}
	return pids, nil
}

// collectPids appends the pids of dir and its sub-cgroups. Sub-cgroups
// vanishing under the walk are skipped; the top one must exist.
func collectPids(dir string, pids *[]int, top bool) error {
	data, err := readFile(dir, "cgroup.procs")
	if err != nil {
		if !top && errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("cgroup %s: read pids: %w", dir, err)
	}
	for _, f := range strings.Fields(data) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			return fmt.Errorf("cgroup %s: cgroup.procs: bad pid %q", dir, f)
		}
		*pids = append(*pids, pid)
	}
	for _, sub := range subdirs(dir) {
		if err := collectPids(sub, pids, false); err != nil {
			return err
		}
	}
	return nil
}

func subdirs(dir string) []string {
	entries, _ := os.ReadDir(dir) // a vanished dir has no children
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out
}

func (m *manager) FreezerState() (string, error) {
	if dir, ok := m.paths["freezer"]; ok {
		v, err := readFile(dir, "freezer.state")
		if err != nil {
			return "", fmt.Errorf("cgroup %s: read freezer.state: %w", dir, err)
		}
		return strings.TrimSpace(v), nil
	}
	dir, ok := m.paths[Unified]
	if !ok || len(m.paths) > 1 {
		return "", nil // v1 without freezer, or hybrid: no freezer to ask
	}
	v, err := readFile(dir, "cgroup.freeze")
	if err != nil {
		return "", fmt.Errorf("cgroup %s: read cgroup.freeze: %w", dir, err)
	}
	if strings.TrimSpace(v) == "0" {
		return "THAWED", nil
	}
	// Freezing was asked for; cgroup.events says whether it is done.
	ev, err := readFile(dir, "cgroup.events")
	if err != nil {
		return "", fmt.Errorf("cgroup %s: read cgroup.events: %w", dir, err)
	}
	for _, line := range strings.Split(ev, "\n") {
		if line == "frozen 1" {
			return "FROZEN", nil
		}
	}
	return "FREEZING", nil
}

func (m *manager) Exists() bool {
	for _, d := range m.dirs {
		if _, err := os.Lstat(d); err == nil {
			return true
		}
	}
	return false
}

func (m *manager) Destroy() error {
	var errs []error
	for _, d := range m.dirs {
		if err := removeCgroup(d); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// removeCgroup removes dir, sub-cgroups first. EBUSY is retried for about
// 15ms in all: a task killed a moment ago may still be leaving the cgroup.
func removeCgroup(dir string) error {
	err := rmdir(dir)
	if err == nil || err == unix.ENOENT {
		return nil
	}
	var errs []error
	for _, sub := range subdirs(dir) {
		if err := removeCgroup(sub); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	delay := time.Millisecond
	for try := 0; ; try++ {
		err = rmdir(dir)
		if err == nil || err == unix.ENOENT {
			return nil
		}
		if err != unix.EBUSY || try == 4 {
			return fmt.Errorf("cgroup %s: remove: %w", dir, err)
		}
		time.Sleep(delay)
		delay *= 2
	}
}

func rmdir(dir string) error {
	return ignoringEINTR(func() error { return unix.Rmdir(dir) })
}

// writeFile writes data to dir/name in one write(2), as cgroupfs parses
// each write on its own. It avoids os.File: one open, write and close.
func writeFile(dir, name, data string) error {
	fd, err := openFile(filepath.Join(dir, name), unix.O_WRONLY)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return writeString(fd, data)
}

func writeString(fd int, data string) error {
	return ignoringEINTR(func() error {
		_, err := unix.Write(fd, []byte(data))
		return err
	})
}

// readFile reads dir/name whole with plain syscalls (no fstat, no poller
// registration). Errors are bare errnos: callers name the path.
func readFile(dir, name string) (string, error) {
	fd, err := openFile(filepath.Join(dir, name), unix.O_RDONLY)
	if err != nil {
		return "", err
	}
	defer unix.Close(fd)
	buf := make([]byte, 0, 512)
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, cap(buf))
		}
		var n int
		err := ignoringEINTR(func() error {
			var err error
			n, err = unix.Read(fd, buf[len(buf):cap(buf)])
			return err
		})
		if err != nil {
			return "", err
		}
		if n == 0 {
			return string(buf), nil
		}
		buf = buf[:len(buf)+n]
	}
}

func openFile(path string, flags int) (int, error) {
	var fd int
	err := ignoringEINTR(func() error {
		var err error
		fd, err = unix.Open(path, flags|unix.O_CLOEXEC, 0)
		return err
	})
	return fd, err
}

func ignoringEINTR(fn func() error) error {
	for {
		err := fn()
		if err != unix.EINTR {
			return err
		}
	}
}
