package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"github.com/cyphar/filepath-securejoin/pathrs-lite/procfs"
	"golang.org/x/sys/unix"
)

// root is the container rootfs while it is being populated: its real host
// path and an O_PATH handle on the rootfs mount. Every path inside it is
// resolved through that handle, never by joining strings.
type root struct {
	path string
	dir  *os.File
}

// openRoot opens the rootfs. It must be called after the rootfs was bind
// mounted onto itself: a handle taken before would point at the directory
// under the bind, and everything mounted through it would be hidden.
func openRoot(path string) (*root, error) {
	dir, err := os.OpenFile(path, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return &root{path: path, dir: dir}, nil
}

func (r *root) Close() error { return r.dir.Close() }

// resolve turns a container path into a path relative to the rootfs with
// every symlink resolved inside it (SecureJoin), so that the directories
// created for it are created where the mount will land.
func (r *root) resolve(dest string) (string, error) {
	full, err := securejoin.SecureJoin(r.path, dest)
	if err != nil {
		return "", fmt.Errorf("resolve: %w", err)
	}
	rel, err := filepath.Rel(r.path, full)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("resolve: %s is outside the rootfs", full)
	}
	return "/" + rel, nil
}

// openInRoot is the fast path for a target that already exists: one
// openat2 with RESOLVE_IN_ROOT, where the kernel itself keeps every step
// (symlinks and ".." included) inside the rootfs, so the result needs no
// further check. It fails (ENOENT, or ENOSYS on old kernels) when the slow,
// creating path must run.
func (r *root) openInRoot(dest string) (*os.File, error) {
	how := unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	}
	for {
		fd, err := unix.Openat2(int(r.dir.Fd()), dest, &how)
		if errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return os.NewFile(uintptr(fd), dest), nil
	}
}

// mkdirAll creates dest (a directory, mode 0755) inside the rootfs and
// returns an O_PATH handle on it, checked to be inside the rootfs.
func (r *root) mkdirAll(dest string) (*os.File, error) {
	if h, err := r.openInRoot(dest); err == nil {
		var st unix.Stat_t
		if unix.Fstat(int(h.Fd()), &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
			return h, nil
		}
		h.Close()
	}
	if h, err := r.mkdirInParent(dest); err == nil {
		return h, nil
	}
	rel, err := r.resolve(dest)
	if err != nil {
		return nil, err
	}
	h, err := pathrs.MkdirAllHandle(r.dir, rel, 0o755)
	if err != nil {
		return nil, fmt.Errorf("mkdir: %w", err)
	}
	return r.checked(h)
}

// mkdirInParent is mkdirAll's fast path for the common case of one missing
// level (a mount point in a tmpfs just mounted: /dev/pts, the cgroup v1
// hierarchies under /sys/fs/cgroup): the parent is opened with openInRoot,
// where the kernel keeps the walk inside the rootfs, and the last component
// is made and opened relative to that handle without following a symlink,
// so the result is inside the rootfs by construction. It saves the slow
// path's per-component walk, procfs checks and readlink (~0.5 ms of a
// container start with the default config's cgroup mount). Any error
// (parent missing too, no openat2) sends the caller down the slow path.
func (r *root) mkdirInParent(dest string) (*os.File, error) {
	dest = filepath.Clean("/" + dest)
	base := filepath.Base(dest)
	if dest == "/" || base == "." || base == ".." {
		return nil, unix.EINVAL
	}
	parent, err := r.openInRoot(filepath.Dir(dest))
	if err != nil {
		return nil, err
	}
	defer parent.Close()
	pfd := int(parent.Fd())
	if err := unix.Mkdirat(pfd, base, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
		return nil, err
	}
	fd, err := unix.Openat(pfd, base, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), dest), nil
}

// mkfile creates dest as an empty file (if nothing is there yet) inside the
// rootfs, its parents as directories, and returns an O_PATH handle on it.
func (r *root) mkfile(dest string) (*os.File, error) {
	rel, err := r.resolve(dest)
	if err != nil {
		return nil, err
	}
	dir, err := pathrs.MkdirAllHandle(r.dir, filepath.Dir(rel), 0o755)
	if err != nil {
		return nil, fmt.Errorf("mkdir: %w", err)
	}
	defer dir.Close()
	fd, err := unix.Openat(int(dir.Fd()), filepath.Base(rel),
		unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_RDONLY|unix.O_CLOEXEC, 0o644)
	if err == nil {
		unix.Close(fd)
	} else if !errors.Is(err, unix.EEXIST) {
		return nil, fmt.Errorf("create: %w", err)
	}
	return r.open(rel)
}

// open returns an O_PATH handle on an existing dest inside the rootfs. Call
// it again after mounting on a path to get a handle on the new mount.
func (r *root) open(dest string) (*os.File, error) {
	if h, err := r.openInRoot(dest); err == nil || !errors.Is(err, unix.ENOSYS) {
		if err != nil {
			return nil, fmt.Errorf("open: %w", err)
		}
		return h, nil
	}
	h, err := pathrs.OpenatInRoot(r.dir, dest)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	return r.checked(h)
}

// checked is the last check before a mount: where the handle really is,
// read back from the kernel, must still be inside the rootfs.
func (r *root) checked(h *os.File) (*os.File, error) {
	p, err := procfs.ProcSelfFdReadlink(h)
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("check target: %w", err)
	}
	if p != r.path && !strings.HasPrefix(p, r.path+"/") {
		h.Close()
		return nil, fmt.Errorf("check target: %s is outside the rootfs %s", p, r.path)
	}
	return h, nil
}

// fdPath names an open handle for mount(2), so that the kernel uses the
// file the handle holds, not whatever is at its path now.
func fdPath(h *os.File) string {
	return "/proc/self/fd/" + strconv.Itoa(int(h.Fd()))
}

// sysMount is mount(2), retried on EINTR.
func sysMount(source, target, fstype string, flags uintptr, data string) error {
	for {
		err := unix.Mount(source, target, fstype, flags, data)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// mountOn mounts onto the file a handle holds.
func mountOn(source string, h *os.File, fstype string, flags uintptr, data string) error {
	if err := sysMount(source, fdPath(h), fstype, flags, data); err != nil {
		return fmt.Errorf("mount: %w", err)
	}
	return nil
}

// remountBind changes the per-mount flags of the mount a handle holds. The
// nosuid/nodev/noexec flags it already has are kept unless cleared: in a user
// namespace they are locked and a remount without them fails with EPERM.
// Atime flags need no such care: a remount without any keeps the old ones.
func remountBind(h *os.File, flags, cleared uintptr) error {
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(h.Fd()), &st); err != nil {
		return fmt.Errorf("remount: statfs: %w", err)
	}
	locked := uintptr(st.Flags) & (unix.ST_NOSUID | unix.ST_NODEV | unix.ST_NOEXEC)
	flags = flags&remountFlags | locked&^cleared
	if err := sysMount("", fdPath(h), "", unix.MS_REMOUNT|unix.MS_BIND|flags, ""); err != nil {
		return fmt.Errorf("remount: %w", err)
	}
	return nil
}

// setPropagation applies propagation flags, one call each (the kernel takes
// one propagation type per call), to the mount a handle holds.
func setPropagation(h *os.File, props []uintptr) error {
	for _, p := range props {
		if err := sysMount("", fdPath(h), "", p, ""); err != nil {
			return fmt.Errorf("propagation: %w", err)
		}
	}
	return nil
}

// setAttrRecursive applies the r* options to the mount a handle holds and
// every mount below it.
func setAttrRecursive(h *os.File, a recAttr) error {
	if a.empty() {
		return nil
	}
	attr := unix.MountAttr{Attr_set: a.Set, Attr_clr: a.Clr}
	for {
		err := unix.MountSetattr(int(h.Fd()), "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &attr)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("mount_setattr (recursive options): %w", err)
		}
		return nil
	}
}
