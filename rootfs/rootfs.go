// Package rootfs builds the container's filesystem view: everything from
// "we are in a new mount namespace" to "we are pivoted into the rootfs".
// It is one list of steps (plan.go): Setup and Finalize compile and run
// them inside a Go container init (exec.go); Plan compiles them in the
// runtime's parent for the C stub, which runs them instead for most
// configs (nsenter/plan.c). Besides Plan, only PrepareIDMapped and the
// host-rootfs bind (hostns.go) run in the parent. It imports nothing of
// berth but libcontainer leaves.
package rootfs

import (
	"fmt"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Config is what the init passes in: the parts of config.json that shape the
// filesystem, already validated.
type Config struct {
	// Rootfs is the absolute host path of root.path.
	Rootfs string
	// Readonly is root.readonly.
	Readonly bool
	// Propagation is linux.rootfsPropagation ("" means the runc default).
	Propagation string
	// Mounts is config.json's mounts, in order.
	Mounts []specs.Mount
	// Devices is linux.devices (added to the default set).
	Devices []specs.LinuxDevice
	// NoPivot uses MS_MOVE + chroot instead of pivot_root (--no-pivot).
	NoPivot bool
	// MaskedPaths and ReadonlyPaths are linux.maskedPaths / linux.readonlyPaths.
	MaskedPaths   []string
	ReadonlyPaths []string
	// InUserNS is true when the container has a new user namespace (mknod is
	// not allowed there: devices are bind-mounted from the host instead).
	InUserNS bool
	// InCgroupNS is true when the container has its own cgroup namespace.
	InCgroupNS bool
	// HostMountNS is true when the container has no mount namespace: the
	// parent has bind-mounted the rootfs privately onto itself
	// (BindHostRootfs), Setup leaves the host's "/" alone, mounts under
	// that bind and enters it with chroot (see hostns.go).
	HostMountNS bool
	// IDMapFds maps the index of an id-mapped bind in Mounts to the fd of
	// its detached, already id-mapped tree, made by PrepareIDMapped in the
	// runtime's parent (only it has the privilege on the source's
	// filesystem); the mount is moved from there onto its destination.
	IDMapFds map[int]int
	// Hooks stops the setup once the mounts and /dev are in place, before
	// pivot_root, where the OCI prestart, createRuntime and createContainer
	// hooks belong (StepHook). The C stub has the parent run the first two;
	// the Go init calls BeforePivot, which runs all three.
	Hooks       bool
	BeforePivot func() error `json:"-"`
}

// Setup prepares the rootfs and pivots into it. It must run in the
// container's own mount namespace (the nsenter stub unshared it), as root
// there, and in this order, each step needing the previous one:
//
//  1. "/" becomes rslave (or linux.rootfsPropagation), so nothing below
//     reaches the host;
//  2. the rootfs is bind-mounted onto itself: pivot_root needs a mount point,
//     and every later step works through a handle on that mount;
//  3. mounts[], in order, each destination resolved inside the rootfs;
//  4. /dev nodes and symlinks, unless /dev is a bind of the host's /dev: they
//     go into the /dev and /dev/pts mounted in step 3; then BeforePivot;
//  5. pivot_root (or MS_MOVE + chroot with NoPivot), then the configured
//     propagation is applied again to the new "/".
//
// Without a mount namespace (HostMountNS) steps 1 and 2 are the parent's
// private bind of the rootfs, checked here, and step 5 is a chroot.
//
// The steps are compiled first (plan.go: the C stub runs the same steps
// for most configs) and then executed (exec.go). On return the cwd is the
// new "/". Console setup (MountConsole) and then Finalize come next.
func Setup(c *Config) error {
	steps, err := compileSetup(c, "/proc/self/cgroup")
	if err != nil {
		return err
	}
	x := executor{c: c}
	defer x.close()
	return x.run(steps)
}

// realRootfs checks root.path and resolves its symlinks once, so that the
// kernel's view of a path (read back from /proc/self/fd) can be compared
// with it.
func realRootfs(path string) (string, error) {
	if !filepath.IsAbs(path) {
		return "", fmt.Errorf("root.path (%s): not absolute", path)
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", fmt.Errorf("root.path (%s): %w", path, err)
	}
	return real, nil
}

// Finalize applies what must come last, after Setup and MountConsole (which
// may need to create /dev/console, impossible once /dev or "/" is read-only):
// readonlyPaths, then maskedPaths (through the container's /dev/null, so
// after Setup made it), then a read-only /dev if mounts[] asked for one (it
// had to stay writable for the nodes), then the read-only root. Paths are
// resolved inside the new "/"; missing ones are skipped. The container's
// /proc must be mounted: mounts go through /proc/self/fd handles.
func Finalize(c *Config) error {
	x := executor{c: c}
	defer x.close()
	return x.run(compileFinalize(c))
}

// devReadonly reports whether the last mount on /dev asked for "ro".
func devReadonly(c *Config) bool {
	ro := false
	for _, m := range c.Mounts {
		if filepath.Clean(m.Destination) == "/dev" && needsDev(c) {
			ro = parseMountOptions(m.Options).Flags&unix.MS_RDONLY != 0
		}
	}
	return ro
}
