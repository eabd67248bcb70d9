package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// This file compiles Setup and Finalize into primitive steps for an init
// that is not Go: the C stub executes them (nsenter/plan.h), so no Go
// runtime has to start in the container. The runtime's parent compiles them
// before the init runs, from the same mount namespace the init starts in,
// so what Setup would look up on the host (the source of a bind, the
// cgroup hierarchies, /proc/kcore) it looks up here. Decisions about the
// rootfs's own content (symlinks, existing files) stay with the executor:
// they can change with each mount.

// StepKind names a primitive step.
type StepKind int

// The steps (plan.h describes what the executor does for each).
const (
	StepRoot StepKind = iota + 1
	StepMount
	StepMknod
	StepSymlink
	StepPivot
	StepReadonly
	StepMask
	StepFinish
)

// Step is one primitive step of the rootfs setup. Which fields count
// depends on Kind.
type Step struct {
	Kind StepKind
	// Label is the config path the step comes from, the prefix of its
	// errors, as Setup and Finalize word them.
	Label string
	// Path is the rootfs (Root), the destination (Mount), the node
	// (Mknod), the directory (Symlink) or the path (Readonly, Mask,
	// Finish), inside the rootfs.
	Path string
	// Mount: mount(Source, Path, FSType, Flags, Data); File makes the
	// target a file; then, on the new mount, Remount (RemountFlags,
	// Cleared), the recursive attributes and the propagation (Finish does
	// only this last part, on the mount at Path). AltSource is bound
	// instead when the kernel refuses the mount (EPERM/EBUSY).
	Source, FSType, Data  string
	Flags                 uint64
	File, Remount         bool
	RemountFlags, Cleared uint64
	RecSet, RecClr        uint64
	Propagation           []uint64
	AltSource             string
	// Mknod: Mode (type and permissions), Dev, owner UID/GID.
	Mode     uint32
	Dev      uint64
	UID, GID uint32
	// Symlink: Name in Path pointing to Target; Replace unlinks first.
	Name, Target string
	Replace      bool
}

// ErrNeedsGoInit says a config needs what only the Go init does (user
// namespaces, id-mapped mounts, tmpcopyup, --no-pivot, no mount
// namespace, hooks before the pivot).
var ErrNeedsGoInit = errors.New("needs the Go init")

// Plan compiles Setup (root, mounts, /dev, pivot) and Finalize
// (readonlyPaths, maskedPaths, read-only /dev and root) of c into steps.
// cgroupFile is /proc/<pid>/cgroup of the init-to-be, already placed in
// its cgroups. It returns ErrNeedsGoInit for what steps cannot express.
func Plan(c *Config, cgroupFile string) (setup, final []Step, err error) {
	if c.HostMountNS || c.InUserNS || c.NoPivot || len(c.IDMapFds) > 0 || c.BeforePivot != nil {
		return nil, nil, ErrNeedsGoInit
	}
	rootfs, err := realRootfs(c.Rootfs)
	if err != nil {
		return nil, nil, ErrNeedsGoInit // the Go init words the error, as Setup
	}
	prop, ok := parsePropagation(c.Propagation)
	if !ok {
		return nil, nil, ErrNeedsGoInit
	}
	setup = append(setup, Step{Kind: StepRoot, Label: "rootfs: root.path (" + rootfs + ")",
		Path: rootfs, Flags: uint64(prop)})
	for i, m := range c.Mounts {
		label := fmt.Sprintf("rootfs: mounts[%d] (%s on %s)", i, m.Type, m.Destination)
		steps, err := planMount(c, m, label, cgroupFile)
		if err != nil {
			return nil, nil, err
		}
		setup = append(setup, steps...)
	}
	if needsDev(c) {
		setup = append(setup, planDev(c)...)
	}
	var pivotProp uint64
	if c.Propagation != "" {
		pivotProp = uint64(prop)
	}
	setup = append(setup, Step{Kind: StepPivot, Label: "rootfs: pivot_root (" + rootfs + ")", Flags: pivotProp})
	return setup, planFinalize(c), nil
}

// planMount is mountOne as steps.
func planMount(c *Config, m specs.Mount, label, cgroupFile string) ([]Step, error) {
	o := parseMountOptions(m.Options)
	if m.Type == "bind" || m.Type == "rbind" {
		o.Flags |= unix.MS_BIND
		if m.Type == "rbind" {
			o.Flags |= unix.MS_REC
		}
	}
	if o.CopyUp || o.IDMap || !procDestOK(m, o) {
		return nil, ErrNeedsGoInit
	}
	dest := filepath.Clean("/" + m.Destination)
	switch {
	case o.Flags&unix.MS_BIND != 0:
		st, err := os.Stat(m.Source)
		if err != nil {
			return nil, ErrNeedsGoInit // the Go init words the error
		}
		return []Step{finish(Step{Kind: StepMount, Label: label, Path: dest, Source: m.Source,
			Flags: uint64(unix.MS_BIND | o.Flags&unix.MS_REC), File: !st.IsDir()}, o, o.needsRemount())}, nil
	case m.Type == "cgroup" || m.Type == "cgroup2":
		return planCgroup(c, m, o, dest, label, cgroupFile)
	}
	return []Step{plainStep(m, o, dest, label)}, nil
}

// plainStep is mountPlain as a step.
func plainStep(m specs.Mount, o mountOptions, dest, label string) Step {
	flags := o.Flags
	if dest == "/dev" {
		flags &^= unix.MS_RDONLY // see mountPlain
	}
	return finish(Step{Kind: StepMount, Label: label, Path: dest, Source: m.Source,
		FSType: m.Type, Data: o.Data, Flags: uint64(flags)}, o, false)
}

// finish adds finishMount's work to a mount step.
func finish(s Step, o mountOptions, remount bool) Step {
	s.Remount = remount
	s.RemountFlags = uint64(o.Flags & remountFlags)
	s.Cleared = uint64(o.Cleared)
	s.RecSet, s.RecClr = o.Rec.Set, o.Rec.Clr
	for _, p := range o.Propagation {
		s.Propagation = append(s.Propagation, uint64(p))
	}
	return s
}

// procDestOK is checkProcDest on the destination as written; the executor
// refuses a destination whose symlinks lead into /proc.
func procDestOK(m specs.Mount, o mountOptions) bool {
	rel := filepath.Clean("/" + m.Destination)
	switch {
	case rel == "/proc":
		return m.Type == "proc" || o.Flags&unix.MS_BIND != 0 && isProcfs(m.Source)
	case strings.HasPrefix(rel, "/proc/"):
		return procAllowed[rel]
	}
	return true
}

// planCgroup is mountCgroup as steps.
func planCgroup(c *Config, m specs.Mount, o mountOptions, dest, label, cgroupFile string) ([]Step, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(hostCgroupRoot, &st); err != nil {
		return nil, ErrNeedsGoInit
	}
	own, err := ownCgroupsFrom(cgroupFile)
	if err != nil {
		return nil, err
	}
	if m.Type == "cgroup2" || st.Type == unix.CGROUP2_SUPER_MAGIC {
		s := finish(Step{Kind: StepMount, Label: label, Path: dest, Source: m.Source,
			FSType: "cgroup2", Data: o.Data, Flags: uint64(o.Flags)}, o, false)
		if !c.InCgroupNS {
			s.AltSource = filepath.Join(hostCgroupRoot, own[""])
		}
		return []Step{s}, nil
	}
	hs, err := v1HierarchiesOf(own)
	if err != nil {
		return nil, err
	}
	tmpfs := specs.Mount{Type: "tmpfs", Source: "tmpfs"}
	steps := []Step{plainStep(tmpfs, mountOptions{Flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC,
		Data: "mode=755"}, dest, label+": tmpfs")}
	for _, hy := range hs {
		sub := path.Join(dest, hy.name)
		l := label + ": " + hy.name
		if c.InCgroupNS {
			steps = append(steps, finish(Step{Kind: StepMount, Label: l, Path: sub, Source: "cgroup",
				FSType: "cgroup", Data: hy.controllers,
				Flags: uint64(o.Flags &^ (unix.MS_BIND | unix.MS_REC))}, mountOptions{Propagation: o.Propagation}, false))
			continue
		}
		steps = append(steps, finish(Step{Kind: StepMount, Label: l, Path: sub, Source: hy.source,
			Flags: unix.MS_BIND | unix.MS_REC}, o, o.needsRemount()))
	}
	for _, hy := range hs {
		for _, part := range strings.Split(hy.name, ",") {
			if part == hy.name || strings.HasPrefix(part, "name=") {
				continue
			}
			steps = append(steps, Step{Kind: StepSymlink, Label: label + ": symlink " + part,
				Path: dest, Name: part, Target: hy.name})
		}
	}
	o.Flags &^= unix.MS_BIND | unix.MS_REC
	if o.Flags&unix.MS_RDONLY != 0 || len(o.Propagation) > 0 || !o.Rec.empty() {
		// finishMount of the tmpfs, once its content is in place.
		s := finish(Step{Kind: StepFinish, Label: label, Path: dest}, o, o.Flags&unix.MS_RDONLY != 0)
		steps = append(steps, s)
	}
	return steps, nil
}

// planDev is setupDev as steps: the default nodes, linux.devices, then the
// links.
func planDev(c *Config) []Step {
	var steps []Step
	for _, d := range defaultDevices {
		if !hasDevice(c.Devices, d.Path) {
			steps = append(steps, mknodStep("rootfs: default device "+d.Path, d))
		}
	}
	for i, d := range c.Devices {
		steps = append(steps, mknodStep(fmt.Sprintf("rootfs: linux.devices[%d] (%s)", i, d.Path), d))
	}
	links := devSymlinks
	if _, err := os.Stat("/proc/kcore"); err == nil {
		links = append(links[:len(links):len(links)], [2]string{"core", "/proc/kcore"})
	}
	for _, l := range links {
		steps = append(steps, Step{Kind: StepSymlink, Label: "rootfs: symlink /dev/" + l[0],
			Path: "/dev", Name: l[0], Target: l[1]})
	}
	return append(steps, Step{Kind: StepSymlink, Label: "rootfs: symlink /dev/ptmx",
		Path: "/dev", Name: "ptmx", Target: "pts/ptmx", Replace: true})
}

func mknodStep(label string, d specs.LinuxDevice) Step {
	mode, _ := deviceType(d.Type) // validated with the config
	perm := uint32(0o666)
	if d.FileMode != nil {
		perm = uint32(d.FileMode.Perm())
	}
	s := Step{Kind: StepMknod, Label: label, Path: filepath.Clean("/" + d.Path), Mode: mode | perm,
		Dev: unix.Mkdev(uint32(d.Major), uint32(d.Minor))}
	if d.UID != nil {
		s.UID = *d.UID
	}
	if d.GID != nil {
		s.GID = *d.GID
	}
	return s
}

// planFinalize is Finalize as steps.
func planFinalize(c *Config) []Step {
	var steps []Step
	for i, p := range c.ReadonlyPaths {
		steps = append(steps, Step{Kind: StepReadonly, Label: fmt.Sprintf("finalize rootfs: linux.readonlyPaths[%d] (%s)", i, p), Path: p})
	}
	for i, p := range c.MaskedPaths {
		steps = append(steps, Step{Kind: StepMask, Label: fmt.Sprintf("finalize rootfs: linux.maskedPaths[%d] (%s)", i, p), Path: p})
	}
	if devReadonly(c) {
		steps = append(steps, Step{Kind: StepFinish, Label: "finalize rootfs: mounts (/dev ro)", Path: "/dev",
			Remount: true, RemountFlags: unix.MS_RDONLY})
	}
	if c.Readonly {
		steps = append(steps, Step{Kind: StepFinish, Label: "finalize rootfs: root.readonly", Path: "/",
			Remount: true, RemountFlags: unix.MS_RDONLY})
	}
	return steps
}
