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

// This file describes Setup and Finalize as primitive steps, once, for two
// executors: the C stub (nsenter/plan.h), so that no Go runtime has to
// start in the container, and the Go init (exec.go), for what the C stub
// cannot do. The runtime's parent compiles the C stub's steps before the
// init runs, from the same mount namespace the init starts in, so what
// Setup looks up on the host (the source of a bind, the cgroup
// hierarchies, /proc/kcore) it looks up there. Decisions about the
// rootfs's own content (symlinks, existing files) stay with the executors:
// they can change with each mount.

// StepKind names a primitive step.
type StepKind int

// The steps. Both executors run the first nine (plan.h describes what
// each does); the rest only the Go init.
const (
	StepRoot StepKind = iota + 1
	StepMount
	StepMknod
	StepSymlink
	StepPivot
	StepReadonly
	StepMask
	StepFinish
	// StepHook stops for the hooks (Config.Hooks).
	StepHook
	// StepHostRoot checks the parent's private bind of the rootfs (no
	// mount namespace: HostMountNS) and opens it, instead of StepRoot.
	StepHostRoot
	// StepMoveRoot (--no-pivot) and StepChroot (HostMountNS) enter the
	// rootfs instead of StepPivot.
	StepMoveRoot
	StepChroot
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
	// Mount, Go init only: CopyUp fills the new tmpfs with what it covers
	// (tmpcopyup); IDMapFd, when set, is the detached id-mapped tree to
	// move onto Path instead of mounting Source.
	CopyUp  bool
	IDMapFd int
	// Mknod: Mode (type and permissions), Dev, owner UID/GID.
	Mode     uint32
	Dev      uint64
	UID, GID uint32
	// Symlink: Name in Path pointing to Target; Replace unlinks first.
	Name, Target string
	Replace      bool
}

// ErrNeedsGoInit says a config needs what only the Go init does
// (id-mapped mounts, tmpcopyup, --no-pivot, no mount namespace).
var ErrNeedsGoInit = errors.New("needs the Go init")

// Plan compiles Setup (root, mounts, /dev, pivot) and Finalize
// (readonlyPaths, maskedPaths, read-only /dev and root) of c into steps
// for the C stub, labelled as the Go init's errors read. cgroupFile is
// /proc/<pid>/cgroup of the init-to-be, already placed in its cgroups. It
// returns ErrNeedsGoInit for what the stub cannot do, and for a config
// the compiler refuses: the Go init then words the error.
func Plan(c *Config, cgroupFile string) (setup, final []Step, err error) {
	if c.HostMountNS || c.NoPivot || len(c.IDMapFds) > 0 {
		return nil, nil, ErrNeedsGoInit
	}
	for _, m := range c.Mounts {
		if IDMapped(m) {
			return nil, nil, ErrNeedsGoInit
		}
	}
	setup, err = compileSetup(c, cgroupFile)
	if err != nil {
		return nil, nil, ErrNeedsGoInit
	}
	for i := range setup {
		s := &setup[i]
		if s.Kind > StepHook || s.CopyUp {
			return nil, nil, ErrNeedsGoInit
		}
		if s.Kind == StepMount && s.Flags&unix.MS_BIND != 0 && s.FSType == "" {
			st, err := os.Stat(s.Source)
			if err != nil {
				return nil, nil, ErrNeedsGoInit // the Go init words the error
			}
			s.File = !st.IsDir()
		}
		s.Label = "rootfs: " + s.Label
	}
	final = compileFinalize(c)
	for i := range final {
		final[i].Label = "finalize rootfs: " + final[i].Label
	}
	return setup, final, nil
}

// compileSetup is Setup as steps. cgroupFile is /proc/<pid>/cgroup of the
// init.
func compileSetup(c *Config, cgroupFile string) ([]Step, error) {
	rootfs, err := realRootfs(c.Rootfs)
	if err != nil {
		return nil, err
	}
	prop, ok := parsePropagation(c.Propagation)
	if !ok {
		return nil, fmt.Errorf("linux.rootfsPropagation: unknown value %q", c.Propagation)
	}
	rootLabel := "root.path (" + rootfs + ")"
	steps := []Step{{Kind: StepRoot, Label: rootLabel, Path: rootfs, Flags: uint64(prop)}}
	if c.HostMountNS {
		steps[0].Kind = StepHostRoot
	}
	for i, m := range c.Mounts {
		label := fmt.Sprintf("mounts[%d] (%s on %s)", i, m.Type, m.Destination)
		ms, err := compileMount(c, i, m, label, cgroupFile)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", label, err)
		}
		steps = append(steps, ms...)
	}
	if needsDev(c) {
		steps = append(steps, compileDev(c)...)
	}
	if c.Hooks {
		steps = append(steps, Step{Kind: StepHook, Label: "hooks"})
	}
	enter := Step{Kind: StepPivot, Label: "pivot_root (" + rootfs + ")"}
	switch {
	case c.HostMountNS:
		enter = Step{Kind: StepChroot, Label: "chroot (" + rootfs + ")"}
	case c.NoPivot:
		enter.Kind, enter.Label = StepMoveRoot, "no-pivot move ("+rootfs+")"
	}
	if c.Propagation != "" && !c.HostMountNS {
		enter.Flags = uint64(prop) // applied again to the new "/"
	}
	return append(steps, enter), nil
}

// compileMount is mounts[i] as steps.
func compileMount(c *Config, i int, m specs.Mount, label, cgroupFile string) ([]Step, error) {
	o := parseMountOptions(m.Options)
	if m.Type == "bind" || m.Type == "rbind" {
		o.Flags |= unix.MS_BIND
		if m.Type == "rbind" {
			o.Flags |= unix.MS_REC
		}
	}
	dest := filepath.Clean("/" + m.Destination)
	if err := checkProcDest(dest, m, o); err != nil {
		return nil, err
	}
	switch {
	case c.IDMapFds[i] > 0:
		return []Step{withFinish(Step{Kind: StepMount, Label: label, Path: dest, IDMapFd: c.IDMapFds[i]},
			o, o.needsRemount())}, nil
	case o.Flags&unix.MS_BIND != 0:
		return []Step{withFinish(Step{Kind: StepMount, Label: label, Path: dest, Source: m.Source,
			Flags: uint64(unix.MS_BIND | o.Flags&unix.MS_REC)}, o, o.needsRemount())}, nil
	case m.Type == "cgroup" || m.Type == "cgroup2":
		return compileCgroup(c, m, o, dest, label, cgroupFile)
	}
	return []Step{plainStep(m, o, dest, label)}, nil
}

// plainStep mounts a filesystem (proc, sysfs, tmpfs, devpts, mqueue, ...).
func plainStep(m specs.Mount, o mountOptions, dest, label string) Step {
	flags := o.Flags
	if dest == "/dev" {
		// /dev must stay writable for the device nodes; Finalize makes it
		// read-only afterwards when asked.
		flags &^= unix.MS_RDONLY
	}
	if o.CopyUp {
		// The copy needs a writable tmpfs; the remount makes it read-only.
		return withFinish(Step{Kind: StepMount, Label: label, Path: dest, Source: m.Source, FSType: m.Type,
			Data: o.Data, Flags: uint64(flags &^ unix.MS_RDONLY), CopyUp: true}, o, flags&unix.MS_RDONLY != 0)
	}
	return withFinish(Step{Kind: StepMount, Label: label, Path: dest, Source: m.Source,
		FSType: m.Type, Data: o.Data, Flags: uint64(flags)}, o, false)
}

// withFinish adds to a mount step what only works on the new mount itself:
// the remount of a bind (MS_BIND ignores the other flags), the recursive
// attributes, and the propagation flags (mount(2) takes them in a call of
// their own).
func withFinish(s Step, o mountOptions, remount bool) Step {
	s.Remount = remount
	s.RemountFlags = uint64(o.Flags & remountFlags)
	s.Cleared = uint64(o.Cleared)
	s.RecSet, s.RecClr = o.Rec.Set, o.Rec.Clr
	for _, p := range o.Propagation {
		s.Propagation = append(s.Propagation, uint64(p))
	}
	return s
}

// procAllowed are the only places under /proc something may be mounted on:
// the files lxcfs emulates. Anything else could cover a /proc file whose
// writes the kernel trusts (CVE-2019-16884 and kin).
var procAllowed = map[string]bool{
	"/proc/cpuinfo":                   true,
	"/proc/diskstats":                 true,
	"/proc/meminfo":                   true,
	"/proc/stat":                      true,
	"/proc/swaps":                     true,
	"/proc/uptime":                    true,
	"/proc/loadavg":                   true,
	"/proc/slabinfo":                  true,
	"/proc/sys/kernel/ns_last_pid":    true,
	"/proc/sys/fs/binfmt_misc":        true,
	"/proc/pressure/cpu":              true,
	"/proc/pressure/io":               true,
	"/proc/pressure/memory":           true,
	"/proc/sys/kernel/random/boot_id": true,
}

// checkProcDest refuses mounts on or under /proc other than a procfs on
// /proc itself and the lxcfs files, for the destination as written. The
// executors refuse a destination whose symlinks lead into /proc.
func checkProcDest(dest string, m specs.Mount, o mountOptions) error {
	switch {
	case dest == "/proc":
		if m.Type == "proc" || o.Flags&unix.MS_BIND != 0 && isProcfs(m.Source) {
			return nil
		}
		return fmt.Errorf("only a procfs may be mounted on /proc")
	case strings.HasPrefix(dest, "/proc/") && !procAllowed[dest]:
		return fmt.Errorf("%s is inside /proc, where mounts are not allowed", dest)
	}
	return nil
}

func isProcfs(path string) bool {
	var st unix.Statfs_t
	return unix.Statfs(path, &st) == nil && st.Type == unix.PROC_SUPER_MAGIC
}

// compileCgroup is a "cgroup" mount: cgroup2 on a unified host (or when
// asked for by type), else the v1 layout: a tmpfs, in it one bind of the
// init's cgroup per hierarchy (or, with a cgroup namespace, a fresh cgroup
// mount, which the namespace roots at that cgroup), then the
// "cpu -> cpu,cpuacct" symlinks; the tmpfs becomes read-only last, once
// its content is in place. Without a cgroup namespace the kernel may
// refuse cgroup2 (EPERM in a user namespace, EBUSY): the container then
// gets a bind of its own cgroup directory (AltSource).
func compileCgroup(c *Config, m specs.Mount, o mountOptions, dest, label, cgroupFile string) ([]Step, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(hostCgroupRoot, &st); err != nil {
		return nil, fmt.Errorf("statfs %s: %w", hostCgroupRoot, err)
	}
	own, err := ownCgroupsFrom(cgroupFile)
	if err != nil {
		return nil, err
	}
	if m.Type == "cgroup2" || st.Type == unix.CGROUP2_SUPER_MAGIC {
		s := withFinish(Step{Kind: StepMount, Label: label, Path: dest, Source: m.Source,
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
			steps = append(steps, withFinish(Step{Kind: StepMount, Label: l, Path: sub, Source: "cgroup",
				FSType: "cgroup", Data: hy.controllers,
				Flags: uint64(o.Flags &^ (unix.MS_BIND | unix.MS_REC))}, mountOptions{Propagation: o.Propagation}, false))
			continue
		}
		steps = append(steps, withFinish(Step{Kind: StepMount, Label: l, Path: sub, Source: hy.source,
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
		s := withFinish(Step{Kind: StepFinish, Label: label, Path: dest}, o, o.Flags&unix.MS_RDONLY != 0)
		steps = append(steps, s)
	}
	return steps, nil
}

// compileDev populates /dev: the default nodes, linux.devices (an entry
// there with the path of a default node wins), then the links. It comes
// after all mounts, since /dev (and /dev/pts for ptmx) are mounts
// themselves.
func compileDev(c *Config) []Step {
	var steps []Step
	for _, d := range defaultDevices {
		if !hasDevice(c.Devices, d.Path) {
			steps = append(steps, deviceStep(c, "default device "+d.Path, d))
		}
	}
	for i, d := range c.Devices {
		steps = append(steps, deviceStep(c, fmt.Sprintf("linux.devices[%d] (%s)", i, d.Path), d))
	}
	links := devSymlinks
	if _, err := os.Stat("/proc/kcore"); err == nil {
		links = append(links[:len(links):len(links)], [2]string{"core", "/proc/kcore"})
	}
	for _, l := range links {
		steps = append(steps, Step{Kind: StepSymlink, Label: "symlink /dev/" + l[0],
			Path: "/dev", Name: l[0], Target: l[1]})
	}
	// The container's ptys come from its own devpts instance.
	return append(steps, Step{Kind: StepSymlink, Label: "symlink /dev/ptmx",
		Path: "/dev", Name: "ptmx", Target: "pts/ptmx", Replace: true})
}

// deviceStep makes one node with the exact mode of the config (no umask),
// owned as asked; an existing node is kept, as runc does. In a user
// namespace, where mknod is not allowed, the host's node at the same path
// is bound onto an empty file instead (a fifo can still be made).
func deviceStep(c *Config, label string, d specs.LinuxDevice) Step {
	mode, _ := deviceType(d.Type) // validated with the config
	path := filepath.Clean("/" + d.Path)
	if c.InUserNS && mode != unix.S_IFIFO {
		return Step{Kind: StepMount, Label: label, Path: path, Source: d.Path, Flags: unix.MS_BIND}
	}
	perm := uint32(0o666)
	if d.FileMode != nil {
		perm = uint32(d.FileMode.Perm())
	}
	s := Step{Kind: StepMknod, Label: label, Path: path, Mode: mode | perm,
		Dev: unix.Mkdev(uint32(d.Major), uint32(d.Minor))}
	if d.UID != nil {
		s.UID = *d.UID
	}
	if d.GID != nil {
		s.GID = *d.GID
	}
	return s
}

// compileFinalize is Finalize as steps: readonlyPaths, then maskedPaths
// (through the container's /dev/null, so after Setup made it), then a
// read-only /dev if mounts[] asked for one (it had to stay writable for
// the nodes), then the read-only root.
func compileFinalize(c *Config) []Step {
	var steps []Step
	for i, p := range c.ReadonlyPaths {
		steps = append(steps, Step{Kind: StepReadonly, Label: fmt.Sprintf("linux.readonlyPaths[%d] (%s)", i, p), Path: p})
	}
	for i, p := range c.MaskedPaths {
		steps = append(steps, Step{Kind: StepMask, Label: fmt.Sprintf("linux.maskedPaths[%d] (%s)", i, p), Path: p})
	}
	if devReadonly(c) {
		steps = append(steps, Step{Kind: StepFinish, Label: "mounts (/dev ro)", Path: "/dev",
			Remount: true, RemountFlags: unix.MS_RDONLY})
	}
	if c.Readonly {
		steps = append(steps, Step{Kind: StepFinish, Label: "root.readonly", Path: "/",
			Remount: true, RemountFlags: unix.MS_RDONLY})
	}
	return steps
}
