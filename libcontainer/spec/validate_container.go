package spec

import (
	"errors"
	"io/fs"
	"maps"
	"os"
	"path"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// checkNamespaces checks types, duplicates and paths of linux.namespaces.
func checkNamespaces(s *specs.Spec) error {
	seen := map[specs.LinuxNamespaceType]bool{}
	for i, ns := range linux(s).Namespaces {
		p := idx("linux.namespaces", i)
		if !slices.Contains(namespaceTypes, ns.Type) {
			return fieldErr(p+".type", "%q is not a namespace", ns.Type)
		}
		if seen[ns.Type] {
			return fieldErr(p+".type", "%q is listed twice", ns.Type)
		}
		seen[ns.Type] = true
		if ns.Path == "" {
			continue
		}
		if !path.IsAbs(ns.Path) {
			return fieldErr(p+".path", "%q is not an absolute path", ns.Path)
		}
		if _, err := os.Stat(ns.Path); errors.Is(err, fs.ErrNotExist) {
			return fieldErr(p+".path", "%q does not exist", ns.Path)
		}
	}
	return checkHostMountNS(s, seen)
}

// checkHostMountNS: without a mount namespace the container inherits the
// runtime's (config-linux.md), and berth makes its mounts there, under a
// private bind of the rootfs (rootfs/hostns.go). Refused then is what would
// need a mount namespace of the container's own: linux.rootfsPropagation
// (it is the propagation of the container's "/", which here is the host's
// namespace) and a new user namespace (its root could not mount in a mount
// namespace owned by the host's user namespace).
func checkHostMountNS(s *specs.Spec, seen map[specs.LinuxNamespaceType]bool) error {
	if seen[specs.MountNamespace] {
		return nil
	}
	if p := linux(s).RootfsPropagation; p != "" {
		return fieldErr("linux.rootfsPropagation", "%q is set but there is no mount namespace", p)
	}
	if u := Namespace(s, specs.UserNamespace); u != nil && u.Path == "" {
		return fieldErr("linux.namespaces", "a new user namespace needs a mount namespace too: the container's mounts would be made in the host's mount namespace, which its root does not own")
	}
	return nil
}

// checkUTS: hostname and domainname need a uts namespace (new or joined),
// or they would change the host's.
func checkUTS(s *specs.Spec) error {
	if Namespace(s, specs.UTSNamespace) != nil {
		return nil
	}
	if s.Hostname != "" {
		return fieldErr("hostname", "%q is set but there is no uts namespace", s.Hostname)
	}
	if s.Domainname != "" {
		return fieldErr("domainname", "%q is set but there is no uts namespace", s.Domainname)
	}
	return nil
}

// checkIDMappings: uid/gid mappings need a user namespace, and a new user
// namespace needs both (one joined by path already has its own). The
// process's uid and gid must be mapped, or setresuid/setresgid would fail.
func checkIDMappings(s *specs.Spec) error {
	l := linux(s)
	userns := Namespace(s, specs.UserNamespace)
	if userns == nil {
		if len(l.UIDMappings) > 0 {
			return fieldErr("linux.uidMappings", "set but there is no user namespace")
		}
		if len(l.GIDMappings) > 0 {
			return fieldErr("linux.gidMappings", "set but there is no user namespace")
		}
		return nil
	}
	if userns.Path != "" {
		return nil
	}
	u := proc(s).User
	if err := checkMapping("linux.uidMappings", l.UIDMappings, u.UID, "process.user.uid"); err != nil {
		return err
	}
	return checkMapping("linux.gidMappings", l.GIDMappings, u.GID, "process.user.gid")
}

// checkMapping checks one list of a new user namespace's id mappings.
func checkMapping(p string, m []specs.LinuxIDMapping, id uint32, idPath string) error {
	if len(m) == 0 {
		return fieldErr(p, "must be set for a new user namespace")
	}
	mapped := false
	for i, e := range m {
		if e.Size == 0 {
			return fieldErr(idx(p, i)+".size", "must not be 0")
		}
		mapped = mapped || (id >= e.ContainerID && uint64(id) < uint64(e.ContainerID)+uint64(e.Size))
	}
	if !mapped {
		return fieldErr(idPath, "%d is not mapped by %s", id, p)
	}
	return nil
}

// checkTimeOffsets: offsets are written into a new time namespace before
// its first process starts, so they need one; only two clocks have them.
func checkTimeOffsets(s *specs.Spec) error {
	offs := linux(s).TimeOffsets
	if len(offs) == 0 {
		return nil
	}
	if !NewNamespace(s, specs.TimeNamespace) {
		return fieldErr("linux.timeOffsets", "set but there is no new time namespace")
	}
	for _, clock := range slices.Sorted(maps.Keys(offs)) {
		if clock != "monotonic" && clock != "boottime" {
			return fieldErr("linux.timeOffsets", "%q is not a clock (monotonic or boottime)", clock)
		}
		if n := offs[clock].Nanosecs; n >= 1e9 {
			return fieldErr("linux.timeOffsets."+clock+".nanosecs", "%d is not below 1000000000", n)
		}
	}
	return nil
}

// propagations are the values of linux.rootfsPropagation ("" is runc's
// default, rslave... is applied by rootfs).
var propagations = []string{"", "private", "rprivate", "slave", "rslave", "shared", "rshared", "unbindable", "runbindable"}

// checkLinuxPaths checks rootfsPropagation, maskedPaths and readonlyPaths.
func checkLinuxPaths(s *specs.Spec) error {
	l := linux(s)
	if !slices.Contains(propagations, l.RootfsPropagation) {
		return fieldErr("linux.rootfsPropagation", "%q is not a propagation mode", l.RootfsPropagation)
	}
	for _, list := range []struct {
		name  string
		paths []string
	}{{"linux.maskedPaths", l.MaskedPaths}, {"linux.readonlyPaths", l.ReadonlyPaths}} {
		for i, p := range list.paths {
			if !path.IsAbs(p) {
				return fieldErr(idx(list.name, i), "%q is not an absolute path", p)
			}
		}
	}
	return nil
}

// checkDevices checks linux.devices (nodes to create) and
// linux.resources.devices (the devices cgroup rules).
func checkDevices(s *specs.Spec) error {
	l := linux(s)
	seen := map[string]bool{}
	for i, d := range l.Devices {
		p := idx("linux.devices", i)
		if !path.IsAbs(d.Path) {
			return fieldErr(p+".path", "%q is not an absolute path", d.Path)
		}
		if clean := path.Clean(d.Path); clean == "/" || clean == "/dev" {
			return fieldErr(p+".path", "%q is a directory, not a device path", d.Path)
		} else if seen[clean] {
			return fieldErr(p+".path", "%q is listed twice", d.Path)
		} else {
			seen[clean] = true
		}
		if d.FileMode != nil && *d.FileMode&^0o7777 != 0 {
			return fieldErr(p+".fileMode", "%#o has bits beyond the permissions (07777)", uint32(*d.FileMode))
		}
		if !slices.Contains([]string{"c", "b", "u", "p"}, d.Type) {
			return fieldErr(p+".type", "%q is not a device type (c, b, u or p)", d.Type)
		}
	}
	for i, r := range res(s).Devices {
		p := idx("linux.resources.devices", i)
		if !slices.Contains([]string{"", "a", "b", "c"}, r.Type) {
			return fieldErr(p+".type", "%q is not a device type (a, b or c)", r.Type)
		}
		if strings.Trim(r.Access, "rwm") != "" {
			return fieldErr(p+".access", "%q is not made of r, w and m", r.Access)
		}
	}
	return nil
}
