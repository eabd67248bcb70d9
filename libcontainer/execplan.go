package libcontainer

import (
	"fmt"
	"os"

	"github.com/berthrt/berth/nsenter"
)

// The exec plan: setupExec and the exec of ExecInit as init plan
// operations (nsenter/plan.h), so that a process exec'd into a container
// starts no Go runtime there either. The stub joins the namespaces as
// before, runs the operations and execs; the parent reads EOF at the
// exec, or the error frame.

// compileExecPlan returns the encoded plan for cfg, or nil when the Go
// side must run (execPlanFits).
func compileExecPlan(cfg *execConfig) ([]byte, error) {
	if !execPlanFits(cfg) {
		return nil, nil
	}
	proc := cfg.Process
	var p nsenter.Plan
	// First, as the Go side does on reading its config: the stub joined
	// the namespaces through this handle on the host's procfs.
	p.Op(nsenter.OpClose, "namespaces").U32(uint32(cfg.NsFd))
	planPty(&p, cfg.ConsoleFd, proc.ConsoleSize, false) // the init's /dev/console stays
	p.Op(nsenter.OpKeyring, "session keyring").Str(cfg.ID)
	if err := planRlimits(&p, proc.Rlimits); err != nil {
		return nil, err
	}
	// The cwd as root, before the user switch, as chdirCwd (an exec'd
	// process may start where only root can enter).
	p.Op(nsenter.OpChdir, fmt.Sprintf("cwd: process.cwd %q", proc.Cwd)).Str(proc.Cwd)
	if proc.NoNewPrivileges {
		p.Op(nsenter.OpNoNewPrivs, "no_new_privs")
	}
	p.Op(nsenter.OpAffinityAll, "cpu affinity")
	if err := planUserAndExec(&p, proc, cfg.Seccomp, proc.Env, homeFlag(proc.Env), ""); err != nil {
		return nil, err
	}
	p.Op(nsenter.OpExec, "").U32(0).U32(uint32(3 + cfg.PreserveFds)).Bool(true)
	return encodedPlan(&p), nil
}

// execPlanFits reports whether the operations can express cfg: what only
// the Go side does for an exec'd process is named here.
func execPlanFits(cfg *execConfig) bool {
	p := cfg.Process
	if os.Getenv(goInitEnv) == "1" || p.Terminal != (cfg.ConsoleFd >= 0) || cfg.RootFd != 0 ||
		p.Scheduler != nil || p.IOPriority != nil || p.ExecCPUAffinity != nil ||
		p.SelinuxLabel != "" || p.ApparmorProfile != "" ||
		cfg.Personality != nil || cfg.MemoryPolicy != nil {
		return false
	}
	f := cfg.Seccomp
	return f == nil || !f.Notify && !f.WaitKillable && len(f.ConfigFlags) == 0
}
