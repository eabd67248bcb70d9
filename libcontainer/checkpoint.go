package libcontainer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/berthrt/berth/cgroups"
	"github.com/berthrt/berth/checkpoint"
	"github.com/moby/sys/mountinfo"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// CriuOpts are the CRIU options of checkpoint and restore (the checkpoint
// package's, named here so the CLI needs only libcontainer).
type CriuOpts = checkpoint.Options

// CheckpointSupported reports whether checkpoint and restore can work on
// this host (criu on PATH, recent enough, `criu check` passing); the error
// says what is missing.
func CheckpointSupported() error {
	_, err := checkpoint.Check()
	return err
}

// Files berth writes into an image directory besides CRIU's images:
// descriptorsFile (as runc: what fds 0-2 of the init were, so restore can
// give its own pipes in their place) and notesFile (the external mounts).
const (
	descriptorsFile = "descriptors.json"
	notesFile       = "berth-checkpoint.json"
)

// imageNotes is what restore needs to know about the dumped container that
// CRIU's images do not say in a form berth can use.
type imageNotes struct {
	ExtMounts []extMount `json:"externalMounts"`
}

// extMount is a mount CRIU was told to leave alone. Key is its name in
// the image; Dest its mount point in the container.
type extMount struct {
	Key  string `json:"key"`
	Dest string `json:"dest"`
	Kind string `json:"kind"` // bind, cgroup, masked, device
}

// Checkpoint dumps the running (or paused) container with CRIU. Without
// LeaveRunning or PreDump the container is stopped afterwards (CRIU kills
// it once the image is complete); its state stays, saying stopped, until
// delete.
func (c *Container) Checkpoint(o *CriuOpts) error {
	lock, err := lockDir(c.dir, true)
	if err != nil {
		return err
	}
	defer lock.Close()
	st := c.Status()
	switch st {
	case Running, Paused:
	case Created:
		return fmt.Errorf("cannot checkpoint container %q: it is created, not started: %w", c.State.ID, ErrWrongState)
	default:
		return fmt.Errorf("cannot checkpoint container %q: it is %s: %w", c.State.ID, st, ErrWrongState)
	}
	if c.State.RootfsMount != 0 {
		// Its mounts live in the host's mount namespace, which CRIU
		// would dump (and restore) whole.
		return fmt.Errorf("cannot checkpoint container %q: it has no mount namespace of its own (linux.namespaces has no \"mount\"); CRIU needs one", c.State.ID)
	}
	cfg, err := c.Config()
	if err != nil {
		return err
	}
	req, err := c.dumpRequest(cfg, o)
	if err != nil {
		return fmt.Errorf("checkpoint %q: %w", c.State.ID, err)
	}
	if err := checkpoint.Dump(req); err != nil {
		if errors.Is(err, checkpoint.ErrInterrupted) && st == Running {
			// criu died with the tree possibly still frozen: thaw it,
			// as a failed dump does.
			_ = cgroups.Load(c.State.CgroupPaths).Freeze(false)
		}
		return fmt.Errorf("checkpoint %q: %w", c.State.ID, err)
	}
	if !o.LeaveRunning && !o.PreDump {
		// CRIU has killed the tree: wait for the init to be gone so that
		// the state says stopped as soon as we return.
		waitGone(c.State.InitPid, c.State.InitStart)
	}
	return nil
}

func (c *Container) dumpRequest(cfg *specs.Spec, o *CriuOpts) (*checkpoint.DumpRequest, error) {
	req := &checkpoint.DumpRequest{Options: *o, Pid: c.State.InitPid, Root: c.State.Rootfs}
	criuConfigFile(cfg, &req.Options)
	if p := c.State.CgroupPaths["freezer"]; p != "" {
		req.FreezeCgroup = p
	} else if p := c.State.CgroupPaths["unified"]; p != "" {
		req.FreezeCgroup = p
	}
	ext, err := externalNamespaces(cfg)
	if err != nil {
		return nil, err
	}
	req.External = ext
	if o.PreDump {
		return req, nil
	}
	mounts, err := dumpExtMounts(cfg, c.State.InitPid)
	if err != nil {
		return nil, err
	}
	notes, _ := json.Marshal(&imageNotes{ExtMounts: mounts})
	seen := map[string]bool{}
	for _, m := range mounts {
		// The image names a mount by Key; on dump CRIU's map is mount
		// point -> name.
		if !seen[m.Dest] {
			req.ExtMounts = append(req.ExtMounts, checkpoint.ExtMount{Key: m.Dest, Val: m.Key})
			seen[m.Dest] = true
		}
	}
	fds, _ := json.Marshal(initDescriptors(c.State.InitPid))
	req.Files = map[string][]byte{descriptorsFile: fds, notesFile: notes}
	return req, nil
}

// criuConfigFile applies the org.criu.config annotation as runc does: a
// path is CRIU's configuration file for this container, an empty value
// means none; without the annotation, /etc/criu/runc.conf (CRIU ignores a
// file that does not exist).
func criuConfigFile(cfg *specs.Spec, o *CriuOpts) {
	if o.ConfigFile != nil {
		return
	}
	v, ok := cfg.Annotations["org.criu.config"]
	switch {
	case !ok:
		def := "/etc/criu/runc.conf"
		o.ConfigFile = &def
	case v != "":
		o.ConfigFile = &v
	}
}

// externalNamespaces declares the network and pid namespaces the container
// joined by path as external: CRIU neither dumps nor restores them, restore
// joins them again (runc's keys "extRootNetNS", "extRootPidNS").
func externalNamespaces(cfg *specs.Spec) ([]string, error) {
	var out []string
	for _, ns := range namespacesOf(cfg) {
		key, ok := extNSKey[ns.Type]
		if !ok || ns.Path == "" {
			continue
		}
		var st unix.Stat_t
		if err := unix.Stat(ns.Path, &st); err != nil {
			return nil, fmt.Errorf("linux.namespaces: %s path %s: %w", ns.Type, ns.Path, err)
		}
		out = append(out, fmt.Sprintf("%s[%d]:%s", criuNSName[ns.Type], st.Ino, key))
	}
	return out, nil
}

var extNSKey = map[specs.LinuxNamespaceType]string{specs.NetworkNamespace: "extRootNetNS", specs.PIDNamespace: "extRootPidNS"}
var criuNSName = map[specs.LinuxNamespaceType]string{specs.NetworkNamespace: "net", specs.PIDNamespace: "pid"}

func namespacesOf(cfg *specs.Spec) []specs.LinuxNamespace {
	if cfg.Linux == nil {
		return nil
	}
	return cfg.Linux.Namespaces
}

// dumpExtMounts lists the container's mounts that come from the host and
// so cannot be in the image: every bind mount of config.json, the cgroup
// hierarchies (binds of the host's, unless the container has a cgroup
// namespace), the masked files (the container's /dev/null bound over them)
// and device nodes bound from the host's /dev (in a user namespace).
func dumpExtMounts(cfg *specs.Spec, pid int) ([]extMount, error) {
	infos, err := mountinfo.PidMountInfo(pid)
	if err != nil {
		return nil, fmt.Errorf("mounts of the container: %w", err)
	}
	isMount := map[string]*mountinfo.Info{}
	for _, mi := range infos {
		isMount[mi.Mountpoint] = mi
	}
	var out []extMount
	for _, m := range cfg.Mounts {
		if isBind(m) {
			d := path.Clean("/" + m.Destination)
			out = append(out, extMount{Key: d, Dest: d, Kind: "bind"})
		}
	}
	for _, mi := range infos {
		switch {
		case (mi.FSType == "cgroup" || mi.FSType == "cgroup2") && mi.Root != "/":
			out = append(out, extMount{Key: mi.Mountpoint, Dest: mi.Mountpoint, Kind: "cgroup"})
		case strings.HasPrefix(mi.Mountpoint, "/dev/") && mi.FSType != "tmpfs" && mi.FSType != "devpts" &&
			mi.FSType != "mqueue" && !isSpecDest(cfg, mi.Mountpoint) && isHostDevice(pid, mi.Mountpoint):
			out = append(out, extMount{Key: mi.Mountpoint, Dest: mi.Mountpoint, Kind: "device"})
		}
	}
	if cfg.Linux != nil {
		for _, p := range cfg.Linux.MaskedPaths {
			p = path.Clean("/" + p)
			if isMount[p] == nil {
				continue
			}
			fi, err := os.Stat(filepath.Join("/proc", strconv.Itoa(pid), "root", p))
			if err != nil || fi.IsDir() {
				continue // a masked directory is a tmpfs CRIU dumps itself
			}
			out = append(out, extMount{Key: "/dev/null", Dest: p, Kind: "masked"})
		}
	}
	return out, nil
}

func isBind(m specs.Mount) bool {
	if m.Type == "bind" {
		return true
	}
	for _, o := range m.Options {
		if o == "bind" || o == "rbind" {
			return true
		}
	}
	return false
}

func isSpecDest(cfg *specs.Spec, p string) bool {
	for _, m := range cfg.Mounts {
		if path.Clean("/"+m.Destination) == p {
			return true
		}
	}
	return false
}

// isHostDevice: a device node mounted over a /dev entry (bound from the
// host's /dev).
func isHostDevice(pid int, p string) bool {
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join("/proc", strconv.Itoa(pid), "root", p), &st); err != nil {
		return false
	}
	return st.Mode&unix.S_IFMT == unix.S_IFCHR || st.Mode&unix.S_IFMT == unix.S_IFBLK
}

// initDescriptors is what fds 0, 1 and 2 of the init are ("pipe:[123]",
// "/dev/null"...), as runc records them.
func initDescriptors(pid int) []string {
	out := make([]string, 3)
	for i := range out {
		out[i], _ = os.Readlink(fmt.Sprintf("/proc/%d/fd/%d", pid, i))
	}
	return out
}

// readImageNotes reads what Checkpoint left beside the images; an image
// from elsewhere (runc) has no notes: the spec's bind mounts are assumed.
func readImageNotes(dir string, cfg *specs.Spec) (*imageNotes, []string, error) {
	var fds []string
	if b, err := os.ReadFile(filepath.Join(dir, descriptorsFile)); err == nil {
		if err := json.Unmarshal(b, &fds); err != nil {
			return nil, nil, fmt.Errorf("image directory %s: %s: %w", dir, descriptorsFile, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, nil, fmt.Errorf("image directory: %w", err)
	}
	var n imageNotes
	b, err := os.ReadFile(filepath.Join(dir, notesFile))
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &n); err != nil {
			return nil, nil, fmt.Errorf("image directory %s: %s: %w", dir, notesFile, err)
		}
	case errors.Is(err, os.ErrNotExist):
		for _, m := range cfg.Mounts {
			if isBind(m) {
				d := path.Clean("/" + m.Destination)
				n.ExtMounts = append(n.ExtMounts, extMount{Key: d, Dest: d, Kind: "bind"})
			}
		}
	default:
		return nil, nil, fmt.Errorf("image directory: %w", err)
	}
	return &n, fds, nil
}
