package cgroups

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// mount is one cgroup filesystem mount from mountinfo.
type mount struct {
	point string   // mount point, unescaped
	root  string   // cgroup of the hierarchy shown at point
	v2    bool     // fstype cgroup2
	opts  []string // super options (controllers, name=..., rw, xattr...)
}

// ownCgroup is one line of /proc/self/cgroup.
type ownCgroup struct {
	id          string   // hierarchy id; "0" with no controllers is cgroup2
	controllers []string // "cpu", "cpuacct", "name=systemd"...
	path        string   // this process's cgroup in that hierarchy
}

// hostMounts parses /proc/self/mountinfo once per process: cgroup mounts do
// not move under a running berth, and create is the hot path.
var hostMounts = sync.OnceValues(func() ([]mount, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, err := parseMountinfo(f)
	if err != nil {
		return nil, fmt.Errorf("read /proc/self/mountinfo: %w", err)
	}
	return m, nil
})

// parseMountinfo returns the cgroup and cgroup2 mounts of a mountinfo
// stream, skipping other lines after looking only at their fstype.
func parseMountinfo(r io.Reader) ([]mount, error) {
	var out []mount
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 0, 4096), 1<<20) // overlay lines can be long
	for s.Scan() {
		// "36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices"
		// Look at the bytes first: most lines are not cgroup mounts.
		raw := s.Bytes()
		i := bytes.Index(raw, []byte(" - "))
		if i < 0 || !bytes.HasPrefix(raw[i+3:], []byte("cgroup")) {
			continue
		}
		line := string(raw)
		post := strings.Fields(line[i+3:]) // fstype source superopts
		if len(post) < 3 || (post[0] != "cgroup" && post[0] != "cgroup2") {
			continue
		}
		pre := strings.Fields(line[:i]) // id parent maj:min root point opts...
		if len(pre) < 6 {
			return nil, fmt.Errorf("malformed line %q", line)
		}
		out = append(out, mount{
			point: unescape(pre[4]),
			root:  unescape(pre[3]),
			v2:    post[0] == "cgroup2",
			opts:  strings.Split(post[2], ","),
		})
	}
	return out, s.Err()
}

// unescape undoes mountinfo's octal escapes (\040 for a space...).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func readOwnCgroups() ([]ownCgroup, error) {
	f, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	own, err := parseOwnCgroups(f)
	if err != nil {
		return nil, fmt.Errorf("read /proc/self/cgroup: %w", err)
	}
	return own, nil
}

// parseOwnCgroups parses /proc/<pid>/cgroup ("4:memory:/a/b", "0::/").
func parseOwnCgroups(r io.Reader) ([]ownCgroup, error) {
	var out []ownCgroup
	s := bufio.NewScanner(r)
	for s.Scan() {
		parts := strings.SplitN(s.Text(), ":", 3)
		if len(parts) != 3 {
			return nil, fmt.Errorf("malformed line %q", s.Text())
		}
		c := ownCgroup{id: parts[0], path: parts[2]}
		if parts[1] != "" {
			c.controllers = strings.Split(parts[1], ",")
		}
		out = append(out, c)
	}
	return out, s.Err()
}

// resolve maps every hierarchy the process belongs to and that is mounted
// to the container's directory in it. It validates cgroupsPath first and
// touches no filesystem.
func resolve(cgroupsPath, id string, mounts []mount, own []ownCgroup) (map[string]string, error) {
	inner, abs, err := innerPath(cgroupsPath, id)
	if err != nil {
		return nil, err
	}
	pureV2 := true
	for _, c := range own {
		if c.id != "0" && findMount(mounts, c) != nil {
			pureV2 = false
		}
	}
	paths := make(map[string]string)
	for _, c := range own {
		m := findMount(mounts, c)
		if m == nil {
			continue // hierarchy not mounted: nothing to join
		}
		var dir string
		if abs {
			dir = filepath.Join(m.point, inner)
		} else {
			base := c.path
			if pureV2 {
				base = filepath.Dir(base)
			}
			rel, ok := within(m.root, base)
			if !ok {
				return nil, fmt.Errorf("cgroup hierarchy %s: own cgroup %q is outside the mount root %q", m.point, base, m.root)
			}
			dir = filepath.Join(m.point, rel, inner)
		}
		for _, k := range keysOf(c) {
			paths[k] = dir
		}
	}
	if len(paths) == 0 {
		return nil, errors.New("no cgroup hierarchy is mounted")
	}
	return paths, nil
}

// innerPath validates and cleans the cgroup path. ".." may not climb above
// the start (the hierarchy root for an absolute path, the own cgroup for a
// relative one), and the result must name a cgroup below it: joining the
// root or the caller's own cgroup would make Destroy remove it.
func innerPath(cgroupsPath, id string) (inner string, abs bool, err error) {
	p, field := cgroupsPath, "linux.cgroupsPath"
	if p == "" {
		p, field = id, "container id"
	}
	depth := 0
	for _, e := range strings.Split(p, "/") {
		switch e {
		case "", ".":
		case "..":
			depth--
		default:
			depth++
		}
		if depth < 0 {
			return "", false, fmt.Errorf("%s: %q escapes the cgroup hierarchy", field, p)
		}
	}
	if depth == 0 {
		return "", false, fmt.Errorf("%s: %q names no cgroup below its parent", field, p)
	}
	abs = strings.HasPrefix(p, "/")
	return strings.TrimPrefix(filepath.Clean("/"+p), "/"), abs, nil
}

// findMount returns the mount of hierarchy c, preferring one whose root
// contains the process's cgroup, or nil when it is not mounted.
func findMount(mounts []mount, c ownCgroup) *mount {
	var first *mount
	for i := range mounts {
		m := &mounts[i]
		if !matches(m, c) {
			continue
		}
		if _, ok := within(m.root, c.path); ok {
			return m
		}
		if first == nil {
			first = m
		}
	}
	return first
}

func matches(m *mount, c ownCgroup) bool {
	if c.id == "0" && len(c.controllers) == 0 {
		return m.v2
	}
	if m.v2 || len(c.controllers) == 0 {
		return false
	}
	for _, want := range c.controllers {
		found := false
		for _, o := range m.opts {
			if o == want {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func keysOf(c ownCgroup) []string {
	if c.id == "0" && len(c.controllers) == 0 {
		return []string{Unified}
	}
	return c.controllers
}

// within returns p relative to root when p is root or below it.
func within(root, p string) (string, bool) {
	root, p = filepath.Clean("/"+root), filepath.Clean("/"+p)
	if root == "/" {
		return p[1:], true
	}
	if p == root {
		return "", true
	}
	if strings.HasPrefix(p, root+"/") {
		return p[len(root)+1:], true
	}
	return "", false
}
