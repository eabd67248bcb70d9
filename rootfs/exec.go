package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cyphar/filepath-securejoin/pathrs-lite/procfs"
	"golang.org/x/sys/unix"
)

// This file is the Go init's executor of the steps plan.go compiles; the C
// stub's is nsenter/plan.c. Both do for each step what plan.h says.

// executor runs steps. Before the pivot, paths resolve inside the rootfs
// through r; after it, inside the new "/".
type executor struct {
	c       *Config
	r       *root
	devNull *os.File
}

func (x *executor) close() {
	if x.r != nil {
		x.r.Close()
	}
	if x.devNull != nil {
		x.devNull.Close()
	}
}

// run executes steps in order; the first error stops it.
func (x *executor) run(steps []Step) error {
	for _, s := range steps {
		if err := x.step(s); err != nil {
			return err
		}
	}
	return nil
}

// step executes one step. The steps that set up or enter the root word
// their errors themselves; the others' errors follow their label.
func (x *executor) step(s Step) error {
	var err error
	switch s.Kind {
	case StepRoot, StepHostRoot:
		return x.root(s)
	case StepHook:
		if x.c.BeforePivot == nil {
			return errors.New("hooks: nothing runs them") // a caller's bug
		}
		return x.c.BeforePivot()
	case StepPivot, StepMoveRoot, StepChroot:
		return x.enter(s)
	case StepMount:
		err = x.mount(s)
	case StepFinish:
		err = x.finish(s)
	case StepMknod:
		err = x.mknod(s)
	case StepSymlink:
		err = x.symlink(s)
	case StepReadonly:
		err = readonlyPath(s.Path)
	case StepMask:
		err = x.mask(s.Path)
	default:
		err = fmt.Errorf("unknown step %d", s.Kind)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", s.Label, err)
	}
	return nil
}

// root is StepRoot: "/" becomes rslave (or linux.rootfsPropagation), so
// nothing below reaches the host, and the rootfs is bind-mounted onto
// itself (pivot_root needs a mount point, and every later step works
// through a handle on that mount). StepHostRoot only checks that the
// parent made that bind.
func (x *executor) root(s Step) error {
	if s.Kind == StepRoot {
		if err := prepareRoot(s.Path, x.c.Propagation); err != nil {
			return err
		}
	}
	r, err := openRoot(s.Path)
	if err != nil {
		return fmt.Errorf("%s: open: %w", s.Label, err)
	}
	x.r = r
	if s.Kind == StepHostRoot {
		return checkHostRootfs(r)
	}
	return nil
}

// enter switches "/" to the rootfs. The root propagation is applied again
// afterwards: what StepRoot set applied to the host's "/", which the
// container no longer sees. Without a mount namespace it is a chroot:
// pivot_root or MS_MOVE there would change the host's "/".
func (x *executor) enter(s Step) error {
	enter := pivotRoot
	switch s.Kind {
	case StepMoveRoot:
		enter = moveRoot
	case StepChroot:
		enter = chrootRoot
	}
	if err := enter(x.r); err != nil {
		return fmt.Errorf("%s: %w", s.Label, err)
	}
	x.r.Close()
	x.r = nil
	if s.Flags != 0 {
		if err := sysMount("", "/", "", uintptr(s.Flags), ""); err != nil {
			return fmt.Errorf("linux.rootfsPropagation (%s): set on new /: %w", x.c.Propagation, err)
		}
	}
	return nil
}

// mount is StepMount: the target is made (a file when the source is
// one), checked, mounted on through its handle, then finished.
func (x *executor) mount(s Step) error {
	file, err := sourceIsFile(s)
	if err != nil {
		return err
	}
	var h *os.File
	if file {
		h, err = x.r.mkfile(s.Path)
	} else {
		h, err = x.r.mkdirAll(s.Path)
	}
	if err != nil {
		return err
	}
	defer h.Close()
	if err := x.checkProc(h, s.Path); err != nil {
		return err
	}
	switch {
	case s.IDMapFd > 0:
		err = moveMount(s.IDMapFd, h)
		unix.Close(s.IDMapFd)
	case s.CopyUp:
		err = mountCopyUp(x.r, s, h)
	default:
		err = sysMount(s.Source, fdPath(h), s.FSType, uintptr(s.Flags), s.Data)
		if s.AltSource != "" && (errors.Is(err, unix.EPERM) || errors.Is(err, unix.EBUSY)) {
			err = sysMount(s.AltSource, fdPath(h), "", unix.MS_BIND|unix.MS_REC, "")
			s.Remount = true
		}
		if err != nil {
			err = fmt.Errorf("mount: %w", err)
		}
	}
	if err != nil {
		return err
	}
	return x.finish(s)
}

// sourceIsFile says whether a mount's target must be a file: for a bind
// or an id-mapped tree of a file.
func sourceIsFile(s Step) (bool, error) {
	var st unix.Stat_t
	switch {
	case s.IDMapFd > 0:
		if err := unix.Fstat(s.IDMapFd, &st); err != nil {
			return false, fmt.Errorf("id-mapped source: %w", err)
		}
	case s.Flags&unix.MS_BIND != 0 && s.FSType == "":
		if err := unix.Stat(s.Source, &st); err != nil {
			return false, fmt.Errorf("source: stat %s: %w", s.Source, err)
		}
	default:
		return false, nil
	}
	return st.Mode&unix.S_IFMT != unix.S_IFDIR, nil
}

// checkProc refuses a target in /proc unless it is the destination as
// written, which the compiler vetted: a symlink may not lead there.
func (x *executor) checkProc(h *os.File, dest string) error {
	real, err := procfs.ProcSelfFdReadlink(h)
	if err != nil {
		return fmt.Errorf("check target: %w", err)
	}
	rel := "/" + strings.TrimPrefix(strings.TrimPrefix(real, x.r.path), "/")
	if (rel == "/proc" || strings.HasPrefix(rel, "/proc/")) && rel != dest {
		return fmt.Errorf("%s is inside /proc, where mounts are not allowed", rel)
	}
	return nil
}

// finish is what only works on the new mount itself (StepFinish, and the
// end of StepMount): the remount (MS_BIND ignores the other flags), then
// the recursive options (so that "ro,rrw" leaves the tree writable, as
// the order of the two suggests), then the propagation, one call each.
func (x *executor) finish(s Step) error {
	if !s.Remount && len(s.Propagation) == 0 && s.RecSet == 0 && s.RecClr == 0 {
		return nil
	}
	h, err := x.open(s.Path)
	if err != nil {
		return err
	}
	defer h.Close()
	if s.Remount {
		if err := remountBind(h, uintptr(s.RemountFlags), uintptr(s.Cleared)); err != nil {
			return err
		}
	}
	if err := setAttrRecursive(h, recAttr{Set: s.RecSet, Clr: s.RecClr}); err != nil {
		return err
	}
	for _, p := range s.Propagation {
		if err := sysMount("", fdPath(h), "", uintptr(p), ""); err != nil {
			return fmt.Errorf("propagation: %w", err)
		}
	}
	return nil
}

// open returns a handle on an existing path: inside the rootfs before the
// pivot, inside the new "/" after it.
func (x *executor) open(p string) (*os.File, error) {
	if x.r == nil {
		h, err := openInNewRoot(p)
		if err != nil {
			return nil, fmt.Errorf("open: %w", err)
		}
		return h, nil
	}
	rel, err := x.r.resolve(p)
	if err != nil {
		return nil, err
	}
	return x.r.open(rel)
}

// mknod is StepMknod, in the node's directory found through the rootfs
// handle.
func (x *executor) mknod(s Step) error {
	dir, err := x.r.mkdirAll(filepath.Dir(s.Path))
	if err != nil {
		return err
	}
	defer dir.Close()
	name := filepath.Base(s.Path)
	old := unix.Umask(0) // the modes in the config are exact
	err = unix.Mknodat(int(dir.Fd()), name, s.Mode, int(s.Dev))
	unix.Umask(old)
	if errors.Is(err, unix.EEXIST) {
		return nil // the image already has it; runc keeps it too
	}
	if err != nil {
		return fmt.Errorf("mknod: %w", err)
	}
	if err := unix.Fchownat(int(dir.Fd()), name, int(s.UID), int(s.GID), unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("chown: %w", err)
	}
	return nil
}

// symlink is StepSymlink; an existing link is kept unless Replace.
func (x *executor) symlink(s Step) error {
	dir, err := x.r.mkdirAll(s.Path)
	if err != nil {
		return err
	}
	defer dir.Close()
	if s.Replace {
		err := unix.Unlinkat(int(dir.Fd()), s.Name, 0)
		if err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("remove %s: %w", s.Name, err)
		}
	}
	err = unix.Symlinkat(s.Target, int(dir.Fd()), s.Name)
	if err != nil && (s.Replace || !errors.Is(err, unix.EEXIST)) {
		return fmt.Errorf("symlink %s: %w", s.Name, err)
	}
	return nil
}

// mask is StepMask, through the container's /dev/null, checked once to be
// the real one: binding a look-alike would expose what masking hides.
func (x *executor) mask(p string) error {
	if x.devNull == nil {
		h, err := openDevNull()
		if err != nil {
			return err
		}
		x.devNull = h
	}
	return maskPath(p, x.devNull)
}
