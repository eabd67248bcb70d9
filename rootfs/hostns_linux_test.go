package rootfs

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// inPrivateMountNS runs f on a thread moved to a new mount namespace (with
// every mount private), so that what f mounts never reaches the host. The
// thread stays locked and dies with the goroutine.
func inPrivateMountNS(t *testing.T, f func() error) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread is discarded
		if err := unix.Unshare(unix.CLONE_NEWNS | unix.CLONE_FS); err != nil {
			errc <- err
			return
		}
		if err := unix.Mount("", "/", "", unix.MS_PRIVATE|unix.MS_REC, ""); err != nil {
			errc <- err
			return
		}
		errc <- f()
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// TestHostRootfsBind: the bind of a rootfs for a container without a mount
// namespace is a private mount of its own, found again only by its id, and
// detaching it takes what was mounted under it.
func TestHostRootfsBind(t *testing.T) {
	dir := t.TempDir()
	rootfs := filepath.Join(dir, "rootfs")
	if err := os.MkdirAll(filepath.Join(rootfs, "proc"), 0o755); err != nil {
		t.Fatal(err)
	}
	inPrivateMountNS(t, func() error {
		plain, err := openRoot(rootfs)
		if err != nil {
			return err
		}
		defer plain.Close()
		if checkHostRootfs(plain) == nil {
			return errors.New("checkHostRootfs accepted a rootfs that is not a mount")
		}
		id, err := BindHostRootfs(rootfs)
		if err != nil {
			return err
		}
		if err := unix.Mount("tmpfs", filepath.Join(rootfs, "proc"), "tmpfs", 0, ""); err != nil {
			return err
		}
		f, err := OpenHostRootfs(rootfs, id)
		if err != nil {
			return err
		}
		f.Close()
		if _, err := OpenHostRootfs(rootfs, id+1); !errors.Is(err, ErrHostRootfsGone) {
			return errors.New("OpenHostRootfs accepted another mount id: " + errString(err))
		}
		if err := DetachHostRootfs(rootfs, id); err != nil {
			return err
		}
		var st unix.Statfs_t
		if err := unix.Statfs(filepath.Join(rootfs, "proc"), &st); err != nil {
			return err
		}
		if st.Type == unix.TMPFS_MAGIC && isMountPoint(filepath.Join(rootfs, "proc")) {
			return errors.New("the mount under the bind survived its detach")
		}
		if isMountPoint(rootfs) {
			return errors.New("the rootfs is still a mount point")
		}
		// Gone already: not an error.
		return DetachHostRootfs(rootfs, id)
	})
}

func isMountPoint(p string) bool {
	f, err := os.OpenFile(p, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	var stx unix.Statx_t
	if unix.Statx(int(f.Fd()), "", unix.AT_EMPTY_PATH, 0, &stx) != nil {
		return false
	}
	return stx.Attributes&unix.STATX_ATTR_MOUNT_ROOT != 0
}

func errString(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}
