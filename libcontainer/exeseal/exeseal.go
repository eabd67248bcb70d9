// Package exeseal gives the container init a copy-free, read-only view of
// the berth binary to run from, so that nothing inside the container can
// write to the runtime through /proc/<pid>/exe (CVE-2019-5736).
//
// The view is a detached bind mount of the binary (open_tree with
// OPEN_TREE_CLONE), made read-only with mount_setattr: /proc/<pid>/exe of a
// process started from it resolves into that mount, and reopening it for
// writing fails with EROFS, even after the process has exited. The mount is
// attached nowhere, so the container cannot reach it by any path; it goes
// away with the last fd. No bytes are copied: it costs three syscalls.
//
// Where the kernel lacks open_tree/mount_setattr (before 5.12) or refuses
// them (no CAP_SYS_ADMIN), Open falls back to a sealed memfd copy of the
// binary, which costs a copy of the binary per start.
package exeseal

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// Open returns an O_PATH fd of a read-only view of the running binary, with
// close-on-exec set and a number >= minFd (so that a child's fd layout
// below minFd cannot cover it before exec).
func Open(minFd int) (*os.File, error) {
	fd, err := cloneReadOnly()
	if err != nil {
		fd, err = sealedCopy()
		if err != nil {
			return nil, err
		}
	}
	high, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, minFd)
	unix.Close(fd)
	if err != nil {
		return nil, fmt.Errorf("exeseal: dup: %w", err)
	}
	return os.NewFile(uintptr(high), "berth-exe"), nil
}

// cloneReadOnly makes a detached, read-only bind mount of /proc/self/exe.
func cloneReadOnly() (int, error) {
	fd, err := unix.OpenTree(unix.AT_FDCWD, "/proc/self/exe", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("exeseal: open_tree: %w", err)
	}
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV}
	if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, &attr); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("exeseal: mount_setattr: %w", err)
	}
	return fd, nil
}

// sealedCopy copies the binary into a memfd sealed against every change.
func sealedCopy() (int, error) {
	src, err := os.Open("/proc/self/exe")
	if err != nil {
		return -1, fmt.Errorf("exeseal: %w", err)
	}
	defer src.Close()
	fd, err := unix.MemfdCreate("berth-exe", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return -1, fmt.Errorf("exeseal: memfd_create: %w", err)
	}
	dst := os.NewFile(uintptr(fd), "memfd")
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return -1, fmt.Errorf("exeseal: copy binary: %w", err)
	}
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		dst.Close()
		return -1, fmt.Errorf("exeseal: seal memfd: %w", err)
	}
	// Hand back a plain fd; dst must not close it when collected.
	nfd, err := unix.Dup(fd)
	dst.Close()
	if err != nil {
		return -1, errors.Join(errors.New("exeseal: dup memfd"), err)
	}
	return nfd, nil
}
