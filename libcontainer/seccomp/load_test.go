package seccomp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// Load changes the calling thread for good, so every Load test runs in a
// child: the test binary re-executed with childEnv naming the mode.
const childEnv = "BERTH_SECCOMP_TEST_CHILD"

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		// The filter is per thread: load and probe from this one.
		runtime.LockOSThread()
		if err := children[mode](); err != nil {
			fmt.Fprintf(os.Stderr, "child %s: %v\n", mode, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

var children = map[string]func() error{
	"rules":         childRules,
	"default-errno": childDefaultErrno,
	"kill-process":  childKillProcess,
	"tsync":         childTsync,
	"flags":         childFlags,
	"needs-cap":     childNeedsCap,
	"conflict":      childConflict,
	"program":       childProgram,
}

// runChild runs the test binary in mode and returns its wait status.
func runChild(t *testing.T, mode string) (syscall.WaitStatus, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("run child %s: %v", mode, err)
	}
	return cmd.ProcessState.Sys().(syscall.WaitStatus), out.String()
}

func expectExit0(t *testing.T, mode string) {
	t.Helper()
	ws, out := runChild(t, mode)
	if !ws.Exited() || ws.ExitStatus() != 0 {
		t.Fatalf("child %s: %v\n%s", mode, ws, out)
	}
}

func TestLoadRules(t *testing.T)           { expectExit0(t, "rules") }
func TestLoadDefaultErrnoRet(t *testing.T) { expectExit0(t, "default-errno") }
func TestLoadTsync(t *testing.T)           { expectExit0(t, "tsync") }
func TestLoadFlags(t *testing.T)           { expectExit0(t, "flags") }
func TestLoadConflict(t *testing.T)        { expectExit0(t, "conflict") }
func TestLoadProgramJSON(t *testing.T)     { expectExit0(t, "program") }

func TestCompile(t *testing.T) {
	if p, err := Compile(nil); p != nil || err != nil {
		t.Errorf("Compile(nil) = %v, %v", p, err)
	}
	p, err := Compile(valid())
	if err != nil {
		t.Fatal(err)
	}
	if len(p.BPF) == 0 || len(p.BPF)%8 != 0 || p.Flags != unix.SECCOMP_FILTER_FLAG_LOG || p.SpecAllowDefault {
		t.Errorf("program: %d bytes, flags %#x, specAllowDefault %v", len(p.BPF), p.Flags, p.SpecAllowDefault)
	}
	bad := &Program{BPF: []byte{1, 2, 3}}
	if err := bad.Load(); err == nil {
		t.Error("Load of a 3-byte program succeeded")
	}
}

func TestLoadKillProcess(t *testing.T) {
	ws, out := runChild(t, "kill-process")
	if !ws.Signaled() || ws.Signal() != unix.SIGSYS {
		t.Fatalf("child: %v, want killed by SIGSYS\n%s", ws, out)
	}
}

func TestLoadNeedsCapSysAdmin(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (drops CAP_SYS_ADMIN in the child)")
	}
	expectExit0(t, "needs-cap")
}

// allowSelf keeps a child usable as non-root: without CAP_SYS_ADMIN,
// loading needs no_new_privs. As root, Load runs without it (the
// CAP_SYS_ADMIN path the init takes when process.noNewPrivileges is false).
func allowSelf() error {
	if os.Geteuid() == 0 {
		return nil
	}
	return unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
}

// want checks that raw syscall nr with args fails with errno (0: succeeds).
func want(name string, errno syscall.Errno, nr uintptr, args ...uintptr) error {
	var a [3]uintptr
	copy(a[:], args)
	_, _, e := unix.RawSyscall(nr, a[0], a[1], a[2])
	if e != errno {
		return fmt.Errorf("%s: errno %d (%v), want %d (%v)", name, int(e), e, int(errno), errno)
	}
	return nil
}

func childRules() error {
	if err := allowSelf(); err != nil {
		return err
	}
	eq := func(i uint, v uint64) specs.LinuxSeccompArg {
		return specs.LinuxSeccompArg{Index: i, Value: v, Op: specs.OpEqualTo}
	}
	s := &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32},
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"getpid"}, Action: specs.ActAllow}, // the default: skipped
			{Names: []string{"no_such_syscall", "mkdirat", "mkdir"}, Action: specs.ActErrno},
			{Names: []string{"uname"}, Action: specs.ActErrno, ErrnoRet: ptr(uint(38))},
			{Names: []string{"personality"}, Action: specs.ActErrno, ErrnoRet: ptr(uint(1)),
				Args: []specs.LinuxSeccompArg{eq(0, 0xffffffff)}},
			// Two arguments: ANDed in one rule.
			{Names: []string{"getpriority"}, Action: specs.ActErrno, ErrnoRet: ptr(uint(77)),
				Args: []specs.LinuxSeccompArg{eq(0, unix.PRIO_PROCESS), eq(1, 424242)}},
			// The same argument twice: one rule each, ORed (as runc).
			{Names: []string{"getpgid"}, Action: specs.ActErrno, ErrnoRet: ptr(uint(99)),
				Args: []specs.LinuxSeccompArg{eq(0, 11111), eq(0, 22222)}},
			// MASKED_EQ: value is the mask, valueTwo what the masked arg equals.
			{Names: []string{"lseek"}, Action: specs.ActErrno, ErrnoRet: ptr(uint(66)),
				Args: []specs.LinuxSeccompArg{{Index: 2, Value: 0xf0, ValueTwo: 0x40, Op: specs.OpMaskedEqual}}},
			// No tracer: the kernel fails a TRACE syscall with ENOSYS.
			{Names: []string{"getsid"}, Action: specs.ActTrace},
			{Names: []string{"getuid"}, Action: specs.ActLog},
		},
	}
	if err := Load(s); err != nil {
		return err
	}
	path, _ := unix.BytePtrFromString("/nonexistent-berth/x")
	p := uintptr(unsafe.Pointer(path))
	fdcwd := unix.AT_FDCWD
	var uts unix.Utsname
	for _, err := range []error{
		want("mkdirat", unix.EPERM, unix.SYS_MKDIRAT, uintptr(fdcwd), p, 0o755),
		want("uname", unix.ENOSYS, unix.SYS_UNAME, uintptr(unsafe.Pointer(&uts))),
		want("personality(0xffffffff)", unix.EPERM, unix.SYS_PERSONALITY, 0xffffffff),
		want("getpriority(PROCESS, 424242)", 77, unix.SYS_GETPRIORITY, unix.PRIO_PROCESS, 424242),
		want("getpriority(PROCESS, 0)", 0, unix.SYS_GETPRIORITY, unix.PRIO_PROCESS, 0),
		want("getpriority(PGRP, 424242)", unix.ESRCH, unix.SYS_GETPRIORITY, unix.PRIO_PGRP, 424242),
		want("getpgid(11111)", 99, unix.SYS_GETPGID, 11111),
		want("getpgid(22222)", 99, unix.SYS_GETPGID, 22222),
		want("getpgid(0)", 0, unix.SYS_GETPGID, 0),
		want("lseek(-1, 0, 0x45)", 66, unix.SYS_LSEEK, ^uintptr(0), 0, 0x45),
		want("lseek(-1, 0, 0x05)", unix.EBADF, unix.SYS_LSEEK, ^uintptr(0), 0, 0x05),
		want("getsid", unix.ENOSYS, unix.SYS_GETSID, 0),
		want("getuid", 0, unix.SYS_GETUID),
		want("getpid", 0, unix.SYS_GETPID),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}

// childDefaultErrno denies by default with defaultErrnoRet, allowing every
// syscall of this architecture but getppid.
func childDefaultErrno() error {
	if err := allowSelf(); err != nil {
		return err
	}
	var names []string
	for nr := range 1024 {
		if name, err := libseccomp.ScmpSyscall(nr).GetName(); err == nil && name != "getppid" {
			names = append(names, name)
		}
	}
	s := &specs.LinuxSeccomp{
		DefaultAction:   specs.ActErrno,
		DefaultErrnoRet: ptr(uint(unix.EHWPOISON)),
		Syscalls:        []specs.LinuxSyscall{{Names: names, Action: specs.ActAllow}},
	}
	if err := Load(s); err != nil {
		return err
	}
	if err := want("getppid", unix.EHWPOISON, unix.SYS_GETPPID); err != nil {
		return err
	}
	return want("getpid", 0, unix.SYS_GETPID)
}

func childKillProcess() error {
	if err := allowSelf(); err != nil {
		return err
	}
	// No core file for the expected death.
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{}); err != nil {
		return err
	}
	s := &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"getppid"}, Action: specs.ActKillProcess}},
	}
	if err := Load(s); err != nil {
		return err
	}
	unix.RawSyscall(unix.SYS_GETPPID, 0, 0, 0)
	return errors.New("getppid returned under SCMP_ACT_KILL_PROCESS")
}

// childTsync checks that SECCOMP_FILTER_FLAG_TSYNC reaches another thread.
func childTsync() error {
	if err := allowSelf(); err != nil {
		return err
	}
	s := &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Flags:         []specs.LinuxSeccompFlag{flagTsync},
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"getppid"}, Action: specs.ActErrno, ErrnoRet: ptr(uint(55))}},
	}
	// Make sure other threads exist before the load.
	started := make(chan int)
	probe := make(chan error)
	go func() {
		runtime.LockOSThread() // main is locked too: another thread
		started <- unix.Gettid()
		<-started
		probe <- want("getppid on another thread", 55, unix.SYS_GETPPID)
	}()
	other := <-started
	if err := Load(s); err != nil {
		return err
	}
	if other == unix.Gettid() {
		return errors.New("probe goroutine runs on the loading thread")
	}
	started <- 0
	if err := <-probe; err != nil {
		return err
	}
	return want("getppid", 55, unix.SYS_GETPPID)
}

// childFlags loads with every spec flag this kernel has.
func childFlags() error {
	if err := allowSelf(); err != nil {
		return err
	}
	s := &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Flags: []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagLog, specs.LinuxSeccompFlagSpecAllow,
			specs.LinuxSeccompFlagWaitKillableRecv},
		Syscalls: []specs.LinuxSyscall{{Names: []string{"getppid"}, Action: specs.ActErrno}},
	}
	if err := Load(s); err != nil {
		return err
	}
	return want("getppid", unix.EPERM, unix.SYS_GETPPID)
}

// childNeedsCap: without no_new_privs and without CAP_SYS_ADMIN the load
// is refused with a message saying so; with no_new_privs it works.
func childNeedsCap() error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return err
	}
	data[0].Effective &^= 1 << unix.CAP_SYS_ADMIN
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return err
	}
	s := &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"getppid"}, Action: specs.ActErrno}},
	}
	err := Load(s)
	if !errors.Is(err, unix.EACCES) || !strings.Contains(err.Error(), "CAP_SYS_ADMIN") {
		return fmt.Errorf("Load without CAP_SYS_ADMIN and no_new_privs = %v", err)
	}
	if err := want("getppid before a load", 0, unix.SYS_GETPPID); err != nil {
		return err
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return err
	}
	if err := Load(s); err != nil {
		return err
	}
	return want("getppid", unix.EPERM, unix.SYS_GETPPID)
}

// childConflict: two rules giving one syscall different actions. libseccomp
// 2.5 keeps the first and ignores the second (as under runc); should a
// libseccomp refuse it instead, the error must name the second rule.
func childConflict() error {
	if err := allowSelf(); err != nil {
		return err
	}
	s := &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"getppid"}, Action: specs.ActErrno},
			{Names: []string{"getppid"}, Action: specs.ActErrno, ErrnoRet: ptr(uint(5))},
		},
	}
	err := Load(s)
	if err == nil {
		return want("getppid", unix.EPERM, unix.SYS_GETPPID)
	}
	if !strings.HasPrefix(err.Error(), "linux.seccomp.syscalls[1].names[0]: ") {
		return fmt.Errorf("error does not name the rule: %v", err)
	}
	return nil
}

// BenchmarkCompile measures what Load does before seccomp(2) for a profile
// the size of Docker's default (every syscall of the arch allowed by name).
func BenchmarkCompile(b *testing.B) {
	var names []string
	for nr := range 1024 {
		if name, err := libseccomp.ScmpSyscall(nr).GetName(); err == nil {
			names = append(names, name)
		}
	}
	s := &specs.LinuxSeccomp{
		DefaultAction: specs.ActErrno,
		Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32},
		Syscalls:      []specs.LinuxSyscall{{Names: names, Action: specs.ActAllow}},
	}
	for b.Loop() {
		f, err := parse(s)
		if err != nil {
			b.Fatal(err)
		}
		prog, err := f.compile()
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(len(prog)), "insns")
	}
}

// childProgram compiles, sends the program through JSON (as the parent
// would to the init), and loads what comes out.
func childProgram() error {
	if err := allowSelf(); err != nil {
		return err
	}
	p, err := Compile(&specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"getppid"}, Action: specs.ActErrno, ErrnoRet: ptr(uint(42))}},
	})
	if err != nil {
		return err
	}
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	var q Program
	if err := json.Unmarshal(b, &q); err != nil {
		return err
	}
	if err := q.Load(); err != nil {
		return err
	}
	return want("getppid", 42, unix.SYS_GETPPID)
}
