package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// A container without a mount namespace (config-linux.md: it then inherits
// the runtime's) has its mounts made in the host's mount namespace. berth
// confines them under one private bind mount of the rootfs onto itself,
// made by the runtime's parent before the init starts (BindHostRootfs):
//
//   - "/" and every other host mount keep their propagation: nothing is made
//     slave or private but that bind;
//   - being private, nothing mounted under it propagates to other mount
//     namespaces, and every destination is still resolved inside the
//     rootfs through handles;
//   - detaching that one mount (DetachHostRootfs, at delete or when create
//     fails) takes every mount of the container away with it.
//
// The init enters the rootfs with chroot (pivot_root needs a mount
// namespace of its own), and a process exec'd later is chrooted into the
// same bind (OpenHostRootfs). A chroot is weaker than pivot_root: a process
// with CAP_SYS_CHROOT can leave it, so such a container is only as isolated
// as its capabilities allow.

// MountID identifies a mount: the kernel's unique, never reused mount id
// where it has one (Linux 6.8+), else the classic one.
func MountID(f *os.File) (uint64, error) {
	var stx unix.Statx_t
	mask := unix.STATX_MNT_ID_UNIQUE | unix.STATX_MNT_ID
	if err := unix.Statx(int(f.Fd()), "", unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW, mask, &stx); err != nil {
		return 0, fmt.Errorf("statx %s: %w", f.Name(), err)
	}
	if stx.Mask&(unix.STATX_MNT_ID_UNIQUE|unix.STATX_MNT_ID) == 0 {
		return 0, fmt.Errorf("statx %s: the kernel reports no mount id", f.Name())
	}
	if stx.Attributes_mask&unix.STATX_ATTR_MOUNT_ROOT != 0 && stx.Attributes&unix.STATX_ATTR_MOUNT_ROOT == 0 {
		return 0, fmt.Errorf("%s: not the root of a mount", f.Name())
	}
	return stx.Mnt_id, nil
}

// BindHostRootfs bind-mounts rootfs onto itself in the caller's (the
// host's) mount namespace and makes that bind and everything under it
// private. It returns the bind's MountID, which DetachHostRootfs and
// OpenHostRootfs check before acting on the path.
func BindHostRootfs(rootfs string) (uint64, error) {
	real, err := realRootfs(rootfs)
	if err != nil {
		return 0, err
	}
	if err := sysMount(real, real, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return 0, fmt.Errorf("root.path (%s): bind onto itself: %w", real, err)
	}
	f, err := openRoot(real)
	if err == nil {
		defer f.Close()
		err = sysMount("", fdPath(f.dir), "", unix.MS_PRIVATE|unix.MS_REC, "")
	}
	var id uint64
	if err == nil {
		id, err = MountID(f.dir)
	}
	if err != nil {
		_ = unix.Unmount(real, unix.MNT_DETACH)
		return 0, fmt.Errorf("root.path (%s): private bind: %w", real, err)
	}
	return id, nil
}

// ErrHostRootfsGone is returned by OpenHostRootfs when the rootfs path no
// longer leads to the container's bind (unmounted, or covered by another
// mount).
var ErrHostRootfsGone = errors.New("the container's rootfs bind mount is not at its path")

// OpenHostRootfs opens the bind made by BindHostRootfs (O_PATH), checking
// it is the mount with the given id.
func OpenHostRootfs(rootfs string, id uint64) (*os.File, error) {
	real, err := filepath.EvalSymlinks(rootfs)
	if err != nil {
		return nil, fmt.Errorf("root.path (%s): %w", rootfs, err)
	}
	f, err := os.OpenFile(real, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("root.path (%s): %w", real, err)
	}
	if got, err := MountID(f); err != nil || got != id {
		f.Close()
		return nil, fmt.Errorf("root.path (%s): %w", real, ErrHostRootfsGone)
	}
	return f, nil
}

// DetachHostRootfs lazily unmounts the bind made by BindHostRootfs, and so
// every mount the container made under it. A bind that is already gone is
// not an error.
func DetachHostRootfs(rootfs string, id uint64) error {
	f, err := OpenHostRootfs(rootfs, id)
	if errors.Is(err, ErrHostRootfsGone) || errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	// Through the handle: the path could be swapped between the check and
	// the unmount, the mount the handle is on cannot.
	if err := unix.Unmount(fdPath(f), unix.MNT_DETACH); err != nil {
		return fmt.Errorf("root.path (%s): detach: %w", rootfs, err)
	}
	return nil
}

// chrootRoot enters the rootfs with chroot: the container shares the host's
// mount namespace, where pivot_root would change the host's "/".
func chrootRoot(r *root) error {
	return ChrootFd(int(r.dir.Fd()))
}

// ChrootFd makes the directory at fd the root and the cwd. It is how the
// init, and later a process exec'd into the container, enter the rootfs
// bind of a container without a mount namespace.
func ChrootFd(fd int) error {
	if err := unix.Fchdir(fd); err != nil {
		return fmt.Errorf("chdir to rootfs: %w", err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("chroot: %w", err)
	}
	return unix.Chdir("/")
}

// checkHostRootfs makes sure the rootfs is a mount of its own (the bind of
// BindHostRootfs) before anything is mounted under it: without it, the
// mounts would land on whatever host mount holds the rootfs directory.
func checkHostRootfs(r *root) error {
	if _, err := MountID(r.dir); err != nil {
		return fmt.Errorf("root.path (%s): no mount namespace and the rootfs is not bind-mounted by berth: %w", r.path, err)
	}
	return nil
}
