package rootfs

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// mountCopyUp is the tmpcopyup extension: the new tmpfs starts with a copy
// of what the directory it covers held (modes, owners, times, symlinks and
// nodes kept), as engines expect for e.g. a tmpfs on /etc/ssl. The
// directory is opened before the tmpfs hides it; the copy reads from that
// fd and writes through a handle on the new mount, every name opened
// relative to its parent with O_NOFOLLOW, so no symlink in the image is
// ever followed. A read-only tmpfs is made read-only after the copy (the
// step's finish).
func mountCopyUp(r *root, s Step, h *os.File) error {
	src, err := reopenDir(int(h.Fd()), ".")
	if err != nil {
		return fmt.Errorf("tmpcopyup: open %s: %w", s.Path, err)
	}
	defer src.Close()
	if err := mountOn(s.Source, h, s.FSType, uintptr(s.Flags), s.Data); err != nil {
		return err
	}
	rel, err := r.resolve(s.Path)
	if err != nil {
		return err
	}
	dst, err := r.open(rel)
	if err != nil {
		return err
	}
	defer dst.Close()
	if err := copyTree(int(src.Fd()), int(dst.Fd())); err != nil {
		return fmt.Errorf("tmpcopyup: %w", err)
	}
	if err := copyRootAttrs(src, dst, s.Data); err != nil {
		return fmt.Errorf("tmpcopyup: %w", err)
	}
	return nil
}

// copyRootAttrs gives the tmpfs root the directory's owner, and its mode
// unless the options set one.
func copyRootAttrs(src, dst *os.File, data string) error {
	var st unix.Stat_t
	if err := unix.Fstat(int(src.Fd()), &st); err != nil {
		return err
	}
	if err := unix.Fchownat(int(dst.Fd()), "", int(st.Uid), int(st.Gid), unix.AT_EMPTY_PATH); err != nil {
		return fmt.Errorf("chown: %w", err)
	}
	if strings.Contains(","+data, ",mode=") {
		return nil
	}
	if err := unix.Fchmodat(int(dst.Fd()), fdPath(dst), st.Mode&0o7777, 0); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	return nil
}

func reopenDir(dirfd int, name string) (*os.File, error) {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), name), nil
}

// copyTree copies the content of directory src into directory dst.
func copyTree(src, dst int) error {
	d, err := reopenDir(src, ".")
	if err != nil {
		return err
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return err
	}
	for _, name := range names {
		if err := copyEntry(src, dst, name); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

// copyEntry copies one name of src into dst, then its owner, mode and
// times (the mode after the owner: chown clears setuid bits).
func copyEntry(src, dst int, name string) error {
	var st unix.Stat_t
	if err := unix.Fstatat(src, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	var err error
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		err = copyDir(src, dst, name)
	case unix.S_IFREG:
		err = copyFile(src, dst, name)
	case unix.S_IFLNK:
		err = copySymlink(src, dst, name)
	default:
		err = unix.Mknodat(dst, name, st.Mode, int(st.Rdev))
	}
	if err != nil {
		return err
	}
	if err := unix.Fchownat(dst, name, int(st.Uid), int(st.Gid), unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("chown: %w", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFLNK {
		if err := unix.Fchmodat(dst, name, st.Mode&0o7777, 0); err != nil {
			return fmt.Errorf("chmod: %w", err)
		}
	}
	ts := []unix.Timespec{st.Atim, st.Mtim}
	return unix.UtimesNanoAt(dst, name, ts, unix.AT_SYMLINK_NOFOLLOW)
}

func copyDir(src, dst int, name string) error {
	if err := unix.Mkdirat(dst, name, 0o700); err != nil {
		return err
	}
	s, err := reopenDir(src, name)
	if err != nil {
		return err
	}
	defer s.Close()
	d, err := reopenDir(dst, name)
	if err != nil {
		return err
	}
	defer d.Close()
	return copyTree(int(s.Fd()), int(d.Fd()))
}

func copyFile(src, dst int, name string) error {
	sfd, err := unix.Openat(src, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	s := os.NewFile(uintptr(sfd), name)
	defer s.Close()
	dfd, err := unix.Openat(dst, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	d := os.NewFile(uintptr(dfd), name)
	_, err = io.Copy(d, s)
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

func copySymlink(src, dst int, name string) error {
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(src, name, buf)
	if err != nil {
		return err
	}
	if n == len(buf) {
		return errors.New("symlink target too long")
	}
	return unix.Symlinkat(string(buf[:n]), dst, name)
}
