package libcontainer

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/berthrt/berth/cgroups"
	"github.com/berthrt/berth/checkpoint"
	"github.com/berthrt/berth/libcontainer/sys"
	securejoin "github.com/cyphar/filepath-securejoin"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// RestoreOpts are the inputs of Restore. Spec must already be validated.
type RestoreOpts struct {
	Root, ID, Bundle string
	Spec             *specs.Spec
	SpecJSON         []byte
	// ConsoleSocket receives the restored terminal's new pty master;
	// required exactly when process.terminal is true.
	ConsoleSocket *os.File
	Criu          CriuOpts
	// Stdio given to CRIU: the restored init's pipes 0-2 are replaced by
	// these (as runc does).
	Stdin, Stdout, Stderr *os.File
}

// Restore brings a container back from a CRIU image under o.ID, which may
// differ from the checkpointed one: new state dir, cgroups and state.json,
// as create makes them, so that every other command works on it. A stopped
// container of the same id (the one checkpointed, say) is replaced.
func Restore(o *RestoreOpts) (c *Container, err error) {
	dir, err := stateDir(o.Root, o.ID)
	if err != nil {
		return nil, err
	}
	if err := checkRestoreOpts(o); err != nil {
		return nil, err
	}
	if err := replaceStopped(o.Root, o.ID); err != nil {
		return nil, err
	}
	// The same cgroups as create: with --systemd-cgroup, a systemd scope.
	cg, err := containerCgroups(o.Spec, o.ID)
	if err != nil {
		return nil, err
	}
	c, err = inNewStateDir(o.Root, o.ID, dir, func(undo *cleanup) (*Container, error) {
		return restore(o, dir, cg, undo)
	})
	if err != nil {
		return nil, fmt.Errorf("restore %q: %w", o.ID, err)
	}
	return c, nil
}

// checkRestoreOpts refuses what cannot work before anything is made.
func checkRestoreOpts(o *RestoreOpts) error {
	if o.Spec.Process != nil && o.Spec.Process.Terminal && o.ConsoleSocket == nil {
		return errors.New("process.terminal is true: --console-socket is required to receive the restored terminal")
	}
	lsm := activeLSM()
	for flag, v := range map[string]string{"--lsm-profile": o.Criu.LsmProfile, "--lsm-mount-context": o.Criu.LsmMountContext} {
		if v != "" && lsm == "" {
			return fmt.Errorf("%s %q: no AppArmor or SELinux is active on this host: %w", flag, v, ErrNotSupported)
		}
	}
	return o.Criu.Validate()
}

// activeLSM names the major LSM the kernel has active, "" for none.
func activeLSM() string {
	b, _ := os.ReadFile("/sys/kernel/security/lsm")
	for _, l := range strings.Split(strings.TrimSpace(string(b)), ",") {
		if l == "apparmor" || l == "selinux" {
			return l
		}
	}
	return ""
}

// replaceStopped removes a stopped container of that id; a live one is an
// error.
func replaceStopped(root, id string) error {
	old, err := Load(root, id)
	if errors.Is(err, ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if st := old.Status(); st != Stopped {
		return fmt.Errorf("container %q is %s: %w", id, st, ErrExist)
	}
	return old.Delete(false)
}

func restore(o *RestoreOpts, dir string, cg cgroups.Manager, undo *cleanup) (*Container, error) {
	if o.SpecJSON == nil {
		o.SpecJSON, _ = json.Marshal(o.Spec)
	}
	if err := os.WriteFile(filepath.Join(dir, configFile), o.SpecJSON, 0o600); err != nil {
		return nil, fmt.Errorf("save config snapshot: %w", err)
	}
	notes, fds, err := readImageNotes(o.Criu.ImagePath, o.Spec)
	if err != nil {
		return nil, err
	}
	rootfs := rootfsPath(o.Bundle, o.Spec)
	if err := makeRestoreMountpoints(rootfs, o.Spec); err != nil {
		return nil, err
	}
	criuRoot, err := bindCriuRoot(dir, rootfs)
	if err != nil {
		return nil, err
	}
	// The bind is only CRIU's way into the rootfs: the restored tree
	// pivots into it, so it goes whether the restore worked or not.
	defer unmountCriuRoot(criuRoot)
	req, err := restoreRequest(o, criuRoot, notes, fds, cg, undo)
	if err != nil {
		return nil, err
	}
	defer closeInherited(req.Inherit)
	pid, err := checkpoint.Restore(req)
	if err != nil {
		return nil, err
	}
	undo.push(func() { unix.Kill(pid, unix.SIGKILL) })
	st, err := sys.Stat(pid)
	if err != nil {
		return nil, fmt.Errorf("restored init %d: %w", pid, err)
	}
	s := &State{
		OCIVersion: o.Spec.Version, ID: o.ID, InitPid: pid, InitStart: st.StartTime,
		Bundle: o.Bundle, Rootfs: rootfs, Created: time.Now().UTC(),
		Owner: ownerName(os.Geteuid()), CgroupPaths: cg.Paths(),
	}
	if len(o.Spec.Annotations) > 0 {
		s.Annotations = o.Spec.Annotations
	}
	if err := saveState(dir, s); err != nil {
		return nil, err
	}
	undo.release()
	logrus.Debugf("container %s restored, init pid %d", o.ID, pid)
	return &Container{dir: dir, State: *s}, nil
}

func restoreRequest(o *RestoreOpts, root string, notes *imageNotes, fds []string, cg cgroups.Manager, undo *cleanup) (*checkpoint.RestoreRequest, error) {
	req := &checkpoint.RestoreRequest{
		Options: o.Criu, Root: root, Stdin: o.Stdin, Stdout: o.Stdout, Stderr: o.Stderr,
		JoinNs: map[string]string{},
	}
	criuConfigFile(o.Spec, &req.Options)
	for i, f := range fds {
		if i < 3 && strings.HasPrefix(f, "pipe:") {
			req.InheritStdio[i] = f
		}
	}
	ext, err := restoreExtMounts(o, notes, cg)
	if err != nil {
		return nil, err
	}
	req.ExtMounts = ext
	if err := restoreNamespaces(o.Spec, req); err != nil {
		closeInherited(req.Inherit)
		return nil, err
	}
	req.BeforeRequest = func(criuPid int) error {
		// criu, and so the tree it restores, goes into the container's
		// cgroups with their limits applied, before it restores anything.
		if err := placeInCgroup(o.Spec, cg, criuPid, undo); err != nil {
			return err
		}
		roots, err := cgroupRoots(criuPid)
		req.CgRoots = roots
		return err
	}
	if h := hooksOf(o.Spec); len(h.Prestart)+len(h.CreateRuntime) > 0 {
		// As runc does: the hooks that create runs once the namespaces
		// exist run when CRIU has made the restored ones, with the
		// restored init's pid and, as for create, status "created"; a
		// failing hook fails the restore.
		req.OnSetupNamespaces = func(pid int) error {
			state := hookState(o.ID, o.Bundle, pid, Created, o.Spec.Annotations)
			if err := runHooks("prestart", h.Prestart, state); err != nil {
				return err
			}
			return runHooks("createRuntime", h.CreateRuntime, state)
		}
	}
	if o.ConsoleSocket != nil {
		req.OnPtyMaster = func(m *os.File) error {
			if err := sendFd(o.ConsoleSocket, m.Name(), m.Fd()); err != nil {
				return fmt.Errorf("send the restored pty master to the console socket: %w", err)
			}
			return nil
		}
	}
	return req, nil
}

// restoreExtMounts maps each external mount named in the image to what is
// bound there now: a bind's source from the (new) config.json, the new
// container's own cgroup, /dev/null for masked files, the host's device.
func restoreExtMounts(o *RestoreOpts, notes *imageNotes, cg cgroups.Manager) ([]checkpoint.ExtMount, error) {
	var out []checkpoint.ExtMount
	seen := map[string]bool{}
	add := func(k, v string) {
		if !seen[k] {
			out = append(out, checkpoint.ExtMount{Key: k, Val: v})
			seen[k] = true
		}
	}
	for _, m := range notes.ExtMounts {
		switch m.Kind {
		case "bind":
			src, ok := bindSource(o, m.Dest)
			if !ok {
				return nil, fmt.Errorf("the image has a bind mount at %s that config.json no longer has", m.Dest)
			}
			add(m.Key, src)
		case "cgroup":
			p, ok := cgroupDirFor(o.Spec, m.Dest, cg.Paths())
			if !ok {
				return nil, fmt.Errorf("no cgroup of the new container for the image's cgroup mount %s", m.Dest)
			}
			add(m.Key, p)
		default: // masked (key /dev/null), device (key = its path)
			add(m.Key, m.Key)
		}
	}
	return out, nil
}

func bindSource(o *RestoreOpts, dest string) (string, bool) {
	for _, m := range o.Spec.Mounts {
		if isBind(m) && path.Clean("/"+m.Destination) == dest {
			if filepath.IsAbs(m.Source) {
				return m.Source, true
			}
			return filepath.Join(o.Bundle, m.Source), true
		}
	}
	return "", false
}

// cgroupDirFor finds the new container's cgroup directory for the cgroup
// mount at dest: the hierarchy is dest's path below the config's cgroup
// mount ("memory", "cpu,cpuacct"; nothing for cgroup2 mounted there
// itself), the directory the one of cgroup paths under the host's
// /sys/fs/cgroup/<hierarchy> (or the cgroup2 one).
func cgroupDirFor(s *specs.Spec, dest string, paths map[string]string) (string, bool) {
	base := "/sys/fs/cgroup"
	for _, m := range s.Mounts {
		if m.Type == "cgroup" || m.Type == "cgroup2" {
			base = path.Clean("/" + m.Destination)
		}
	}
	rel := strings.TrimPrefix(strings.TrimPrefix(dest, base), "/")
	if rel == "" {
		p, ok := paths[cgroups.Unified]
		return p, ok
	}
	for _, p := range paths {
		r := strings.TrimPrefix(p, "/sys/fs/cgroup/")
		if first, _, _ := strings.Cut(r, "/"); first == rel {
			return p, true
		}
	}
	return "", false
}

// cgroupRoots reads /proc/PID/cgroup: controllers -> cgroup, what CRIU
// takes as the roots to restore the tree's cgroups under.
func cgroupRoots(pid int) (map[string]string, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	roots := map[string]string{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		parts := strings.SplitN(s.Text(), ":", 3)
		if len(parts) == 3 {
			roots[parts[1]] = parts[2]
		}
	}
	return roots, s.Err()
}

// restoreNamespaces: network and pid namespaces given by path were external
// in the image: CRIU is handed them open (inherit-fd). Other namespaces
// given by path are joined.
func restoreNamespaces(s *specs.Spec, req *checkpoint.RestoreRequest) error {
	for _, ns := range namespacesOf(s) {
		if ns.Path == "" {
			continue
		}
		if key, ok := extNSKey[ns.Type]; ok {
			f, err := os.Open(ns.Path)
			if err != nil {
				return fmt.Errorf("linux.namespaces: %s path: %w", ns.Type, err)
			}
			req.Inherit = append(req.Inherit, checkpoint.Inherit{Key: key, File: f})
			continue
		}
		if ns.Type == specs.CgroupNamespace {
			return fmt.Errorf("linux.namespaces: joining a cgroup namespace by path on restore: %w", ErrNotSupported)
		}
		req.JoinNs[criuJoinName(ns.Type)] = ns.Path
	}
	return nil
}

func criuJoinName(t specs.LinuxNamespaceType) string {
	switch t {
	case specs.MountNamespace:
		return "mnt"
	case specs.UserNamespace:
		return "user"
	}
	return string(t) // ipc, uts, time
}

func closeInherited(in []checkpoint.Inherit) {
	for _, i := range in {
		i.File.Close()
	}
}

// makeRestoreMountpoints creates, as create would, the mount points of the
// bind mounts that are not on a tmpfs of the config (CRIU restores those
// whole): CRIU binds the external mounts onto existing paths only.
func makeRestoreMountpoints(rootfs string, s *specs.Spec) error {
	var tmpfs []string
	for _, m := range s.Mounts {
		if m.Type == "tmpfs" {
			tmpfs = append(tmpfs, path.Clean("/"+m.Destination))
		}
	}
	for _, m := range s.Mounts {
		d := path.Clean("/" + m.Destination)
		if !isBind(m) || underAny(d, tmpfs) {
			continue
		}
		p, err := securejoin.SecureJoin(rootfs, d)
		if err != nil {
			return fmt.Errorf("mount point %s: %w", d, err)
		}
		if _, err := os.Lstat(p); err == nil {
			continue
		}
		src := m.Source
		if !filepath.IsAbs(src) {
			src = filepath.Join(filepath.Dir(rootfs), src)
		}
		if fi, err := os.Stat(src); err == nil && !fi.IsDir() {
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return fmt.Errorf("mount point %s: %w", d, err)
			}
			f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				return fmt.Errorf("mount point %s: %w", d, err)
			}
			f.Close()
			continue
		}
		if err := os.MkdirAll(p, 0o755); err != nil {
			return fmt.Errorf("mount point %s: %w", d, err)
		}
	}
	return nil
}

func underAny(p string, dirs []string) bool {
	for _, d := range dirs {
		if strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}

// bindCriuRoot binds the rootfs at <state dir>/criu-root: CRIU wants its
// root to be a mount point whose parent is not overmounted.
func bindCriuRoot(dir, rootfs string) (string, error) {
	root := filepath.Join(dir, "criu-root")
	if err := os.Mkdir(root, 0o755); err != nil {
		return "", fmt.Errorf("criu root: %w", err)
	}
	if err := unix.Mount(rootfs, root, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		os.Remove(root)
		return "", fmt.Errorf("bind %s for criu: %w", rootfs, err)
	}
	return root, nil
}

func unmountCriuRoot(root string) {
	if err := unix.Unmount(root, unix.MNT_DETACH); err != nil {
		logrus.Warnf("unmount %s: %v", root, err)
	}
	os.Remove(root)
}
