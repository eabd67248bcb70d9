package rootfs

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/moby/sys/mountinfo"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// hostCgroupRoot is where the host mounts its cgroup filesystems.
const hostCgroupRoot = "/sys/fs/cgroup"

// v1Hierarchy is one cgroup v1 hierarchy of the host, seen from this process.
type v1Hierarchy struct {
	name        string // directory name under /sys/fs/cgroup: "cpu,cpuacct"
	source      string // host directory of this process's own cgroup in it
	controllers string // super options naming it: "cpu,cpuacct", "name=systemd"
}

// mountCgroup mounts a "cgroup" entry: cgroup2 on a unified host (or when
// asked for by type), else a tmpfs holding one directory per v1 hierarchy.
func mountCgroup(r *root, c *Config, m specs.Mount, o mountOptions) error {
	var st unix.Statfs_t
	if err := unix.Statfs(hostCgroupRoot, &st); err != nil {
		return fmt.Errorf("statfs %s: %w", hostCgroupRoot, err)
	}
	if m.Type == "cgroup2" || st.Type == unix.CGROUP2_SUPER_MAGIC {
		return mountCgroup2(r, c, m, o)
	}
	return mountCgroupV1(r, c, m, o)
}

// mountCgroup2 mounts a cgroup2 filesystem. Without a cgroup namespace the
// kernel may refuse (EPERM in a user namespace, EBUSY); the container then
// gets a bind of its own cgroup directory instead.
func mountCgroup2(r *root, c *Config, m specs.Mount, o mountOptions) error {
	h, err := r.mkdirAll(m.Destination)
	if err != nil {
		return err
	}
	err = sysMount(m.Source, fdPath(h), "cgroup2", o.Flags, o.Data)
	h.Close()
	if err == nil {
		return finishMount(r, m.Destination, o, false)
	}
	if c.InCgroupNS || !errors.Is(err, unix.EPERM) && !errors.Is(err, unix.EBUSY) {
		return fmt.Errorf("mount: %w", err)
	}
	own, err := ownCgroups()
	if err != nil {
		return err
	}
	bind := m
	bind.Source = filepath.Join(hostCgroupRoot, own[""])
	o.Flags |= unix.MS_BIND | unix.MS_REC
	return mountBind(r, bind, o)
}

// mountCgroupV1 builds the v1 layout: a tmpfs, in it one bind of this
// process's cgroup per hierarchy (or, with a cgroup namespace, a fresh
// cgroup mount, which the namespace roots at our cgroup), then the
// "cpu -> cpu,cpuacct" symlinks. The tmpfs becomes read-only last, because
// the directories and symlinks must be made in it first.
func mountCgroupV1(r *root, c *Config, m specs.Mount, o mountOptions) error {
	hs, err := v1Hierarchies()
	if err != nil {
		return err
	}
	tmpfs := specs.Mount{Destination: m.Destination, Type: "tmpfs", Source: "tmpfs"}
	to := mountOptions{Flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, Data: "mode=755"}
	if err := mountPlain(r, tmpfs, to); err != nil {
		return fmt.Errorf("tmpfs: %w", err)
	}
	for _, hy := range hs {
		if err := mountHierarchy(r, c, m.Destination, hy, o); err != nil {
			return fmt.Errorf("%s: %w", hy.name, err)
		}
	}
	if err := cgroupSymlinks(r, m.Destination, hs); err != nil {
		return err
	}
	o.Flags &^= unix.MS_BIND | unix.MS_REC
	return finishMount(r, m.Destination, o, o.Flags&unix.MS_RDONLY != 0)
}

// mountHierarchy mounts one v1 hierarchy at <dest>/<name>.
func mountHierarchy(r *root, c *Config, dest string, hy v1Hierarchy, o mountOptions) error {
	sub := path.Join(dest, hy.name)
	h, err := r.mkdirAll(sub)
	if err != nil {
		return err
	}
	if c.InCgroupNS {
		err = mountOn("cgroup", h, "cgroup", o.Flags&^(unix.MS_BIND|unix.MS_REC), hy.controllers)
		h.Close()
		if err != nil {
			return err
		}
		return finishMount(r, sub, mountOptions{Propagation: o.Propagation}, false)
	}
	err = mountOn(hy.source, h, "", unix.MS_BIND|unix.MS_REC, "")
	h.Close()
	if err != nil {
		return err
	}
	return finishMount(r, sub, o, o.needsRemount())
}

// cgroupSymlinks adds, for a co-mounted hierarchy such as "cpu,cpuacct",
// the links "cpu" and "cpuacct" to it, as the host has them.
func cgroupSymlinks(r *root, dest string, hs []v1Hierarchy) error {
	rel, err := r.resolve(dest)
	if err != nil {
		return err
	}
	dir, err := r.open(rel)
	if err != nil {
		return err
	}
	defer dir.Close()
	for _, hy := range hs {
		for _, part := range strings.Split(hy.name, ",") {
			if part == hy.name || strings.HasPrefix(part, "name=") {
				continue
			}
			err := unix.Symlinkat(hy.name, int(dir.Fd()), part)
			if err != nil && !errors.Is(err, unix.EEXIST) {
				return fmt.Errorf("symlink %s: %w", part, err)
			}
		}
	}
	return nil
}

// v1Hierarchies lists the host's v1 hierarchies this process is in, from
// /proc/self/mountinfo and /proc/self/cgroup.
func v1Hierarchies() ([]v1Hierarchy, error) {
	own, err := ownCgroups()
	if err != nil {
		return nil, err
	}
	return v1HierarchiesOf(own)
}

// v1HierarchiesOf lists the host's v1 hierarchies of the cgroups own
// (parsed /proc/<pid>/cgroup), from /proc/self/mountinfo.
func v1HierarchiesOf(own map[string]string) ([]v1Hierarchy, error) {
	mounts, err := mountinfo.GetMounts(mountinfo.FSTypeFilter("cgroup"))
	if err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	var hs []v1Hierarchy
	seen := map[string]bool{}
	for _, mi := range mounts {
		if filepath.Dir(mi.Mountpoint) != hostCgroupRoot {
			continue // the host's own layout only, not copies elsewhere
		}
		key, ok := matchControllers(own, mi.VFSOptions)
		if !ok || seen[key] {
			continue
		}
		seen[key] = true
		hs = append(hs, v1Hierarchy{
			name:        filepath.Base(mi.Mountpoint),
			source:      hierarchySource(mi, own[key]),
			controllers: key,
		})
	}
	return hs, nil
}

// matchControllers finds the /proc/self/cgroup key whose controllers are
// all among a v1 mount's super options.
func matchControllers(own map[string]string, vfsOptions string) (string, bool) {
	opts := map[string]bool{}
	for _, o := range strings.Split(vfsOptions, ",") {
		opts[o] = true
	}
	for key := range own {
		if key == "" {
			continue
		}
		all := true
		for _, ctl := range strings.Split(key, ",") {
			all = all && opts[ctl]
		}
		if all {
			return key, true
		}
	}
	return "", false
}

// hierarchySource is the host directory of cgroup path cg in a v1 mount,
// whose own root may be a sub-cgroup (a nested container's mounts).
func hierarchySource(mi *mountinfo.Info, cg string) string {
	rel, err := filepath.Rel(mi.Root, cg)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		rel = "."
	}
	return filepath.Join(mi.Mountpoint, rel)
}

// ownCgroups parses /proc/self/cgroup into controllers -> path; the cgroup
// v2 entry has the key "".
func ownCgroups() (map[string]string, error) {
	return ownCgroupsFrom("/proc/self/cgroup")
}

// ownCgroupsFrom parses a /proc/<pid>/cgroup file as ownCgroups does.
func ownCgroupsFrom(file string) (map[string]string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	own := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) == 3 {
			own[parts[1]] = parts[2]
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	return own, nil
}
