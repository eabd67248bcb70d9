package spec

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// mountOptionKind sorts the options berth interprets (the others are
// filesystem data).
func mountOptionKind(opt string) string {
	switch {
	case opt == "bind" || opt == "rbind":
		return "bind"
	case opt == "idmap" || opt == "ridmap":
		return "idmap"
	case opt == "tmpcopyup":
		return "tmpcopyup"
	}
	return ""
}

// isBind reports whether a mount is a bind: by type or by option.
func isBind(m *specs.Mount) bool {
	if m.Type == "bind" || m.Type == "rbind" {
		return true
	}
	return slices.ContainsFunc(m.Options, func(o string) bool { return mountOptionKind(o) == "bind" })
}

// checkMounts checks each mount: a destination, options that fit its type,
// id mappings, overlay layers.
func checkMounts(s *specs.Spec) error {
	for i := range s.Mounts {
		m := &s.Mounts[i]
		p := idx("mounts", i)
		if m.Destination == "" {
			return fieldErr(p+".destination", "must be set")
		}
		if isBind(m) && m.Source == "" {
			return fieldErr(p+".source", "must be set for a bind mount")
		}
		if err := checkMountOptions(p, m); err != nil {
			return err
		}
		if err := checkMountIDMap(s, p, m); err != nil {
			return err
		}
		if m.Type == "overlay" {
			if err := checkOverlay(p, m); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkMountOptions: tmpcopyup is for a tmpfs, idmap and ridmap for a bind.
func checkMountOptions(p string, m *specs.Mount) error {
	for j, o := range m.Options {
		switch mountOptionKind(o) {
		case "tmpcopyup":
			if m.Type != "tmpfs" {
				return fieldErr(idx(p+".options", j), "%q is only for a tmpfs, not type %q", o, m.Type)
			}
		case "idmap":
			if !isBind(m) {
				return fieldErr(idx(p+".options", j), "%q is only for a bind mount, not type %q", o, m.Type)
			}
		}
	}
	return nil
}

// checkMountIDMap checks an id-mapped mount: a bind, with both lists of
// mappings (or neither, with idmap/ridmap, and then the container's own),
// each range non-empty.
func checkMountIDMap(s *specs.Spec, p string, m *specs.Mount) error {
	opt := slices.ContainsFunc(m.Options, func(o string) bool { return mountOptionKind(o) == "idmap" })
	uids, gids := m.UIDMappings, m.GIDMappings
	if len(uids) == 0 && len(gids) == 0 {
		if opt && len(linux(s).UIDMappings) == 0 {
			return fieldErr(p+".options", "idmap without mounts mappings takes the container's: linux.uidMappings must be set")
		}
		return nil
	}
	if !isBind(m) {
		return fieldErr(p+".uidMappings", "id mappings are only for a bind mount, not type %q", m.Type)
	}
	if len(uids) == 0 {
		return fieldErr(p+".uidMappings", "must be set with gidMappings")
	}
	if len(gids) == 0 {
		return fieldErr(p+".gidMappings", "must be set with uidMappings")
	}
	for _, l := range []struct {
		name string
		m    []specs.LinuxIDMapping
	}{{".uidMappings", uids}, {".gidMappings", gids}} {
		for j, e := range l.m {
			if e.Size == 0 {
				return fieldErr(idx(p+l.name, j)+".size", "must not be 0")
			}
		}
	}
	return nil
}

// checkOverlay: an overlay needs its lower layers; an upper layer needs a
// work dir on the same filesystem and the other way round; the layers are
// host paths, so absolute.
func checkOverlay(p string, m *specs.Mount) error {
	dirs := map[string]string{}
	for j, o := range m.Options {
		k, v, ok := strings.Cut(o, "=")
		if !ok || (k != "lowerdir" && k != "upperdir" && k != "workdir") {
			continue
		}
		dirs[k] = v
		for _, d := range strings.Split(v, ":") {
			if !filepath.IsAbs(d) {
				return fieldErr(idx(p+".options", j), "%q: %q is not an absolute path", o, d)
			}
		}
	}
	switch {
	case dirs["lowerdir"] == "":
		return fieldErr(p+".options", "an overlay needs lowerdir=")
	case (dirs["upperdir"] == "") != (dirs["workdir"] == ""):
		return fieldErr(p+".options", "an overlay needs both upperdir= and workdir=, or neither")
	}
	return nil
}

// checkMountSources checks that the source of each bind mount exists on
// the host (relative to the bundle when relative).
func checkMountSources(s *specs.Spec, bundle string) error {
	for i := range s.Mounts {
		m := &s.Mounts[i]
		if !isBind(m) {
			continue
		}
		src := m.Source
		if !filepath.IsAbs(src) {
			src = filepath.Join(bundle, src)
		}
		if _, err := os.Stat(src); errors.Is(err, fs.ErrNotExist) {
			return fieldErr(idx("mounts", i)+".source", "%q does not exist", m.Source)
		}
	}
	return nil
}
