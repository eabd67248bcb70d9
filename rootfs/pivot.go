package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// prepareRoot makes the rootfs a mount point of its own. "/" becomes
// rslave (or the configured propagation) first, so that nothing mounted
// from now on propagates back to the host.
func prepareRoot(rootfs, propagation string) error {
	flags, ok := parsePropagation(propagation)
	if !ok {
		return fmt.Errorf("linux.rootfsPropagation: unknown value %q", propagation)
	}
	if err := sysMount("", "/", "", flags, ""); err != nil {
		return fmt.Errorf("linux.rootfsPropagation (%s): set on /: %w", propagation, err)
	}
	if err := parentMountPrivate(rootfs); err != nil {
		return fmt.Errorf("root.path (%s): %w", rootfs, err)
	}
	if err := sysMount(rootfs, rootfs, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("root.path (%s): bind onto itself: %w", rootfs, err)
	}
	return nil
}

// parentMountPrivate makes the mount holding the rootfs private, as runc
// does, whatever its propagation was:
//   - shared: pivot_root (and MS_MOVE) refuse a new root whose parent mount
//     is shared, which it is with rootfsPropagation (r)shared;
//   - unbindable: the bind of the rootfs onto itself fails with EINVAL
//     when the rootfs lies on a mount made unbindable by rootfsPropagation
//     "unbindable" (e.g. the rootfs is on "/");
//   - slave (the default): nothing is lost, the parent is left behind at
//     pivot_root and the rootfs bind takes its own propagation from
//     linux.rootfsPropagation again after the pivot.
//
// The mount is found by walking up from the rootfs: MS_PRIVATE on a path
// that is not a mount point fails with EINVAL. This costs a few syscalls,
// where reading mountinfo would cost a parse of every mount of the host.
func parentMountPrivate(rootfs string) error {
	for p := rootfs; ; p = filepath.Dir(p) {
		err := sysMount("", p, "", unix.MS_PRIVATE, "")
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EINVAL) || p == "/" {
			return fmt.Errorf("make parent mount %s private: %w", p, err)
		}
	}
}

// pivotRoot makes the rootfs "/" with pivot_root(".", "."): the old root
// ends up stacked on the new one, and is detached from there, so no path in
// the container leads back to the host. The cwd moves to the new "/".
func pivotRoot(r *root) error {
	oldRoot, err := os.OpenFile("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open old root: %w", err)
	}
	defer oldRoot.Close()
	if err := unix.Fchdir(int(r.dir.Fd())); err != nil {
		return fmt.Errorf("chdir to rootfs: %w", err)
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	// The cwd is the new root, the old one is on top of it: step onto the
	// old one so that "." names it.
	if err := unix.Fchdir(int(oldRoot.Fd())); err != nil {
		return fmt.Errorf("chdir to old root: %w", err)
	}
	// Slave first, so that the unmount does not propagate to the host.
	if err := sysMount("", ".", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("make old root rslave: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach old root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir /: %w", err)
	}
	return nil
}

// moveRoot is the --no-pivot path (e.g. a rootfs on ramfs, where pivot_root
// is refused): MS_MOVE the rootfs onto "/" and chroot into it. The host's
// mounts stay in the namespace under the chroot; the procfs and sysfs ones
// are hidden first, because the kernel checks them when the container
// mounts a new procfs or sysfs and they would otherwise be reachable by
// escaping the chroot.
func moveRoot(r *root) error {
	if err := hideHostProcSys(r.path); err != nil {
		return err
	}
	if err := unix.Fchdir(int(r.dir.Fd())); err != nil {
		return fmt.Errorf("chdir to rootfs: %w", err)
	}
	if err := sysMount(r.path, "/", "", unix.MS_MOVE, ""); err != nil {
		return fmt.Errorf("move rootfs onto /: %w", err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("chroot: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir /: %w", err)
	}
	return nil
}

// hideHostProcSys detaches every full procfs/sysfs mount outside the
// rootfs; where that is not allowed (locked in a user namespace) it covers
// it with an empty tmpfs instead.
func hideHostProcSys(rootfs string) error {
	mounts, err := mountinfo.GetMounts(func(m *mountinfo.Info) (bool, bool) {
		skip := m.Root != "/" || m.FSType != "proc" && m.FSType != "sysfs" ||
			m.Mountpoint == rootfs || strings.HasPrefix(m.Mountpoint, rootfs+"/")
		return skip, false
	})
	if err != nil {
		return fmt.Errorf("read mountinfo: %w", err)
	}
	for i := len(mounts) - 1; i >= 0; i-- { // children before parents
		p := mounts[i].Mountpoint
		if err := sysMount("", p, "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
			if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EINVAL) {
				continue // gone with an earlier detach
			}
			return fmt.Errorf("make %s rslave: %w", p, err)
		}
		err := unix.Unmount(p, unix.MNT_DETACH)
		if err == nil {
			continue
		}
		if !errors.Is(err, unix.EPERM) && !errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("detach %s: %w", p, err)
		}
		if err := sysMount("tmpfs", p, "tmpfs", unix.MS_RDONLY, ""); err != nil {
			return fmt.Errorf("cover %s: %w", p, err)
		}
	}
	return nil
}
