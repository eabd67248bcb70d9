package seccomp

import (
	"errors"
	"fmt"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

const (
	base = "linux.seccomp"
	// maxArgs is how many arguments a syscall has (seccomp_data.args).
	maxArgs = 6
	// maxRet is the largest errnoRet: SECCOMP_RET_DATA is 16 bits. runc
	// truncates larger values (70000 becomes 4464, 65536 becomes 0, i.e.
	// "succeed without running the syscall"); berth refuses them.
	maxRet = 0xffff
)

// FieldError is a linux.seccomp error tied to one JSON path, e.g.
// linux.seccomp.syscalls[3].args[0].op. Its text is "<path>: <msg>". It has
// the shape of spec.FieldError; seccomp cannot import spec (spec imports
// seccomp to validate).
type FieldError struct {
	// Path is the JSON path, with array indices.
	Path string
	// Msg says what is wrong, quoting the offending value.
	Msg string

	kind error // returned by Unwrap: errors.ErrUnsupported, or nil
}

// Error returns "<path>: <msg>".
func (e *FieldError) Error() string { return e.Path + ": " + e.Msg }

// Unwrap returns errors.ErrUnsupported for what berth does not implement
// yet (SCMP_ACT_NOTIFY, listenerPath, listenerMetadata), nil otherwise.
func (e *FieldError) Unwrap() error { return e.kind }

func fieldErr(path, format string, args ...any) *FieldError {
	return &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)}
}

func notSupported(path, format string, args ...any) *FieldError {
	return &FieldError{Path: path, Msg: fmt.Sprintf(format, args...), kind: errors.ErrUnsupported}
}

// filter is a linux.seccomp checked and turned into libseccomp values, so
// Validate and Load share one parser and Load looks every name up once.
type filter struct {
	spec   *specs.LinuxSeccomp
	defAct libseccomp.ScmpAction
	archs  []libseccomp.ScmpArch // same order as spec.Architectures
	// flagBits are the seccomp(2) flags to load with. specAllowDefault is
	// set when the config has no flags field at all: like runc, berth then
	// asks for SPEC_ALLOW, and drops it if the kernel lacks it.
	flagBits         uint
	specAllowDefault bool
	// waitKillable is SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV. The kernel
	// takes it only with a notify listener, which berth does not create
	// yet, so Load checks that the kernel knows it and otherwise ignores it.
	waitKillable bool
	rules        []rule
	names        int // syscall names in rules, for the optimizer choice
}

// rule is one linux.seccomp.syscalls entry whose action differs from the
// default action (libseccomp refuses a rule that repeats it; runc and crun
// skip such rules, and so does berth).
type rule struct {
	idx   int // index in linux.seccomp.syscalls, for errors
	act   libseccomp.ScmpAction
	names []string
	conds []libseccomp.ScmpCondition
	// split is set when two conditions test the same argument. libseccomp
	// cannot AND those in one rule, so (as runc and crun do) each condition
	// becomes its own rule: the conditions are ORed instead of ANDed.
	split bool
}

// enabled reports whether s asks for a filter. As in runc, a config with
// neither a default action nor syscalls means "no seccomp".
func enabled(s *specs.LinuxSeccomp) bool {
	return s != nil && (s.DefaultAction != "" || len(s.Syscalls) > 0)
}

// Validate checks everything about linux.seccomp that can be checked before
// a container is created: action, architecture, flag and comparison names,
// argument indices, errnoRet against its action, and what berth does not
// support yet (SCMP_ACT_NOTIFY, listenerPath, listenerMetadata: refused as
// errors.ErrUnsupported). Errors are *FieldError. Syscall names libseccomp
// does not know are not errors: Load skips them as runc does (see Unknown).
// Validate needs neither libseccomp nor the kernel; a nil s is valid.
func Validate(s *specs.LinuxSeccomp) error {
	_, err := parse(s)
	return err
}

// Unknown returns the syscall names in s that libseccomp does not know on
// the native architecture, each once, in config order. Load skips them
// (runc logs them at debug level), so the caller may log them; resolving
// every name costs a cgo call each, so call it only when the log is wanted.
func Unknown(s *specs.LinuxSeccomp) []string {
	if s == nil {
		return nil
	}
	var unknown []string
	seen := map[string]bool{}
	for _, sc := range s.Syscalls {
		for _, name := range sc.Names {
			if seen[name] {
				continue
			}
			seen[name] = true
			if _, err := libseccomp.GetSyscallFromName(name); err != nil {
				unknown = append(unknown, name)
			}
		}
	}
	return unknown
}

// parse checks s and converts it; it returns nil, nil when s asks for no
// filter.
func parse(s *specs.LinuxSeccomp) (*filter, error) {
	if !enabled(s) {
		return nil, nil
	}
	f := &filter{spec: s}
	var err error
	if s.DefaultAction == specs.ActNotify {
		// The write that hands the listener fd to berth would itself block.
		return nil, fieldErr(base+".defaultAction", "%s cannot be the default action", s.DefaultAction)
	}
	f.defAct, err = action(base+".defaultAction", s.DefaultAction, base+".defaultErrnoRet", s.DefaultErrnoRet)
	if err != nil {
		return nil, err
	}
	if err := f.parseArchs(); err != nil {
		return nil, err
	}
	if err := f.parseFlags(); err != nil {
		return nil, err
	}
	if err := checkNotify(s); err != nil {
		return nil, err
	}
	for i := range s.Syscalls {
		if err := f.parseSyscall(i); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// action converts a SCMP_ACT_* name and its errnoRet (path retPath).
// errnoRet is only for ERRNO and TRACE: the runtime-spec says a runtime
// MUST fail otherwise, and crun does (runc silently ignores it).
func action(path string, name specs.LinuxSeccompAction, retPath string, ret *uint) (libseccomp.ScmpAction, error) {
	act, ok := actions[name]
	if !ok {
		return 0, fieldErr(path, "%q is not a seccomp action", name)
	}
	if act != libseccomp.ActErrno && act != libseccomp.ActTrace {
		if ret != nil {
			return 0, fieldErr(retPath, "%d is set, but %s returns no errno (only SCMP_ACT_ERRNO and SCMP_ACT_TRACE do)", *ret, name)
		}
		return act, nil
	}
	code := uint(unix.EPERM)
	if ret != nil {
		if *ret > maxRet {
			return 0, fieldErr(retPath, "%d does not fit in 16 bits", *ret)
		}
		code = *ret
	}
	return act.SetReturnCode(int16(code)), nil
}

func (f *filter) parseArchs() error {
	for i, name := range f.spec.Architectures {
		a, ok := archs[name]
		if !ok {
			return fieldErr(fmt.Sprintf("%s.architectures[%d]", base, i), "%q is not an architecture", name)
		}
		f.archs = append(f.archs, a)
	}
	return nil
}

func (f *filter) parseFlags() error {
	if f.spec.Flags == nil {
		f.flagBits, f.specAllowDefault = unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW, true
		return nil
	}
	for i, name := range f.spec.Flags {
		bit, ok := flags[name]
		if !ok {
			return fieldErr(fmt.Sprintf("%s.flags[%d]", base, i), "%q is not a seccomp flag", name)
		}
		if bit == unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV {
			f.waitKillable = true
			continue
		}
		f.flagBits |= bit
	}
	return nil
}

// checkNotify checks user notification (SCMP_ACT_NOTIFY): a rule with it
// needs linux.seccomp.listenerPath, the agent's socket the listener fd is
// sent to. It is refused on write and sendmsg: after loading the filter the
// init still writes to its parent and sends the listener fd with those, and
// a notified call there would wait for an agent that has no fd yet.
func checkNotify(s *specs.LinuxSeccomp) error {
	if s.ListenerPath != "" && !filepath.IsAbs(s.ListenerPath) {
		return fieldErr(base+".listenerPath", "%q is not an absolute path", s.ListenerPath)
	}
	for i, sc := range s.Syscalls {
		if sc.Action != specs.ActNotify {
			continue
		}
		path := fmt.Sprintf("%s.syscalls[%d]", base, i)
		if s.ListenerPath == "" {
			return fieldErr(path+".action", "SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath")
		}
		for j, name := range sc.Names {
			if name == "write" || name == "sendmsg" {
				return fieldErr(fmt.Sprintf("%s.names[%d]", path, j), "SCMP_ACT_NOTIFY on %q would block the container's init", name)
			}
		}
	}
	return nil
}

// notifies reports whether s has an SCMP_ACT_NOTIFY rule.
func notifies(s *specs.LinuxSeccomp) bool {
	for _, sc := range s.Syscalls {
		if sc.Action == specs.ActNotify && len(sc.Names) > 0 {
			return true
		}
	}
	return false
}

// parseSyscall checks linux.seccomp.syscalls[i] and, unless its action is
// the default action, adds it to f.rules.
func (f *filter) parseSyscall(i int) error {
	sc := &f.spec.Syscalls[i]
	path := fmt.Sprintf("%s.syscalls[%d]", base, i)
	act, err := action(path+".action", sc.Action, path+".errnoRet", sc.ErrnoRet)
	if err != nil {
		return err
	}
	for j, name := range sc.Names {
		if name == "" {
			return fieldErr(fmt.Sprintf("%s.names[%d]", path, j), "is empty")
		}
	}
	r := rule{idx: i, act: act, names: sc.Names}
	var seen [maxArgs]bool
	for k, a := range sc.Args {
		apath := fmt.Sprintf("%s.args[%d]", path, k)
		if a.Index >= maxArgs {
			return fieldErr(apath+".index", "%d is above %d (a syscall has %d arguments)", a.Index, maxArgs-1, maxArgs)
		}
		op, ok := operators[a.Op]
		if !ok {
			return fieldErr(apath+".op", "%q is not a comparison", a.Op)
		}
		r.split = r.split || seen[a.Index]
		seen[a.Index] = true
		r.conds = append(r.conds, libseccomp.ScmpCondition{
			Argument: a.Index, Op: op, Operand1: a.Value, Operand2: a.ValueTwo,
		})
	}
	if act == f.defAct || len(sc.Names) == 0 {
		return nil
	}
	f.rules = append(f.rules, r)
	f.names += len(sc.Names)
	return nil
}
