package rootfs

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/sys/mountinfo"
)

// hostCgroupRoot is where the host mounts its cgroup filesystems.
const hostCgroupRoot = "/sys/fs/cgroup"

// v1Hierarchy is one cgroup v1 hierarchy of the host, seen from this process.
type v1Hierarchy struct {
	name        string // directory name under /sys/fs/cgroup: "cpu,cpuacct"
	source      string // host directory of this process's own cgroup in it
	controllers string // super options naming it: "cpu,cpuacct", "name=systemd"
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
