package rootfs

import (
	"fmt"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// mountAll performs c.Mounts in order. Order matters: a later mount may sit
// inside an earlier one (/dev/pts inside /dev), so each destination is
// resolved only when its turn comes.
func mountAll(r *root, c *Config) error {
	for i, m := range c.Mounts {
		if err := mountOne(r, c, i, m); err != nil {
			return fmt.Errorf("mounts[%d] (%s on %s): %w", i, m.Type, m.Destination, err)
		}
	}
	return nil
}

// mountOne performs mounts[i].
func mountOne(r *root, c *Config, i int, m specs.Mount) error {
	o := parseMountOptions(m.Options)
	if m.Type == "bind" || m.Type == "rbind" {
		o.Flags |= unix.MS_BIND
		if m.Type == "rbind" {
			o.Flags |= unix.MS_REC
		}
	}
	if err := checkProcDest(r, m, o); err != nil {
		return err
	}
	switch {
	case c.IDMapFds[i] > 0:
		return mountIDMapped(r, m, o, c.IDMapFds[i])
	case o.Flags&unix.MS_BIND != 0:
		return mountBind(r, m, o)
	case m.Type == "cgroup" || m.Type == "cgroup2":
		return mountCgroup(r, c, m, o)
	default:
		return mountPlain(r, m, o)
	}
}

// mountPlain mounts a filesystem (proc, sysfs, tmpfs, devpts, mqueue, ...).
func mountPlain(r *root, m specs.Mount, o mountOptions) error {
	flags := o.Flags
	if filepath.Clean(m.Destination) == "/dev" {
		// /dev must stay writable for the device nodes; Finalize makes it
		// read-only afterwards when asked.
		flags &^= unix.MS_RDONLY
	}
	h, err := r.mkdirAll(m.Destination)
	if err != nil {
		return err
	}
	defer h.Close()
	if o.CopyUp {
		return mountCopyUp(r, m, o, h, flags)
	}
	if err := mountOn(m.Source, h, m.Type, flags, o.Data); err != nil {
		return err
	}
	return finishMount(r, m.Destination, o, false)
}

// mountBind bind-mounts a host path. The destination is created to match
// the source: an empty file for a file, a directory otherwise.
func mountBind(r *root, m specs.Mount, o mountOptions) error {
	st, err := os.Stat(m.Source)
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	var h *os.File
	if st.IsDir() {
		h, err = r.mkdirAll(m.Destination)
	} else {
		h, err = r.mkfile(m.Destination)
	}
	if err != nil {
		return err
	}
	err = mountOn(m.Source, h, "", unix.MS_BIND|o.Flags&unix.MS_REC, "")
	h.Close()
	if err != nil {
		return err
	}
	return finishMount(r, m.Destination, o, o.needsRemount())
}

// finishMount applies what only works on the new mount itself: the remount
// of a bind (MS_BIND ignores the other flags) and the propagation flags
// (mount(2) takes them in a call of their own).
//
// The recursive options come after the remount, so that "ro,rrw" leaves the
// tree writable, as the order of the two calls suggests.
func finishMount(r *root, dest string, o mountOptions, remount bool) error {
	if !remount && len(o.Propagation) == 0 && o.Rec.empty() {
		return nil
	}
	rel, err := r.resolve(dest)
	if err != nil {
		return err
	}
	h, err := r.open(rel)
	if err != nil {
		return err
	}
	defer h.Close()
	if remount {
		if err := remountBind(h, o.Flags, o.Cleared); err != nil {
			return err
		}
	}
	if err := setAttrRecursive(h, o.Rec); err != nil {
		return err
	}
	return setPropagation(h, o.Propagation)
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
// /proc itself and the lxcfs files. It looks at the resolved destination,
// so a symlink cannot smuggle a mount into /proc.
func checkProcDest(r *root, m specs.Mount, o mountOptions) error {
	rel, err := r.resolve(m.Destination)
	if err != nil {
		return err
	}
	switch {
	case rel == "/proc":
		if m.Type == "proc" || o.Flags&unix.MS_BIND != 0 && isProcfs(m.Source) {
			return nil
		}
		return fmt.Errorf("only a procfs may be mounted on /proc")
	case len(rel) > 6 && rel[:6] == "/proc/" && !procAllowed[rel]:
		return fmt.Errorf("%s is inside /proc, where mounts are not allowed", rel)
	}
	return nil
}

func isProcfs(path string) bool {
	var st unix.Statfs_t
	return unix.Statfs(path, &st) == nil && st.Type == unix.PROC_SUPER_MAGIC
}
