package libcontainer

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/berthrt/berth/libcontainer/caps"
	"github.com/berthrt/berth/libcontainer/seccomp"
	"github.com/berthrt/berth/libcontainer/spec"
	"github.com/berthrt/berth/libcontainer/sys"
	"github.com/berthrt/berth/nsenter"
	"github.com/berthrt/berth/rootfs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The init plan: for the common configs the parent compiles the whole init
// sequence of setupContainer, readyAndWait and execProcess into primitive
// operations (nsenter/plan.h) that the C stub executes before the Go
// runtime would start, so the container's init costs one exec of berth's
// C constructor, not a second Go process (about 2.5 ms of CPU per
// container, a third of `run`). The Go init stays for what the plan does
// not express (planFits and rootfs.Plan): hooks that run in
// the init, seccomp notify, --no-pivot, id-mapped mounts and the rarer
// process attributes. Each operation carries the label the Go init's error
// would start with, so errors read the same.

// goInitEnv, set to 1 in berth's environment, makes every container use
// the Go init (tests compare both inits with it).
const goInitEnv = "BERTH_GO_INIT"

// compileInitPlan returns the encoded plan for cfg, or nil when the Go init
// must run. pid is the stub's, already in the container's cgroups (the
// cgroup mount binds them).
func compileInitPlan(cfg *initConfig, pid int) ([]byte, error) {
	s := cfg.Spec
	if !planFits(cfg) {
		return nil, nil
	}
	setup, final, err := rootfs.Plan(rootfsConfig(cfg), "/proc/"+strconv.Itoa(pid)+"/cgroup")
	if errors.Is(err, rootfs.ErrNeedsGoInit) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var p nsenter.Plan
	encodeSteps(&p, setup)
	planConsole(&p, cfg)
	if err := planSysctls(&p, s.Linux.Sysctl); err != nil {
		return nil, err
	}
	encodeSteps(&p, final)
	if s.Hostname != "" {
		p.Op(nsenter.OpHostname, fmt.Sprintf("hostname: hostname %q", s.Hostname)).Str(s.Hostname)
	}
	if s.Domainname != "" {
		p.Op(nsenter.OpDomainname, fmt.Sprintf("hostname: domainname %q", s.Domainname)).Str(s.Domainname)
	}
	if err := planProcess(&p, cfg); err != nil {
		return nil, err
	}
	return encodedPlan(&p), nil
}

// encodedPlan is p encoded, or nil (the Go side runs) when it would not
// leave room for the rest of the bootstrap.
func encodedPlan(p *nsenter.Plan) []byte {
	if buf := p.Encoded(); len(buf) <= nsenter.BootstrapMax/2 {
		return buf
	}
	return nil
}

// planFits reports whether the plan can express cfg: what only the Go init
// does is named here (rootfs.Plan checks the rootfs part).
func planFits(cfg *initConfig) bool {
	s := cfg.Spec
	if os.Getenv(goInitEnv) == "1" || s.Process == nil || s.Linux == nil {
		return false
	}
	p := s.Process
	if p.Terminal != (cfg.ConsoleFd >= 0) || cfg.WaitRun || initRunsHooks(s) ||
		p.Scheduler != nil || p.IOPriority != nil || p.ExecCPUAffinity != nil ||
		p.SelinuxLabel != "" || p.ApparmorProfile != "" || s.Linux.MountLabel != "" ||
		s.Linux.Personality != nil || s.Linux.MemoryPolicy != nil {
		return false
	}
	if f := cfg.Seccomp; f != nil && (f.Notify || f.WaitKillable || len(f.ConfigFlags) > 0) {
		return false
	}
	for _, ns := range s.Linux.Namespaces {
		if ns.Type == specs.MountNamespace && ns.Path != "" {
			return false
		}
	}
	return true
}

// encodeSteps encodes rootfs steps as plan operations.
func encodeSteps(p *nsenter.Plan, steps []rootfs.Step) {
	for _, st := range steps {
		switch st.Kind {
		case rootfs.StepRoot:
			p.Op(nsenter.OpRoot, st.Label).Str(st.Path).U64(st.Flags)
		case rootfs.StepMount:
			kind := uint32(nsenter.MountDir)
			if st.File {
				kind = nsenter.MountFile
			}
			p.Op(nsenter.OpMount, st.Label).Str(st.Path).Str(st.Source).Str(st.FSType).Str(st.Data).
				U64(st.Flags).U32(kind)
			finishFields(p, st).Str(st.AltSource)
		case rootfs.StepFinish:
			finishFields(p.Op(nsenter.OpFinish, st.Label).Str(st.Path), st)
		case rootfs.StepMknod:
			p.Op(nsenter.OpMknod, st.Label).Str(st.Path).U32(st.Mode).U64(st.Dev).U32(st.UID).U32(st.GID)
		case rootfs.StepSymlink:
			p.Op(nsenter.OpSymlink, st.Label).Str(st.Path).Str(st.Name).Str(st.Target).Bool(st.Replace)
		case rootfs.StepPivot:
			p.Op(nsenter.OpPivot, st.Label).U64(st.Flags)
		case rootfs.StepHook:
			p.Op(nsenter.OpHooks, st.Label)
		case rootfs.StepReadonly:
			p.Op(nsenter.OpReadonly, st.Label).Str(st.Path)
		case rootfs.StepMask:
			p.Op(nsenter.OpMask, st.Label).Str(st.Path)
		}
	}
}

// finishFields are the fields of step 4 of OP_MOUNT (and of OP_FINISH).
func finishFields(p *nsenter.Plan, st rootfs.Step) *nsenter.Plan {
	return p.Bool(st.Remount).U64(st.RemountFlags).U64(st.Cleared).U64(st.RecSet).U64(st.RecClr).
		U64s(st.Propagation)
}

// planConsole is setupConsole: after the pivot (the container's devpts),
// before the sysctls and Finalize (a read-only /dev or root would forbid
// making /dev/console).
func planConsole(p *nsenter.Plan, cfg *initConfig) {
	planPty(p, cfg.ConsoleFd, cfg.Spec.Process.ConsoleSize, true)
}

// planPty is the terminal, its master sent to the console socket at fd (-1:
// no terminal); the init also binds the slave onto /dev/console.
func planPty(p *nsenter.Plan, fd int, size *specs.Box, devConsole bool) {
	if fd < 0 {
		return
	}
	var h, w uint32
	if size != nil {
		h, w = uint32(size.Height), uint32(size.Width)
	}
	p.Op(nsenter.OpConsole, "console").U32(uint32(fd)).Bool(size != nil).U32(h).U32(w).Bool(devConsole)
}

// planSysctls is writeSysctls as operations, in the same (sorted) order.
func planSysctls(p *nsenter.Plan, sysctl map[string]string) error {
	for _, key := range slices.Sorted(maps.Keys(sysctl)) {
		rel, err := spec.SysctlPath(key)
		if err != nil {
			return fmt.Errorf("sysctl: linux.sysctl[%q]: %w", key, err)
		}
		p.Op(nsenter.OpSysctl, fmt.Sprintf("sysctl: linux.sysctl[%q]", key)).Str(rel).Str(sysctl[key])
	}
	return nil
}

// planProcess is the second half of setupContainer and execProcess as
// operations, in their order (see setupContainer for why that order).
func planProcess(p *nsenter.Plan, cfg *initConfig) error {
	proc := cfg.Spec.Process
	if !cfg.NoNewKeyring {
		p.Op(nsenter.OpKeyring, "session keyring").Str(cfg.ID)
	}
	if err := planRlimits(p, proc.Rlimits); err != nil {
		return err
	}
	p.Op(nsenter.OpMkcwd, fmt.Sprintf("cwd: process.cwd %q", proc.Cwd)).Str(proc.Cwd)
	if proc.NoNewPrivileges {
		p.Op(nsenter.OpNoNewPrivs, "no_new_privs")
	}
	p.Op(nsenter.OpAffinityAll, "cpu affinity")
	env, flags := planEnv(cfg)
	if err := planUserAndExec(p, proc, cfg.Seccomp, env, flags, proc.Cwd); err != nil {
		return err
	}
	p.Op(nsenter.OpExec, "").U32(uint32(cfg.FifoFd)).U32(uint32(3 + cfg.PreserveFds)).Bool(false)
	return nil
}

// planRlimits is setRlimits as operations.
func planRlimits(p *nsenter.Plan, rlimits []specs.POSIXRlimit) error {
	for i, r := range rlimits {
		res, ok := sys.Rlimit(r.Type)
		if !ok {
			return fmt.Errorf("rlimits: process.rlimits[%d].type: %q is not a resource limit", i, r.Type)
		}
		p.Op(nsenter.OpRlimit, fmt.Sprintf("rlimits: process.rlimits[%d]: %s %d/%d", i, r.Type, r.Soft, r.Hard)).
			U32(uint32(res)).U64(r.Soft).U64(r.Hard)
	}
	return nil
}

// planUserAndExec is the end of the sequence, shared with an exec'd
// process: the seccomp filter before the user switch without
// no_new_privs, the switch, the lookup of the executable (and the chdir to
// cwd, unless ""), the filter last with no_new_privs.
func planUserAndExec(p *nsenter.Plan, proc *specs.Process, f *seccomp.Program, env []string, flags uint32, cwd string) error {
	if !proc.NoNewPrivileges {
		planSeccomp(p, f)
	}
	if err := planUser(p, proc); err != nil {
		return err
	}
	p.Op(nsenter.OpPrepareExec, "").U32(flags).U32(proc.User.UID).Str(cwd).
		Strs(proc.Args).Strs(env)
	if proc.NoNewPrivileges {
		planSeccomp(p, f)
	}
	return nil
}

func planSeccomp(p *nsenter.Plan, f *seccomp.Program) {
	if f != nil {
		p.Op(nsenter.OpSeccomp, "seccomp").U32(uint32(f.Flags)).Bool(f.SpecAllowDefault).Bytes(f.BPF)
	}
}

// planUser is switchUser as one operation.
func planUser(p *nsenter.Plan, proc *specs.Process) error {
	m, err := caps.Masks(proc.Capabilities)
	if err != nil {
		return fmt.Errorf("user and capabilities: %w", err)
	}
	u := proc.User
	var umask uint32
	if u.Umask != nil {
		umask = *u.Umask
	}
	p.Op(nsenter.OpUser, "user and capabilities").U32(u.UID).U32(u.GID).U32s(u.AdditionalGids).
		Bool(u.Umask != nil).U32(umask).U32(uint32(caps.Last())).
		U64(m[0]).U64(m[1]).U64(m[2]).U64(m[3]).U64(m[4] & m[2] & m[3])
	return nil
}

// homeFlag asks the stub for HOME from the container's /etc/passwd, as
// processEnv adds it, unless env has one.
func homeFlag(env []string) uint32 {
	if slices.ContainsFunc(env, func(e string) bool { return strings.HasPrefix(e, "HOME=") }) {
		return 0
	}
	return nsenter.ExecHome
}

// planEnv is processEnv and listenEnv: what the parent knows, and flags for
// what only the init can add (HOME from the container's /etc/passwd, its
// own pid).
func planEnv(cfg *initConfig) ([]string, uint32) {
	env := append([]string(nil), cfg.Spec.Process.Env...)
	flags := homeFlag(env)
	if cfg.ListenFds > 0 {
		env = setEnv(env, "LISTEN_FDS", strconv.Itoa(cfg.ListenFds))
		env = slices.DeleteFunc(env, func(e string) bool { return strings.HasPrefix(e, "LISTEN_PID=") })
		flags |= nsenter.ExecListenPid
		if cfg.ListenFdNames != "" {
			env = setEnv(env, "LISTEN_FDNAMES", cfg.ListenFdNames)
		}
	}
	return env, flags
}
