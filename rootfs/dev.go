package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// defaultDevices are created in every container with its own /dev, before
// linux.devices (an entry there with the same path wins).
var defaultDevices = []specs.LinuxDevice{
	{Path: "/dev/null", Type: "c", Major: 1, Minor: 3},
	{Path: "/dev/zero", Type: "c", Major: 1, Minor: 5},
	{Path: "/dev/full", Type: "c", Major: 1, Minor: 7},
	{Path: "/dev/random", Type: "c", Major: 1, Minor: 8},
	{Path: "/dev/urandom", Type: "c", Major: 1, Minor: 9},
	{Path: "/dev/tty", Type: "c", Major: 5, Minor: 0},
}

// devSymlinks are the links runc makes in /dev (link name -> target).
var devSymlinks = [][2]string{
	{"fd", "/proc/self/fd"},
	{"stdin", "/proc/self/fd/0"},
	{"stdout", "/proc/self/fd/1"},
	{"stderr", "/proc/self/fd/2"},
}

// needsDev reports whether berth populates /dev: not when the config binds
// the host's /dev, whose nodes are then used as they are.
func needsDev(c *Config) bool {
	for _, m := range c.Mounts {
		if filepath.Clean(m.Destination) != "/dev" {
			continue
		}
		o := parseMountOptions(m.Options)
		if m.Type == "bind" || o.Flags&unix.MS_BIND != 0 {
			return false
		}
	}
	return true
}

// setupDev creates the device nodes and the /dev symlinks. It runs after
// all mounts, since /dev (and /dev/pts for ptmx) are mounts themselves.
func setupDev(r *root, c *Config) error {
	old := unix.Umask(0) // the modes in the config are exact
	defer unix.Umask(old)
	for _, d := range defaultDevices {
		if hasDevice(c.Devices, d.Path) {
			continue
		}
		if err := createDevice(r, d, c.InUserNS); err != nil {
			return fmt.Errorf("default device %s: %w", d.Path, err)
		}
	}
	for i, d := range c.Devices {
		if err := createDevice(r, d, c.InUserNS); err != nil {
			return fmt.Errorf("linux.devices[%d] (%s): %w", i, d.Path, err)
		}
	}
	return makeDevLinks(r)
}

func hasDevice(devs []specs.LinuxDevice, path string) bool {
	for _, d := range devs {
		if filepath.Clean(d.Path) == path {
			return true
		}
	}
	return false
}

// createDevice makes one node in its directory, found through the rootfs
// handle. In a user namespace mknod is not allowed: an empty file is made
// and the host's node bind-mounted onto it (a fifo can still be made).
func createDevice(r *root, d specs.LinuxDevice, inUserNS bool) error {
	mode, err := deviceType(d.Type)
	if err != nil {
		return err
	}
	if inUserNS && mode != unix.S_IFIFO {
		return bindDevice(r, d)
	}
	dest := filepath.Clean("/" + d.Path)
	dir, err := r.mkdirAll(filepath.Dir(dest))
	if err != nil {
		return err
	}
	defer dir.Close()
	name := filepath.Base(dest)
	perm := uint32(0o666)
	if d.FileMode != nil {
		perm = uint32(d.FileMode.Perm())
	}
	dev := int(unix.Mkdev(uint32(d.Major), uint32(d.Minor)))
	err = unix.Mknodat(int(dir.Fd()), name, mode|perm, dev)
	if errors.Is(err, unix.EEXIST) {
		return nil // the image already has it; runc keeps it too
	}
	if err != nil {
		return fmt.Errorf("mknod: %w", err)
	}
	return chownDevice(dir, name, d)
}

func chownDevice(dir *os.File, name string, d specs.LinuxDevice) error {
	uid, gid := 0, 0
	if d.UID != nil {
		uid = int(*d.UID)
	}
	if d.GID != nil {
		gid = int(*d.GID)
	}
	err := unix.Fchownat(int(dir.Fd()), name, uid, gid, unix.AT_SYMLINK_NOFOLLOW)
	if err != nil {
		return fmt.Errorf("chown: %w", err)
	}
	return nil
}

// deviceType maps linux.devices[].type to the S_IF* bits.
func deviceType(t string) (uint32, error) {
	switch t {
	case "c", "u":
		return unix.S_IFCHR, nil
	case "b":
		return unix.S_IFBLK, nil
	case "p":
		return unix.S_IFIFO, nil
	}
	return 0, fmt.Errorf("unknown device type %q", t)
}

// bindDevice bind-mounts the host node at the same path onto an empty file.
func bindDevice(r *root, d specs.LinuxDevice) error {
	h, err := r.mkfile(d.Path)
	if err != nil {
		return err
	}
	defer h.Close()
	return mountOn(d.Path, h, "", unix.MS_BIND, "")
}

// makeDevLinks adds /dev/fd, stdin, stdout, stderr, core (when the host has
// /proc/kcore) and replaces /dev/ptmx with a link to the devpts
// instance's ptmx, so a pty opened in the container comes from its own
// devpts.
func makeDevLinks(r *root) error {
	dev, err := r.mkdirAll("/dev")
	if err != nil {
		return err
	}
	defer dev.Close()
	links := devSymlinks
	if _, err := os.Stat("/proc/kcore"); err == nil {
		links = append(links[:len(links):len(links)], [2]string{"core", "/proc/kcore"})
	}
	for _, l := range links {
		err := unix.Symlinkat(l[1], int(dev.Fd()), l[0])
		if err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("symlink /dev/%s: %w", l[0], err)
		}
	}
	err = unix.Unlinkat(int(dev.Fd()), "ptmx", 0)
	if err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("remove /dev/ptmx: %w", err)
	}
	if err := unix.Symlinkat("pts/ptmx", int(dev.Fd()), "ptmx"); err != nil {
		return fmt.Errorf("symlink /dev/ptmx: %w", err)
	}
	return nil
}
