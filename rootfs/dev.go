package rootfs

import (
	"fmt"
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

func hasDevice(devs []specs.LinuxDevice, path string) bool {
	for _, d := range devs {
		if filepath.Clean(d.Path) == path {
			return true
		}
	}
	return false
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
