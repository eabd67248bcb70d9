package spec

import (
	"os"
	"reflect"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// unsupportedField is a config.json field berth does not implement yet.
// Setting it to a non-zero value is refused with "<path>: not supported by
// berth": a config is never half-applied.
type unsupportedField struct {
	// path is the JSON path; "[]" stands for every index of an array.
	path string
	// setAt returns the concrete path where s sets the field ("" if unset);
	// the same as path except that "[]" gets the first offending index.
	setAt func(s *specs.Spec) string
	// why, when set, replaces "not supported by berth" in the error.
	why func() string
}

// unsupported is THE list of refused fields. When a feature lands, delete its
// row: Validate then accepts the field and Features reports it.
var unsupported = []unsupportedField{
	set("process.user.username", func(s *specs.Spec) any { return proc(s).User.Username }),
	lsm(set("process.apparmorProfile", func(s *specs.Spec) any { return proc(s).ApparmorProfile }), "AppArmor", apparmorEnabled),
	lsm(set("process.selinuxLabel", func(s *specs.Spec) any { return proc(s).SelinuxLabel }), "SELinux", selinuxEnabled),
	lsm(set("linux.mountLabel", func(s *specs.Spec) any { return linux(s).MountLabel }), "SELinux", selinuxEnabled),
	set("linux.intelRdt", func(s *specs.Spec) any { return linux(s).IntelRdt }),
	set("linux.netDevices", func(s *specs.Spec) any { return linux(s).NetDevices }),
}

// checkUnsupported refuses the first unsupported field s sets.
func checkUnsupported(s *specs.Spec) error {
	for _, u := range unsupported {
		if at := u.setAt(s); at != "" {
			err := notSupported(at)
			if u.why != nil {
				err.Msg = u.why()
			}
			return err
		}
	}
	return nil
}

// supported reports whether the field at path (as written in the table) is
// implemented, i.e. has no row in unsupported.
func supported(path string) bool {
	for _, u := range unsupported {
		if u.path == path {
			return false
		}
	}
	return true
}

// set makes a row for a field read by get; it is set when non-zero (a
// pointer to a zero value, an empty list or map all count as unset).
func set(path string, get func(*specs.Spec) any) unsupportedField {
	return unsupportedField{path: path, setAt: func(s *specs.Spec) string {
		if v := get(s); nonZero(v) {
			return path + firstSet(v)
		}
		return ""
	}}
}

// firstSet names, for a struct, the first field that is set (".limit" for
// linux.resources.memory), so the error points at what the user wrote.
func firstSet(v any) string {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer && !rv.IsNil() {
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct {
		return ""
	}
	for i := 0; i < rv.NumField(); i++ {
		f := rv.Field(i)
		if !f.CanInterface() || !nonZero(f.Interface()) {
			continue
		}
		name, _, _ := strings.Cut(rv.Type().Field(i).Tag.Get("json"), ",")
		if name == "" || name == "-" {
			return ""
		}
		return "." + name + firstSet(f.Interface())
	}
	return ""
}

// lsm makes a row for a field that needs a Linux security module berth does
// not drive yet; the error says whether the host even has that module.
func lsm(row unsupportedField, module string, enabled func() bool) unsupportedField {
	row.why = func() string {
		if !enabled() {
			return module + " is not enabled on this host"
		}
		return "not supported by berth (" + module + " is enabled on this host, but berth cannot apply it yet)"
	}
	return row
}

// apparmorEnabled reports whether the kernel runs AppArmor.
func apparmorEnabled() bool {
	b, err := os.ReadFile("/sys/module/apparmor/parameters/enabled")
	return err == nil && strings.HasPrefix(string(b), "Y")
}

// selinuxEnabled reports whether SELinux is active (selinuxfs mounted).
func selinuxEnabled() bool {
	_, err := os.Stat("/sys/fs/selinux/enforce")
	return err == nil
}

// nonZero reports whether v holds something: a non-empty string, list or
// map, or a non-nil pointer to a non-zero value.
func nonZero(v any) bool {
	rv := reflect.ValueOf(v)
	for rv.IsValid() && rv.Kind() == reflect.Pointer && !rv.IsNil() {
		rv = rv.Elem()
	}
	switch {
	case !rv.IsValid():
		return false
	case rv.Kind() == reflect.Slice || rv.Kind() == reflect.Map:
		return rv.Len() > 0
	}
	return !rv.IsZero()
}

// The accessors below return a zero section for a missing one, so table rows
// can read fields without nil checks.

func hooks(s *specs.Spec) *specs.Hooks {
	if s.Hooks == nil {
		return &specs.Hooks{}
	}
	return s.Hooks
}

func proc(s *specs.Spec) *specs.Process {
	if s.Process == nil {
		return &specs.Process{}
	}
	return s.Process
}

func linux(s *specs.Spec) *specs.Linux {
	if s.Linux == nil {
		return &specs.Linux{}
	}
	return s.Linux
}

func res(s *specs.Spec) *specs.LinuxResources {
	if l := linux(s); l.Resources != nil {
		return l.Resources
	}
	return &specs.LinuxResources{}
}
