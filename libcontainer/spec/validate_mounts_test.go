package spec

import (
	"os"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// addMount appends a mount to Example's seven (so it is mounts[7]).
func addMount(s *specs.Spec, m specs.Mount) { s.Mounts = append(s.Mounts, m) }

func bindMount(opts ...string) specs.Mount {
	return specs.Mount{Destination: "/data", Type: "bind", Source: "/etc", Options: opts}
}

func init() {
	validateCases = append(validateCases, mountCases...)
}

var mountCases = []validateCase{
	{"bind without source", func(s *specs.Spec) {
		addMount(s, specs.Mount{Destination: "/x", Options: []string{"rbind"}})
	}, `mounts[7].source: must be set for a bind mount`},
	{"bind source missing", func(s *specs.Spec) {
		addMount(s, specs.Mount{Destination: "/x", Type: "bind", Source: "/no/such/dir"})
	}, `mounts[7].source: "/no/such/dir" does not exist`},
	{"relative bind source missing", func(s *specs.Spec) {
		addMount(s, specs.Mount{Destination: "/x", Type: "bind", Source: "nodir"})
	}, `mounts[7].source: "nodir" does not exist`},
	{"tmpcopyup on a bind", func(s *specs.Spec) { addMount(s, bindMount("rbind", "tmpcopyup")) },
		`mounts[7].options[1]: "tmpcopyup" is only for a tmpfs, not type "bind"`},
	{"idmap on a tmpfs", func(s *specs.Spec) {
		addMount(s, specs.Mount{Destination: "/t", Type: "tmpfs", Source: "tmpfs", Options: []string{"ridmap"}})
	}, `mounts[7].options[0]: "ridmap" is only for a bind mount, not type "tmpfs"`},
	{"uid mappings on a tmpfs", func(s *specs.Spec) {
		addMount(s, specs.Mount{Destination: "/t", Type: "tmpfs", Source: "tmpfs",
			UIDMappings: idmap(0, 1000, 1), GIDMappings: idmap(0, 1000, 1)})
	}, `mounts[7].uidMappings: id mappings are only for a bind mount, not type "tmpfs"`},
	{"uid mappings only", func(s *specs.Spec) {
		m := bindMount("rbind")
		m.UIDMappings = idmap(0, 1000, 1)
		addMount(s, m)
	}, `mounts[7].gidMappings: must be set with uidMappings`},
	{"gid mappings only", func(s *specs.Spec) {
		m := bindMount("rbind")
		m.GIDMappings = idmap(0, 1000, 1)
		addMount(s, m)
	}, `mounts[7].uidMappings: must be set with gidMappings`},
	{"mount mapping size 0", func(s *specs.Spec) {
		m := bindMount("rbind")
		m.UIDMappings, m.GIDMappings = idmap(0, 1000, 1), append(idmap(0, 1000, 1), idmap(5, 2000, 0)...)
		addMount(s, m)
	}, `mounts[7].gidMappings[1].size: must not be 0`},
	{"idmap without any mapping", func(s *specs.Spec) { addMount(s, bindMount("rbind", "idmap")) },
		`mounts[7].options: idmap without mounts mappings takes the container's: linux.uidMappings must be set`},
	{"overlay without lowerdir", func(s *specs.Spec) {
		addMount(s, specs.Mount{Destination: "/o", Type: "overlay", Source: "overlay", Options: []string{"upperdir=/u", "workdir=/w"}})
	}, `mounts[7].options: an overlay needs lowerdir=`},
	{"overlay relative lowerdir", func(s *specs.Spec) {
		addMount(s, specs.Mount{Destination: "/o", Type: "overlay", Source: "overlay", Options: []string{"lowerdir=/l1:l2"}})
	}, `mounts[7].options[0]: "lowerdir=/l1:l2": "l2" is not an absolute path`},
	{"overlay upper without work", func(s *specs.Spec) {
		addMount(s, specs.Mount{Destination: "/o", Type: "overlay", Source: "overlay", Options: []string{"lowerdir=/l", "upperdir=/u"}})
	}, `mounts[7].options: an overlay needs both upperdir= and workdir=, or neither`},
	{"device twice", func(s *specs.Spec) {
		s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/fuse", Type: "c"}, {Path: "/dev//fuse", Type: "c"}}
	}, `linux.devices[1].path: "/dev//fuse" is listed twice`},
	{"device on /dev", func(s *specs.Spec) { s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/", Type: "c"}} },
		`linux.devices[0].path: "/dev/" is a directory, not a device path`},
	{"device mode with type bits", func(s *specs.Spec) {
		mode := os0o(0o20666)
		s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/x", Type: "c", FileMode: &mode}}
	}, `linux.devices[0].fileMode: 020666 has bits beyond the permissions (07777)`},
}

func TestValidateAcceptsMounts(t *testing.T) {
	dir := bundleDir(t)
	withUserns := func(s *specs.Spec) {
		addNS(s, specs.UserNamespace, "")
		s.Linux.UIDMappings, s.Linux.GIDMappings = idmap(0, 100000, 65536), idmap(0, 100000, 65536)
	}
	for name, mutate := range map[string]func(*specs.Spec){
		"recursive options": func(s *specs.Spec) {
			addMount(s, bindMount("rbind", "rro", "rnosuid", "rnodev", "rnoexec", "rnoatime", "rnosymfollow"))
		},
		"mount mappings": func(s *specs.Spec) {
			m := bindMount("rbind", "ridmap")
			m.UIDMappings, m.GIDMappings = idmap(0, 1000, 1), idmap(0, 1000, 1)
			addMount(s, m)
		},
		"idmap with the container's mappings": func(s *specs.Spec) {
			withUserns(s)
			addMount(s, bindMount("bind", "idmap"))
		},
		"tmpcopyup": func(s *specs.Spec) {
			addMount(s, specs.Mount{Destination: "/etc", Type: "tmpfs", Source: "tmpfs", Options: []string{"tmpcopyup", "mode=755"}})
		},
		"overlay": func(s *specs.Spec) {
			addMount(s, specs.Mount{Destination: "/o", Type: "overlay", Source: "overlay",
				Options: []string{"lowerdir=/l1:/l2", "upperdir=/u", "workdir=/w"}})
		},
		"relative bind source": func(s *specs.Spec) {
			addMount(s, specs.Mount{Destination: "/r", Type: "bind", Source: "rootfs"})
		},
	} {
		s := Example()
		mutate(s)
		if err := Validate(s, dir); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func os0o(m uint32) os.FileMode { return os.FileMode(m) }
