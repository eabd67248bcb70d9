package libcontainer

import (
	"slices"
	"testing"

	"github.com/berthrt/berth/libcontainer/seccomp"
	"github.com/berthrt/berth/libcontainer/spec"
	"github.com/berthrt/berth/nsenter"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func execPlanCfg() *execConfig {
	s := spec.Example()
	s.Process.Terminal = false
	s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 1024, Hard: 1024}}
	return &execConfig{ID: "c1", Process: s.Process, NsFd: 4, ConsoleFd: -1,
		Seccomp: &seccomp.Program{BPF: make([]byte, 8)}}
}

// TestExecPlanOrder: the exec plan follows setupExec's order, without the
// rootfs, the cwd's mkdir or /dev/console, and execs as a joined process.
func TestExecPlanOrder(t *testing.T) {
	for _, nnp := range []bool{false, true} {
		cfg := execPlanCfg()
		cfg.Process.NoNewPrivileges = nnp
		buf, err := compileExecPlan(cfg)
		if err != nil || buf == nil {
			t.Fatalf("no plan: %v", err)
		}
		ops, err := nsenter.PlanOps(buf)
		if err != nil {
			t.Fatal(err)
		}
		want := []uint32{nsenter.OpClose, nsenter.OpKeyring, nsenter.OpRlimit, nsenter.OpChdir}
		if nnp {
			want = append(want, nsenter.OpNoNewPrivs, nsenter.OpAffinityAll, nsenter.OpUser,
				nsenter.OpPrepareExec, nsenter.OpSeccomp)
		} else {
			want = append(want, nsenter.OpAffinityAll, nsenter.OpSeccomp, nsenter.OpUser, nsenter.OpPrepareExec)
		}
		if want = append(want, nsenter.OpExec); !slices.Equal(ops, want) {
			t.Errorf("no_new_privs %v: ops %v, want %v", nnp, ops, want)
		}
		if last := buf[len(buf)-4:]; last[0] != 1 {
			t.Errorf("OP_EXEC does not say joined: %v", last)
		}
	}
}

// TestExecPlanFits: what only the Go side does gets no plan.
func TestExecPlanFits(t *testing.T) {
	for name, change := range map[string]func(c *execConfig){
		"no mount namespace":  func(c *execConfig) { c.RootFd = 7 },
		"notify":              func(c *execConfig) { c.Seccomp.Notify = true },
		"scheduler":           func(c *execConfig) { c.Process.Scheduler = &specs.Scheduler{Policy: "SCHED_OTHER"} },
		"cpu affinity":        func(c *execConfig) { c.Process.ExecCPUAffinity = &specs.CPUAffinity{Final: "0"} },
		"personality":         func(c *execConfig) { c.Personality = &specs.LinuxPersonality{Domain: "LINUX"} },
		"terminal, no socket": func(c *execConfig) { c.Process.Terminal = true },
	} {
		cfg := execPlanCfg()
		change(cfg)
		if buf, err := compileExecPlan(cfg); buf != nil || err != nil {
			t.Errorf("%s: got a plan (%v)", name, err)
		}
	}
	t.Setenv(goInitEnv, "1")
	if buf, _ := compileExecPlan(execPlanCfg()); buf != nil {
		t.Errorf("%s=1: got a plan", goInitEnv)
	}
}
