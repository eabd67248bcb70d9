package spec

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berthrt/berth/libcontainer/caps"
	"github.com/berthrt/berth/libcontainer/seccomp"
)

// Validate checks everything about s that can be checked before anything is
// created: required fields, names (namespaces, capabilities, rlimits), paths,
// and combinations (hostname needs a uts namespace, id mappings need a user
// namespace...). It also refuses every field berth does not implement yet
// (see unsupported.go). A relative root.path is taken relative to bundle.
//
// The first problem found is returned as a *FieldError. Validate only reads
// s; relative mount destinations are accepted (see Normalize).
func Validate(s *specs.Spec, bundle string) error {
	if s.Version == "" {
		return fieldErr("ociVersion", "must be set")
	}
	if !strings.HasPrefix(s.Version, "1.") {
		return fieldErr("ociVersion", "%q is not supported (berth implements 1.x)", s.Version)
	}
	if s.Root == nil || s.Root.Path == "" {
		return fieldErr("root.path", "must be set")
	}
	// process is OPTIONAL at create (config.md); start then fails.
	if s.Linux == nil {
		return fieldErr("linux", "must be set")
	}
	for _, check := range []func(*specs.Spec) error{
		checkUnsupported, checkProcess, checkNamespaces, checkUTS,
		checkIDMappings, checkTimeOffsets, checkMounts, checkLinuxPaths, checkDevices,
		checkSeccomp, checkProcessAttrs, checkSysctl, checkHooks,
	} {
		if err := check(s); err != nil {
			return err
		}
	}
	if err := checkRoot(s, bundle); err != nil {
		return err
	}
	return checkMountSources(s, bundle)
}

// Rootfs returns the absolute host path of root.path: a relative path is
// relative to bundle.
func Rootfs(s *specs.Spec, bundle string) (string, error) {
	p := s.Root.Path
	if !filepath.IsAbs(p) {
		p = filepath.Join(bundle, p)
	}
	return filepath.Abs(p)
}

// checkRoot checks that root.path is an existing directory.
func checkRoot(s *specs.Spec, bundle string) error {
	p, err := Rootfs(s, bundle)
	if err != nil {
		return fieldErr("root.path", "%q: %v", s.Root.Path, err)
	}
	fi, err := os.Stat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fieldErr("root.path", "%q does not exist", p)
	case err != nil:
		return fieldErr("root.path", "%q: %v", p, err)
	case !fi.IsDir():
		return fieldErr("root.path", "%q is not a directory", p)
	}
	return nil
}

// checkProcess checks process: args, cwd, env, capabilities, rlimits.
func checkProcess(s *specs.Spec) error {
	p := s.Process
	if p == nil {
		return nil
	}
	if len(p.Args) == 0 {
		return fieldErr("process.args", "must not be empty")
	}
	if !path.IsAbs(p.Cwd) {
		return fieldErr("process.cwd", "%q is not an absolute path", p.Cwd)
	}
	for i, kv := range p.Env {
		name, _, ok := strings.Cut(kv, "=")
		switch {
		case !ok:
			return fieldErr(idx("process.env", i), "%q has no '='", kv)
		case name == "":
			return fieldErr(idx("process.env", i), "%q has an empty name", kv)
		case strings.ContainsRune(kv, 0):
			return fieldErr(idx("process.env", i), "%q contains a NUL byte", kv)
		}
	}
	if err := CheckCapabilities(p.Capabilities, "process.capabilities"); err != nil {
		return err
	}
	return CheckRlimits(p.Rlimits, "process.rlimits")
}

// CheckCapabilities checks capability names, and the subset rule the kernel
// enforces at capset time: effective within permitted. base is the JSON
// path of c ("process.capabilities"; exec's process.json has its own); the
// error is a *FieldError.
func CheckCapabilities(c *specs.LinuxCapabilities, base string) error {
	if c == nil {
		return nil
	}
	sets := []struct {
		name string
		list []string
	}{
		{"bounding", c.Bounding}, {"effective", c.Effective}, {"inheritable", c.Inheritable},
		{"permitted", c.Permitted}, {"ambient", c.Ambient},
	}
	for _, set := range sets {
		for i, name := range set.list {
			if _, err := caps.Parse(name); err != nil {
				return fieldErr(idx(base+"."+set.name, i), "%q is not a capability", name)
			}
		}
	}
	perm := toSet(c.Permitted)
	for i, name := range c.Effective {
		if !perm[name] {
			return fieldErr(idx(base+".effective", i), "%q is not in permitted", name)
		}
	}
	// Ambient capabilities outside permitted and inheritable are skipped with
	// a warning, as runc does (its own `runc spec` has ambient without
	// inheritable).
	return nil
}

// CheckRlimits checks rlimit names, duplicates and soft <= hard; base is
// the JSON path of rl, as for CheckCapabilities.
func CheckRlimits(rl []specs.POSIXRlimit, base string) error {
	seen := map[string]bool{}
	for i, r := range rl {
		p := idx(base, i)
		if _, ok := rlimits[r.Type]; !ok {
			return fieldErr(p+".type", "%q is not a resource limit", r.Type)
		}
		if seen[r.Type] {
			return fieldErr(p+".type", "%q is listed twice", r.Type)
		}
		seen[r.Type] = true
		if r.Soft > r.Hard {
			return fieldErr(p, "soft %d is above hard %d", r.Soft, r.Hard)
		}
	}
	return nil
}

func toSet(list []string) map[string]bool {
	m := make(map[string]bool, len(list))
	for _, v := range list {
		m[v] = true
	}
	return m
}

// checkSeccomp checks linux.seccomp: actions, architectures, flags, syscall
// rules (see the seccomp package); its errors name the field as ours do.
func checkSeccomp(s *specs.Spec) error {
	err := seccomp.Validate(linux(s).Seccomp)
	var se *seccomp.FieldError
	if errors.As(err, &se) {
		fe := &FieldError{Path: se.Path, Msg: se.Msg}
		if errors.Is(err, errors.ErrUnsupported) {
			fe.kind = errors.ErrUnsupported
		}
		return fe
	}
	return err
}

// checkHooks checks every hook: an absolute path, a positive timeout, and,
// for the hooks whose path resolves in the runtime's mount tree (all but
// startContainer, which runs after pivot_root), an executable file there.
func checkHooks(s *specs.Spec) error {
	if s.Hooks == nil {
		return nil
	}
	h := s.Hooks
	for _, kind := range []struct {
		name  string
		hooks []specs.Hook
	}{
		{"prestart", h.Prestart}, {"createRuntime", h.CreateRuntime},
		{"createContainer", h.CreateContainer}, {"startContainer", h.StartContainer},
		{"poststart", h.Poststart}, {"poststop", h.Poststop},
	} {
		for i, hook := range kind.hooks {
			if err := checkHook(idx("hooks."+kind.name, i), hook, kind.name != "startContainer"); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkHook(p string, h specs.Hook, onHost bool) error {
	if !filepath.IsAbs(h.Path) {
		return fieldErr(p+".path", "%q is not an absolute path", h.Path)
	}
	if h.Timeout != nil && *h.Timeout <= 0 {
		return fieldErr(p+".timeout", "%d is not a positive number of seconds", *h.Timeout)
	}
	if !onHost {
		return nil
	}
	fi, err := os.Stat(h.Path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fieldErr(p+".path", "%q does not exist", h.Path)
	case err != nil:
		return fieldErr(p+".path", "%q: %v", h.Path, err)
	case fi.IsDir() || fi.Mode()&0o111 == 0:
		return fieldErr(p+".path", "%q is not an executable file", h.Path)
	}
	return nil
}
