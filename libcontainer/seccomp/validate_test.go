package seccomp

import (
	"errors"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
)

func ptr[T any](v T) *T { return &v }

// valid is a small accepted config; each case below breaks one thing.
func valid() *specs.LinuxSeccomp {
	return &specs.LinuxSeccomp{
		DefaultAction: specs.ActErrno,
		Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86},
		Flags:         []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagLog},
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"read", "write"}, Action: specs.ActAllow},
			{Names: []string{"clone3"}, Action: specs.ActErrno, ErrnoRet: ptr(uint(38))},
			{Names: []string{"ptrace"}, Action: specs.ActTrace, ErrnoRet: ptr(uint(7))},
			{Names: []string{"personality"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{
				{Index: 0, Value: 0xffffffff, Op: specs.OpEqualTo},
			}},
		},
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name        string
		edit        func(s *specs.LinuxSeccomp)
		want        string // "" for valid
		unsupported bool
	}{
		{"valid", func(s *specs.LinuxSeccomp) {}, "", false},
		{"every action", func(s *specs.LinuxSeccomp) {
			for a := range actions {
				if a != specs.ActNotify {
					s.Syscalls = append(s.Syscalls, specs.LinuxSyscall{Names: []string{"getpid"}, Action: a})
				}
			}
		}, "", false},
		{"every operator and index", func(s *specs.LinuxSeccomp) {
			var args []specs.LinuxSeccompArg
			i := uint(0)
			for op := range operators {
				args = append(args, specs.LinuxSeccompArg{Index: i % maxArgs, Op: op})
				i++
			}
			s.Syscalls = append(s.Syscalls, specs.LinuxSyscall{Names: []string{"ioctl"}, Action: specs.ActLog, Args: args})
		}, "", false},
		{"every arch and flag", func(s *specs.LinuxSeccomp) {
			s.Architectures, s.Flags = nil, nil
			for a := range archs {
				s.Architectures = append(s.Architectures, a)
			}
			for f := range flags {
				s.Flags = append(s.Flags, f)
			}
		}, "", false},
		{"unknown syscall name is fine", func(s *specs.LinuxSeccomp) {
			s.Syscalls[0].Names = append(s.Syscalls[0].Names, "no_such_syscall")
		}, "", false},
		{"disabled: nothing set", func(s *specs.LinuxSeccomp) { *s = specs.LinuxSeccomp{} }, "", false},
		{"disabled even with junk architectures", func(s *specs.LinuxSeccomp) {
			*s = specs.LinuxSeccomp{Architectures: []specs.Arch{"SCMP_ARCH_FOO"}}
		}, "", false},

		{"default action", func(s *specs.LinuxSeccomp) { s.DefaultAction = "SCMP_ACT_FOO" },
			`linux.seccomp.defaultAction: "SCMP_ACT_FOO" is not a seccomp action`, false},
		{"empty default action with syscalls", func(s *specs.LinuxSeccomp) { s.DefaultAction = "" },
			`linux.seccomp.defaultAction: "" is not a seccomp action`, false},
		{"notify default action", func(s *specs.LinuxSeccomp) { s.DefaultAction = specs.ActNotify },
			`linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action`, false},
		{"defaultErrnoRet with allow", func(s *specs.LinuxSeccomp) {
			s.DefaultAction, s.DefaultErrnoRet = specs.ActAllow, ptr(uint(1))
		}, `linux.seccomp.defaultErrnoRet: 1 is set, but SCMP_ACT_ALLOW returns no errno (only SCMP_ACT_ERRNO and SCMP_ACT_TRACE do)`, false},
		{"defaultErrnoRet too big", func(s *specs.LinuxSeccomp) { s.DefaultErrnoRet = ptr(uint(65536)) },
			`linux.seccomp.defaultErrnoRet: 65536 does not fit in 16 bits`, false},
		{"architecture", func(s *specs.LinuxSeccomp) { s.Architectures[1] = "SCMP_ARCH_FOO" },
			`linux.seccomp.architectures[1]: "SCMP_ARCH_FOO" is not an architecture`, false},
		{"flag", func(s *specs.LinuxSeccomp) { s.Flags[0] = "X" },
			`linux.seccomp.flags[0]: "X" is not a seccomp flag`, false},
		{"flag NEW_LISTENER is not for configs", func(s *specs.LinuxSeccomp) { s.Flags = append(s.Flags, "SECCOMP_FILTER_FLAG_NEW_LISTENER") },
			`linux.seccomp.flags[1]: "SECCOMP_FILTER_FLAG_NEW_LISTENER" is not a seccomp flag`, false},
		{"syscall action", func(s *specs.LinuxSeccomp) { s.Syscalls[3].Action = "SCMP_ACT_FOO" },
			`linux.seccomp.syscalls[3].action: "SCMP_ACT_FOO" is not a seccomp action`, false},
		{"errnoRet with kill", func(s *specs.LinuxSeccomp) {
			s.Syscalls[3].Action, s.Syscalls[3].ErrnoRet = specs.ActKill, ptr(uint(1))
		}, `linux.seccomp.syscalls[3].errnoRet: 1 is set, but SCMP_ACT_KILL returns no errno (only SCMP_ACT_ERRNO and SCMP_ACT_TRACE do)`, false},
		{"errnoRet too big", func(s *specs.LinuxSeccomp) { s.Syscalls[1].ErrnoRet = ptr(uint(70000)) },
			`linux.seccomp.syscalls[1].errnoRet: 70000 does not fit in 16 bits`, false},
		{"comparison", func(s *specs.LinuxSeccomp) { s.Syscalls[3].Args[0].Op = "SCMP_CMP_FOO" },
			`linux.seccomp.syscalls[3].args[0].op: "SCMP_CMP_FOO" is not a comparison`, false},
		{"arg index", func(s *specs.LinuxSeccomp) { s.Syscalls[3].Args[0].Index = 6 },
			`linux.seccomp.syscalls[3].args[0].index: 6 is above 5 (a syscall has 6 arguments)`, false},
		{"empty name", func(s *specs.LinuxSeccomp) { s.Syscalls[0].Names[1] = "" },
			`linux.seccomp.syscalls[0].names[1]: is empty`, false},
		{"notify without listenerPath", func(s *specs.LinuxSeccomp) {
			s.ListenerPath = ""
			s.Syscalls[2].Action, s.Syscalls[2].ErrnoRet = specs.ActNotify, nil
		}, `linux.seccomp.syscalls[2].action: SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath`, false},
		{"notify on write", func(s *specs.LinuxSeccomp) {
			s.ListenerPath = "/run/agent.sock"
			s.Syscalls[2].Action, s.Syscalls[2].ErrnoRet = specs.ActNotify, nil
			s.Syscalls[2].Names = []string{"getcwd", "write"}
		}, `linux.seccomp.syscalls[2].names[1]: SCMP_ACT_NOTIFY on "write" would block the container's init`, false},
		{"relative listenerPath", func(s *specs.LinuxSeccomp) { s.ListenerPath = "agent.sock" },
			`linux.seccomp.listenerPath: "agent.sock" is not an absolute path`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := valid()
			tc.edit(s)
			err := Validate(s)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || err.Error() != tc.want {
				t.Fatalf("Validate = %v\nwant %s", err, tc.want)
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Errorf("%T is not a *FieldError", err)
			}
			if got := errors.Is(err, errors.ErrUnsupported); got != tc.unsupported {
				t.Errorf("errors.Is(ErrUnsupported) = %v", got)
			}
			// Load must refuse the same config before touching the kernel.
			if lerr := Load(s); lerr == nil || lerr.Error() != tc.want {
				t.Errorf("Load = %v", lerr)
			}
		})
	}
	if err := Validate(nil); err != nil {
		t.Errorf("Validate(nil) = %v", err)
	}
}

func TestParse(t *testing.T) {
	s := valid()
	s.Syscalls = append(s.Syscalls,
		specs.LinuxSyscall{Names: []string{"getpid"}, Action: specs.ActErrno},                          // = default: skipped
		specs.LinuxSyscall{Names: []string{"getppid"}, Action: specs.ActErrno, ErrnoRet: ptr(uint(1))}, // EPERM too
		specs.LinuxSyscall{Names: []string{"kill"}, Action: specs.ActKill},
		specs.LinuxSyscall{Names: []string{"lseek"}, Action: specs.ActLog, Args: []specs.LinuxSeccompArg{
			{Index: 2, Value: 1, Op: specs.OpEqualTo}, {Index: 2, Value: 2, Op: specs.OpEqualTo},
		}},
	)
	f, err := parse(s)
	if err != nil {
		t.Fatal(err)
	}
	if want := libseccomp.ActErrno.SetReturnCode(1); f.defAct != want {
		t.Errorf("default action %#x, want ERRNO(EPERM) %#x", f.defAct, want)
	}
	var idx []int
	for _, r := range f.rules {
		idx = append(idx, r.idx)
	}
	if want := []int{0, 1, 2, 3, 6, 7}; !slices.Equal(idx, want) {
		t.Errorf("rules kept %v, want %v (rules equal to the default skipped)", idx, want)
	}
	if r := f.rules[1]; r.act != libseccomp.ActErrno.SetReturnCode(38) {
		t.Errorf("errnoRet 38: action %#x", r.act)
	}
	if r := f.rules[2]; r.act != libseccomp.ActTrace.SetReturnCode(7) {
		t.Errorf("trace 7: action %#x", r.act)
	}
	if r := f.rules[4]; r.act != libseccomp.ActKillThread {
		t.Errorf("SCMP_ACT_KILL is %#x, want KILL_THREAD", r.act)
	}
	if f.rules[3].split || !f.rules[5].split {
		t.Errorf("split: one index once %v, same index twice %v", f.rules[3].split, f.rules[5].split)
	}
	if f.specAllowDefault || f.flagBits != flags[specs.LinuxSeccompFlagLog] {
		t.Errorf("explicit flags: bits %#x default %v", f.flagBits, f.specAllowDefault)
	}
	s.Flags = nil
	if f, _ = parse(s); !f.specAllowDefault {
		t.Error("no flags field: SPEC_ALLOW not defaulted")
	}
	s.Flags = []specs.LinuxSeccompFlag{}
	if f, _ = parse(s); f.specAllowDefault || f.flagBits != 0 {
		t.Error("empty flags list: no flag must be set")
	}
}

func TestUnknown(t *testing.T) {
	s := valid()
	s.Syscalls[0].Names = append(s.Syscalls[0].Names, "no_such_syscall", "getpid")
	s.Syscalls[1].Names = append(s.Syscalls[1].Names, "no_such_syscall", "also_unknown")
	if got, want := Unknown(s), []string{"no_such_syscall", "also_unknown"}; !slices.Equal(got, want) {
		t.Errorf("Unknown = %q, want %q", got, want)
	}
	if Unknown(nil) != nil {
		t.Error("Unknown(nil) != nil")
	}
}

func TestFeatures(t *testing.T) {
	f := Features()
	if !slices.Contains(f.Actions, string(specs.ActNotify)) || !slices.Contains(f.Actions, string(specs.ActKillProcess)) {
		t.Errorf("actions %v", f.Actions)
	}
	if !slices.Contains(f.KnownFlags, string(flagTsync)) || len(f.Operators) != 7 || len(f.Archs) != len(archs) {
		t.Errorf("features %+v", f)
	}
	for _, fl := range f.SupportedFlags {
		if !slices.Contains(f.KnownFlags, fl) {
			t.Errorf("supported flag %s is not known", fl)
		}
	}
	t.Logf("supported flags on this kernel: %v", f.SupportedFlags)
}
