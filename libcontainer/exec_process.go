package libcontainer

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/berthrt/berth/libcontainer/caps"
	"github.com/berthrt/berth/libcontainer/spec"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ProcessFlags are the `berth exec` flags that shape the process when no
// --process file is given. Zero values leave the config's value alone.
type ProcessFlags struct {
	Args           []string
	Cwd            string
	Env            []string // appended; a later NAME= replaces an earlier one
	User           string   // uid[:gid]
	AdditionalGids []int64  // appended
	Caps           []string // added to bounding, effective and permitted
	Tty            bool
	NoNewPrivs     *bool // nil: as the config says
	// Apparmor and ProcessLabel are refused (ErrNotSupported) when set.
	Apparmor     string
	ProcessLabel string
}

// MergeProcess is the process `berth exec` runs without --process: the
// container's process from its config snapshot (env, cwd, user,
// capabilities, rlimits, no_new_privs...) with the flags applied, as runc
// does. The result is validated; base is not modified.
func MergeProcess(base *specs.Process, f *ProcessFlags) (*specs.Process, error) {
	if len(f.Args) == 0 {
		return nil, errors.New("exec: a command is required (or --process)")
	}
	p := copyProcess(base)
	p.Args = append([]string(nil), f.Args...)
	p.Terminal = f.Tty
	p.ConsoleSize = nil
	if f.Cwd != "" {
		p.Cwd = f.Cwd
	}
	p.Env = mergeEnv(p.Env, f.Env)
	if f.User != "" {
		if err := parseUser(f.User, &p.User); err != nil {
			return nil, err
		}
	}
	for _, g := range f.AdditionalGids {
		if g < 0 || g > math.MaxUint32 {
			return nil, fmt.Errorf("--additional-gids: %d is not a gid", g)
		}
		p.User.AdditionalGids = append(p.User.AdditionalGids, uint32(g))
	}
	if err := addCaps(p, f.Caps); err != nil {
		return nil, err
	}
	if f.NoNewPrivs != nil {
		p.NoNewPrivileges = *f.NoNewPrivs
	}
	// The flags exist for runc compatibility; berth applies neither.
	if f.Apparmor != "" {
		return nil, fmt.Errorf("--apparmor %q: AppArmor profiles: %w", f.Apparmor, ErrNotSupported)
	}
	if f.ProcessLabel != "" {
		return nil, fmt.Errorf("--process-label %q: SELinux labels: %w", f.ProcessLabel, ErrNotSupported)
	}
	if err := ValidateProcess(p); err != nil {
		return nil, flagError(err)
	}
	return p, nil
}

// copyProcess deep-copies the parts MergeProcess changes (slices.Clone
// keeps nil apart from empty: an empty inheritable set still counts).
func copyProcess(base *specs.Process) *specs.Process {
	p := *base
	p.Env = slices.Clone(base.Env)
	p.User.AdditionalGids = slices.Clone(base.User.AdditionalGids)
	if base.Capabilities != nil {
		c := *base.Capabilities
		c.Bounding = slices.Clone(c.Bounding)
		c.Effective = slices.Clone(c.Effective)
		c.Permitted = slices.Clone(c.Permitted)
		c.Ambient = slices.Clone(c.Ambient)
		c.Inheritable = slices.Clone(c.Inheritable)
		p.Capabilities = &c
	}
	return &p
}

// mergeEnv appends extra to env; a name set again replaces the earlier
// value in place, so `-e PATH=...` overrides the config's PATH.
func mergeEnv(env, extra []string) []string {
	out := env
	for _, kv := range extra {
		name, _, _ := strings.Cut(kv, "=")
		replaced := false
		for i, old := range out {
			if n, _, _ := strings.Cut(old, "="); n == name {
				out[i], replaced = kv, true
			}
		}
		if !replaced {
			out = append(out, kv)
		}
	}
	return out
}

// parseUser applies --user uid[:gid].
func parseUser(s string, u *specs.User) error {
	uidStr, gidStr, hasGid := strings.Cut(s, ":")
	uid, err := strconv.ParseUint(uidStr, 10, 32)
	if err != nil {
		return fmt.Errorf("--user %q: uid %q is not a number (names are not supported)", s, uidStr)
	}
	if hasGid {
		gid, err := strconv.ParseUint(gidStr, 10, 32)
		if err != nil {
			return fmt.Errorf("--user %q: gid %q is not a number", s, gidStr)
		}
		u.GID = uint32(gid)
	}
	u.UID = uint32(uid)
	return nil
}

// addCaps applies --cap: each capability is added to the bounding,
// effective and permitted sets, and to ambient only when the config has an
// inheritable set (ambient needs inheritable), as runc does.
func addCaps(p *specs.Process, names []string) error {
	if len(names) == 0 {
		return nil
	}
	if p.Capabilities == nil {
		p.Capabilities = &specs.LinuxCapabilities{}
	}
	c := p.Capabilities
	for _, n := range names {
		name := strings.ToUpper(n)
		if !strings.HasPrefix(name, "CAP_") {
			name = "CAP_" + name
		}
		if _, err := caps.Parse(name); err != nil {
			return fmt.Errorf("--cap %q: not a capability", n)
		}
		c.Bounding = appendNew(c.Bounding, name)
		c.Effective = appendNew(c.Effective, name)
		c.Permitted = appendNew(c.Permitted, name)
		if c.Inheritable != nil {
			c.Ambient = appendNew(c.Ambient, name)
		}
	}
	return nil
}

func appendNew(list []string, v string) []string {
	if slices.Contains(list, v) {
		return list
	}
	return append(list, v)
}

// LoadProcessFile reads and validates a --process file (a runtime-spec
// process object). Errors name the file's field: "process.json: args:
// must not be empty".
func LoadProcessFile(file string) (*specs.Process, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("--process: %w", err)
	}
	var p specs.Process
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("process.json: %s: %w", file, err)
	}
	if err := ValidateProcess(&p); err != nil {
		return nil, fmt.Errorf("process.json: %w", err)
	}
	return &p, nil
}

// ProcessError is a process object error tied to a field, as the process
// object spells it: "args", "capabilities.bounding[1]", "user.uid".
type ProcessError struct {
	Field string
	Msg   string
	kind  error
}

func (e *ProcessError) Error() string { return e.Field + ": " + e.Msg }

// Unwrap returns ErrNotSupported for fields berth does not apply to an
// exec'd process.
func (e *ProcessError) Unwrap() error { return e.kind }

func procErr(field, format string, args ...any) error {
	return &ProcessError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// flagError words a validation error of a merged process (its fields come
// from the config snapshot or from a flag) with the process. prefix.
func flagError(err error) error {
	var pe *ProcessError
	if errors.As(err, &pe) {
		return &ProcessError{Field: "process." + pe.Field, Msg: pe.Msg, kind: pe.kind}
	}
	return err
}

// ValidateProcess checks a process to exec: what create checks of
// process (args, cwd, env, capabilities, rlimits), and refuses what berth
// cannot apply to an exec'd process rather than ignoring it.
func ValidateProcess(p *specs.Process) error {
	if len(p.Args) == 0 {
		return procErr("args", "must not be empty")
	}
	if p.Cwd == "" {
		return procErr("cwd", "must not be empty")
	}
	if !path.IsAbs(p.Cwd) {
		return procErr("cwd", "%q is not an absolute path", p.Cwd)
	}
	for i, kv := range p.Env {
		name, _, ok := strings.Cut(kv, "=")
		if !ok || name == "" || strings.ContainsRune(kv, 0) {
			return procErr(fmt.Sprintf("env[%d]", i), "%q is not NAME=value", kv)
		}
	}
	if err := validateProcessCaps(p.Capabilities); err != nil {
		return err
	}
	if err := validateProcessRlimits(p.Rlimits); err != nil {
		return err
	}
	if a := p.ExecCPUAffinity; a != nil {
		for _, f := range [][2]string{{"initial", a.Initial}, {"final", a.Final}} {
			if _, err := spec.CPUSet(f[1]); f[1] != "" && err != nil {
				return procErr("execCPUAffinity."+f[0], "%q: %v", f[1], err)
			}
		}
	}
	return refuseUnsupported(p)
}

func validateProcessCaps(c *specs.LinuxCapabilities) error {
	return asProcErr(spec.CheckCapabilities(c, "capabilities"))
}

func validateProcessRlimits(rl []specs.POSIXRlimit) error {
	return asProcErr(spec.CheckRlimits(rl, "rlimits"))
}

// asProcErr words a spec check of a process field as a process error.
func asProcErr(err error) error {
	var fe *spec.FieldError
	if errors.As(err, &fe) {
		return procErr(fe.Path, "%s", fe.Msg)
	}
	return err
}

// refuseUnsupported: berth applies no AppArmor profile nor SELinux label,
// and resolves no user name; accepting them would silently run the process
// without them. (scheduler and ioPriority are checked by the kernel when
// applied; their errors name the field too.)
func refuseUnsupported(p *specs.Process) error {
	fields := []struct {
		name string
		set  bool
	}{
		{"apparmorProfile", p.ApparmorProfile != ""},
		{"selinuxLabel", p.SelinuxLabel != ""},
		{"user.username", p.User.Username != ""},
	}
	for _, f := range fields {
		if f.set {
			return &ProcessError{Field: f.name, Msg: "not supported by berth", kind: ErrNotSupported}
		}
	}
	return nil
}
