// Package seccomp checks and loads the linux.seccomp filter of a config.json.
//
// libseccomp (through libseccomp-golang) compiles the filter to classic BPF;
// berth then loads that program with seccomp(2) itself, not with
// seccomp_load, so that it alone picks the filter flags: libseccomp-golang
// always turns on TSYNC (every thread of the Go runtime would get the
// filter) and libseccomp 2.5 has no attribute for WAIT_KILLABLE_RECV. This is
// also where later work plugs in: the -ENOSYS stub runc prepends, and the
// NEW_LISTENER flag of SCMP_ACT_NOTIFY.
package seccomp

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

const (
	// bpfMaxInsns is the kernel's limit on one classic BPF program.
	bpfMaxInsns = 4096
	// optimizeAbove is how many syscall names make the binary-tree layout
	// worth it (runc's threshold; libseccomp <= 2.5.4 also misbehaves with
	// the tree and no rules at all).
	optimizeAbove = 32
	// waitKillableProbe is how the kernel takes WAIT_KILLABLE_RECV: only
	// together with NEW_LISTENER.
	waitKillableProbe = unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV | unix.SECCOMP_FILTER_FLAG_NEW_LISTENER
)

// Load builds the filter s asks for and loads it into the calling thread;
// a nil s, or one with neither defaultAction nor syscalls, loads nothing.
// It is Compile then Program.Load; everything Validate refuses, Load
// refuses too, before loading anything.
//
// The filter goes to the calling thread only (SECCOMP_FILTER_FLAG_TSYNC
// only when linux.seccomp.flags asks for it), so the caller must hold
// runtime.LockOSThread and execve the user process from that same thread;
// the Go runtime's other threads stay unfiltered and die at execve.
//
// Load does not set no_new_privs: the caller decides (process.noNewPrivileges).
// Without no_new_privs the kernel requires CAP_SYS_ADMIN (in the current
// user namespace), so the caller must then load before dropping
// capabilities. Every syscall the caller makes after Load, up to and
// including execve, goes through the filter.
//
// Syscall names libseccomp does not know on this architecture are skipped
// (see Unknown). Without a flags field, SECCOMP_FILTER_FLAG_SPEC_ALLOW is
// used if the kernel has it (as runc does); a flag that is asked for and
// that the kernel lacks is an error naming it.
func Load(s *specs.LinuxSeccomp) error {
	p, err := Compile(s)
	if err != nil || p == nil {
		return err
	}
	return p.Load()
}

// Program is a compiled filter, ready for Program.Load. It is plain data
// (JSON-friendly), so the parent can compile while the child sets up its
// rootfs, or take it from a cache, and send it to the init: compiling is
// the costly part (about 20 ms for a Docker-sized profile with its three
// x86 architectures, against about 2 ms for the native one alone), loading
// is one syscall.
type Program struct {
	// BPF is the classic BPF program: 8 bytes per instruction, in the
	// native byte order (struct sock_filter).
	BPF []byte `json:"bpf"`
	// Flags are the seccomp(2) flags to load with.
	Flags uint `json:"flags,omitempty"`
	// SpecAllowDefault: Flags holds SPEC_ALLOW only because the config has
	// no flags field; Load drops it if the kernel lacks it (as runc does).
	SpecAllowDefault bool `json:"specAllowDefault,omitempty"`
	// WaitKillable: the config asks for WAIT_KILLABLE_RECV. The kernel takes
	// it only with a notify listener, which berth does not create yet, so
	// Load only checks that the kernel knows it.
	WaitKillable bool `json:"waitKillable,omitempty"`
	// ConfigFlags are linux.seccomp.flags, to name one the kernel lacks.
	ConfigFlags []specs.LinuxSeccompFlag `json:"configFlags,omitempty"`
	// Notify: the filter has SCMP_ACT_NOTIFY rules; loading it makes a
	// listener fd (SECCOMP_FILTER_FLAG_NEW_LISTENER) for the agent.
	Notify bool `json:"notify,omitempty"`
}

// Compile checks s (see Validate) and has libseccomp build its BPF program;
// it returns nil, nil when s asks for no filter. It needs libseccomp but
// neither privileges nor the container: the parent can call it.
func Compile(s *specs.LinuxSeccomp) (*Program, error) {
	f, err := parse(s)
	if err != nil || f == nil {
		return nil, err
	}
	prog, err := f.compile()
	if err != nil {
		return nil, err
	}
	return &Program{
		BPF:   unsafe.Slice((*byte)(unsafe.Pointer(&prog[0])), 8*len(prog)),
		Flags: f.flagBits, SpecAllowDefault: f.specAllowDefault,
		WaitKillable: f.waitKillable, ConfigFlags: s.Flags, Notify: notifies(s),
	}, nil
}

// compile has libseccomp build the BPF program for f, for the native
// architecture plus f.archs.
func (f *filter) compile() ([]unix.SockFilter, error) {
	lf, err := libseccomp.NewFilter(f.defAct)
	if err != nil {
		return nil, fmt.Errorf("%s.defaultAction: %w", base, err)
	}
	defer lf.Release()
	for i, a := range f.archs {
		// The native arch is always in; adding it again is not an error.
		if err := lf.AddArch(a); err != nil {
			return nil, fmt.Errorf("%s.architectures[%d]: add %q: %w", base, i, f.spec.Architectures[i], err)
		}
	}
	if f.names > optimizeAbove {
		// Best effort: an older libseccomp keeps the linear layout.
		_ = lf.SetOptimize(2)
	}
	for i := range f.rules {
		if err := addRule(lf, &f.rules[i]); err != nil {
			return nil, err
		}
	}
	return export(lf)
}

// addRule adds r for each of its names that libseccomp knows.
func addRule(lf *libseccomp.ScmpFilter, r *rule) error {
	for j, name := range r.names {
		nr, err := libseccomp.GetSyscallFromName(name)
		if err != nil {
			continue // not a syscall on this arch: skipped, as runc does
		}
		if err := addOne(lf, nr, r); err != nil {
			return fmt.Errorf("%s.syscalls[%d].names[%d]: add rule for %q: %w", base, r.idx, j, name, err)
		}
	}
	return nil
}

func addOne(lf *libseccomp.ScmpFilter, nr libseccomp.ScmpSyscall, r *rule) error {
	switch {
	case len(r.conds) == 0:
		return lf.AddRule(nr, r.act)
	case r.split:
		for k := range r.conds {
			if err := lf.AddRuleConditional(nr, r.act, r.conds[k:k+1]); err != nil {
				return err
			}
		}
		return nil
	default:
		return lf.AddRuleConditional(nr, r.act, r.conds)
	}
}

// export returns lf as BPF instructions. libseccomp >= 2.6 writes to
// memory; older ones only to an fd, so a memfd stands in.
func export(lf *libseccomp.ScmpFilter) ([]unix.SockFilter, error) {
	b, err := lf.ExportBPFMem()
	if errors.Is(err, unix.EOPNOTSUPP) {
		return exportMemfd(lf)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: export filter: %w", base, err)
	}
	if len(b) == 0 || len(b)%8 != 0 {
		return nil, fmt.Errorf("%s: export filter: %d bytes is not a BPF program", base, len(b))
	}
	// A []byte of 8 bytes or more is 8-aligned: reuse it in place.
	return unsafe.Slice((*unix.SockFilter)(unsafe.Pointer(&b[0])), len(b)/8), nil
}

func exportMemfd(lf *libseccomp.ScmpFilter) ([]unix.SockFilter, error) {
	fd, err := unix.MemfdCreate("berth-seccomp", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("%s: export filter: memfd_create: %w", base, err)
	}
	file := os.NewFile(uintptr(fd), "berth-seccomp")
	defer file.Close()
	if err := lf.ExportBPF(file); err != nil {
		return nil, fmt.Errorf("%s: export filter: %w", base, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, fmt.Errorf("%s: export filter: fstat: %w", base, err)
	}
	if st.Size == 0 || st.Size%8 != 0 || st.Size > 8*bpfMaxInsns*16 {
		return nil, fmt.Errorf("%s: export filter: %d bytes is not a BPF program", base, st.Size)
	}
	prog := make([]unix.SockFilter, st.Size/8)
	buf := unsafe.Slice((*byte)(unsafe.Pointer(&prog[0])), st.Size)
	for off := 0; off < len(buf); {
		n, err := unix.Pread(fd, buf[off:], int64(off))
		if err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 {
			return nil, fmt.Errorf("%s: export filter: read: %v", base, err)
		}
		off += n
	}
	return prog, nil
}

// Load installs p into the calling thread with seccomp(2); see the
// package Load for the thread, no_new_privs and capability rules. It makes
// no libseccomp call, and no syscall besides seccomp(2). A filter with
// notify rules gets a listener nobody reads: use LoadListener for those.
func (p *Program) Load() error {
	fd, err := p.LoadListener()
	if fd >= 0 {
		unix.Close(fd)
	}
	return err
}

// LoadListener is Load that returns the notify listener fd of a filter with
// SCMP_ACT_NOTIFY rules (-1 for the others); the caller hands it to the
// agent at linux.seccomp.listenerPath.
func (p *Program) LoadListener() (int, error) {
	n := len(p.BPF) / 8
	if n == 0 || len(p.BPF)%8 != 0 {
		return -1, fmt.Errorf("%s: %d bytes is not a BPF program", base, len(p.BPF))
	}
	if n > bpfMaxInsns {
		return -1, fmt.Errorf("%s: the filter compiles to %d BPF instructions, the kernel takes at most %d", base, n, bpfMaxInsns)
	}
	// Copy into instructions: p.BPF may come from JSON, with any alignment.
	prog := make([]unix.SockFilter, n)
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&prog[0])), len(p.BPF)), p.BPF)
	if p.WaitKillable && probe(waitKillableProbe) != nil {
		return -1, p.unsupported(specs.LinuxSeccompFlagWaitKillableRecv)
	}
	fl := p.Flags
	if p.Notify {
		fl |= unix.SECCOMP_FILTER_FLAG_NEW_LISTENER
		if p.WaitKillable {
			fl |= unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
		}
	}
	fd, err := setFilter(fl, prog)
	if errors.Is(err, unix.EINVAL) && p.SpecAllowDefault {
		fd, err = setFilter(fl&^unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW, prog) // kernel < 4.17
	}
	if errors.Is(err, unix.EINVAL) {
		for _, name := range p.ConfigFlags {
			if bit := flags[name]; bit != unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV && probe(bit) != nil {
				return -1, p.unsupported(name)
			}
		}
	}
	if errors.Is(err, unix.EACCES) {
		return -1, fmt.Errorf("%s: load filter: %w (without no_new_privs, loading needs CAP_SYS_ADMIN)", base, err)
	}
	if err != nil {
		return -1, fmt.Errorf("%s: load filter: %w", base, err)
	}
	if !p.Notify {
		return -1, nil
	}
	return fd, nil
}

// unsupported is the error for a flag of linux.seccomp.flags the kernel
// does not know.
func (p *Program) unsupported(name specs.LinuxSeccompFlag) error {
	for i, n := range p.ConfigFlags {
		if n == name {
			return fieldErr(fmt.Sprintf("%s.flags[%d]", base, i), "%q is not supported by the kernel", name)
		}
	}
	return fieldErr(base+".flags", "%q is not supported by the kernel", name)
}

// setFilter is seccomp(SECCOMP_SET_MODE_FILTER, flags, prog); with
// NEW_LISTENER it returns the listener fd.
func setFilter(flags uint, prog []unix.SockFilter) (int, error) {
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	r, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, uintptr(flags), uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(prog)
	if errno != 0 {
		return -1, errno
	}
	if flags&unix.SECCOMP_FILTER_FLAG_NEW_LISTENER != 0 {
		return int(r), nil
	}
	if flags&unix.SECCOMP_FILTER_FLAG_TSYNC != 0 && r != 0 {
		// With TSYNC, a positive return is the thread that could not sync.
		return -1, fmt.Errorf("SECCOMP_FILTER_FLAG_TSYNC: thread %d has a diverging filter", r)
	}
	return -1, nil
}

// probe tells whether the kernel knows flags: it checks them before it
// reads the (here NULL) program, so EFAULT means "known" and nothing is
// loaded; EINVAL means unknown.
func probe(flags uint) error {
	_, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, uintptr(flags), 0)
	if errno == unix.EFAULT {
		return nil
	}
	return errno
}

// Features describes berth's seccomp support for `berth features`:
// SCMP_ACT_NOTIFY is left out until berth supports it, and SupportedFlags
// are the known flags the running kernel accepts.
func Features() *features.Seccomp {
	enabled := true
	acts := make([]string, 0, len(actions))
	acts = append(acts, sortedKeys(actions)...)
	var supported []string
	for _, name := range sortedKeys(flags) {
		bit := flags[specs.LinuxSeccompFlag(name)]
		if bit == unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV {
			bit = waitKillableProbe
		}
		if probe(bit) == nil {
			supported = append(supported, name)
		}
	}
	return &features.Seccomp{
		Enabled: &enabled, Actions: acts, Operators: sortedKeys(operators),
		Archs: sortedKeys(archs), KnownFlags: sortedKeys(flags), SupportedFlags: supported,
	}
}
