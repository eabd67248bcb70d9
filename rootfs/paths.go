package rootfs

import (
	"errors"
	"fmt"
	"os"

	securejoin "github.com/cyphar/filepath-securejoin"
	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"
)

// These run after the pivot: "/" is the container's root, so every path is
// resolved inside it, and /proc/self/fd is the container's procfs.

// openInNewRoot opens an O_PATH handle on p, resolved inside "/".
func openInNewRoot(p string) (*os.File, error) {
	return pathrs.OpenInRoot("/", p)
}

// readonlyPath makes p read-only: a bind of p onto itself, then a remount.
// A path that does not exist is skipped.
func readonlyPath(p string) error {
	h, err := openInNewRoot(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	err = mountOn(fdPath(h), h, "", unix.MS_BIND|unix.MS_REC, "")
	h.Close()
	if err != nil {
		return err
	}
	return remountReadonly(p)
}

// remountReadonly remounts the mount on top of p read-only, keeping its
// nosuid/nodev/noexec flags (see remountBind).
func remountReadonly(p string) error {
	h, err := openInNewRoot(p)
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	defer h.Close()
	return remountBind(h, unix.MS_RDONLY, 0)
}

// maskPath hides p: a directory gets an empty read-only tmpfs, anything else
// the container's /dev/null bound over it. A path that does not exist is
// skipped.
func maskPath(p string, devNull *os.File) error {
	h, err := openInNewRoot(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	defer h.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(h.Fd()), &st); err != nil {
		return fmt.Errorf("stat: %w", err)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return mountOn("tmpfs", h, "tmpfs", unix.MS_RDONLY, "")
	}
	return mountOn(fdPath(devNull), h, "", unix.MS_BIND, "")
}

// openDevNull opens the container's /dev/null for masking and checks it is
// the real 1:3 char device: binding a look-alike (a symlink or a file the
// image put there) over a masked path would expose, or make writable, what
// masking should hide (CVE-2025-31133).
func openDevNull() (*os.File, error) {
	h, err := openInNewRoot("/dev/null")
	if err != nil {
		return nil, fmt.Errorf("open /dev/null: %w", err)
	}
	if err := checkCharDev(h, 1, 3); err != nil {
		h.Close()
		return nil, fmt.Errorf("/dev/null: %w", err)
	}
	return h, nil
}

func checkCharDev(h *os.File, major, minor uint32) error {
	var st unix.Stat_t
	if err := unix.Fstat(int(h.Fd()), &st); err != nil {
		return fmt.Errorf("stat: %w", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR ||
		unix.Major(st.Rdev) != major || unix.Minor(st.Rdev) != minor {
		return fmt.Errorf("not the %d:%d char device", major, minor)
	}
	return nil
}

// MountConsole bind-mounts the pty slave at slavePath onto /dev/console,
// creating /dev/console as an empty file if it is missing. It runs after
// Setup (the slave comes from the container's own devpts, reached through
// /dev/ptmx) and before Finalize (a read-only root would forbid creating
// /dev/console). The target must be a regular file or a char device, never
// a symlink, so the bind cannot be redirected.
func MountConsole(slavePath string) error {
	h, err := consoleTarget()
	if err != nil {
		return fmt.Errorf("console: /dev/console: %w", err)
	}
	defer h.Close()
	if err := mountOn(slavePath, h, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("console: bind %s onto /dev/console: %w", slavePath, err)
	}
	return nil
}

// consoleTarget returns an O_PATH handle on /dev/console, made an empty file
// first if missing. It never opens an existing node for real: opening a tty
// has side effects.
func consoleTarget() (*os.File, error) {
	dev, err := openInNewRoot("/dev")
	if err != nil {
		return nil, fmt.Errorf("open /dev: %w", err)
	}
	defer dev.Close()
	fd, err := unix.Openat(int(dev.Fd()), "console",
		unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_RDONLY|unix.O_CLOEXEC, 0o600)
	if err == nil {
		unix.Close(fd)
	} else if !errors.Is(err, unix.EEXIST) {
		return nil, fmt.Errorf("create: %w", err)
	}
	fd, err = unix.Openat(int(dev.Fd()), "console", unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	h := os.NewFile(uintptr(fd), "/dev/console")
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		h.Close()
		return nil, fmt.Errorf("stat: %w", err)
	}
	if t := st.Mode & unix.S_IFMT; t != unix.S_IFREG && t != unix.S_IFCHR {
		h.Close()
		return nil, fmt.Errorf("not a file or char device")
	}
	return h, nil
}

// MakeCwd creates process.cwd if it is missing. It runs after the pivot,
// and the path is resolved inside "/" through handles, its symlinks
// followed as the container would see them: a dangling link to a host path
// ("/work" -> "/srv/host") makes that path inside the rootfs.
func MakeCwd(cwd string) error {
	root, err := os.OpenFile("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer root.Close()
	// SecureJoin first: MkdirAllHandle refuses to go through a dangling
	// symlink, which SecureJoin resolves inside "/".
	resolved, err := securejoin.SecureJoin("/", cwd)
	if err != nil {
		return err
	}
	h, err := pathrs.MkdirAllHandle(root, resolved, 0o755)
	if err != nil {
		return err
	}
	return h.Close()
}
