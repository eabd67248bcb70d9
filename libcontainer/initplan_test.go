package libcontainer

import (
	"os"
	"slices"
	"testing"

	"github.com/berthrt/berth/libcontainer/seccomp"
	"github.com/berthrt/berth/libcontainer/spec"
	"github.com/berthrt/berth/nsenter"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func planCfg(t *testing.T) *initConfig {
	t.Helper()
	s := spec.Example()
	s.Process.Terminal = false
	s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 1024, Hard: 1024}}
	s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"}
	return &initConfig{ID: "c1", Spec: s, Rootfs: t.TempDir(), ConsoleFd: -1, FifoFd: 5}
}

// TestInitPlanOrder: the plan follows setupContainer's order.
func TestInitPlanOrder(t *testing.T) {
	cfg := planCfg(t)
	buf, err := compileInitPlan(cfg, os.Getpid())
	if err != nil || buf == nil {
		t.Fatalf("no plan: %v", err)
	}
	ops, err := nsenter.PlanOps(buf)
	if err != nil {
		t.Fatal(err)
	}
	order := []uint32{nsenter.OpRoot, nsenter.OpPivot, nsenter.OpSysctl, nsenter.OpReadonly, nsenter.OpMask,
		nsenter.OpHostname, nsenter.OpKeyring, nsenter.OpRlimit, nsenter.OpMkcwd, nsenter.OpNoNewPrivs,
		nsenter.OpAffinityAll, nsenter.OpUser, nsenter.OpPrepareExec, nsenter.OpExec}
	last := -1
	for _, op := range order {
		i := slices.Index(ops, op)
		if i <= last {
			t.Fatalf("op %d at %d, after %d: %v", op, i, last, ops)
		}
		last = i
	}
	if ops[len(ops)-1] != nsenter.OpExec {
		t.Errorf("the plan must end with the exec: %v", ops)
	}
}

// TestInitPlanSeccompPlace: without no_new_privs the filter is loaded
// before the user switch drops CAP_SYS_ADMIN, with it after everything.
func TestInitPlanSeccompPlace(t *testing.T) {
	for _, nnp := range []bool{false, true} {
		cfg := planCfg(t)
		cfg.Spec.Process.NoNewPrivileges = nnp
		cfg.Seccomp = &seccomp.Program{BPF: make([]byte, 8)}
		buf, err := compileInitPlan(cfg, os.Getpid())
		if err != nil || buf == nil {
			t.Fatalf("no plan: %v", err)
		}
		ops, _ := nsenter.PlanOps(buf)
		sec, user := slices.Index(ops, nsenter.OpSeccomp), slices.Index(ops, nsenter.OpUser)
		if sec < 0 || (sec < user) == nnp {
			t.Errorf("no_new_privs %v: seccomp at %d, user at %d", nnp, sec, user)
		}
	}
}

// TestInitPlanFits: what only the Go init does gets no plan.
func TestInitPlanFits(t *testing.T) {
	for name, change := range map[string]func(c *initConfig){
		"terminal without a console socket": func(c *initConfig) { c.Spec.Process.Terminal = true },
		"no process":                        func(c *initConfig) { c.Spec.Process = nil },
		"hook":                              func(c *initConfig) { c.Spec.Hooks = &specs.Hooks{CreateContainer: []specs.Hook{{Path: "/bin/true"}}} },
		"notify":                            func(c *initConfig) { c.Seccomp = &seccomp.Program{BPF: make([]byte, 8), Notify: true} },
		"scheduler":                         func(c *initConfig) { c.Spec.Process.Scheduler = &specs.Scheduler{Policy: "SCHED_OTHER"} },
		"personality":                       func(c *initConfig) { c.Spec.Linux.Personality = &specs.LinuxPersonality{Domain: "LINUX"} },
		"no pivot":                          func(c *initConfig) { c.NoPivot = true },
		"joined mount ns": func(c *initConfig) {
			c.Spec.Linux.Namespaces = []specs.LinuxNamespace{{Type: "mount", Path: "/proc/1/ns/mnt"}}
		},
	} {
		cfg := planCfg(t)
		change(cfg)
		if buf, err := compileInitPlan(cfg, os.Getpid()); buf != nil || err != nil {
			t.Errorf("%s: got a plan (%v)", name, err)
		}
	}
	// Prestart and createRuntime hooks have a plan: the parent runs them
	// while the stub waits before its pivot.
	cfg := planCfg(t)
	cfg.Spec.Hooks = &specs.Hooks{Prestart: []specs.Hook{{Path: "/bin/true"}},
		CreateRuntime: []specs.Hook{{Path: "/bin/true"}}}
	cfg.Hooks = true
	buf, err := compileInitPlan(cfg, os.Getpid())
	if buf == nil || err != nil {
		t.Fatalf("prestart hooks: no plan (%v)", err)
	}
	if ops, _ := nsenter.PlanOps(buf); slices.Index(ops, nsenter.OpHooks) != slices.Index(ops, nsenter.OpPivot)-1 {
		t.Errorf("prestart hooks: the hooks op is not right before the pivot: %v", ops)
	}
	// A user namespace has a plan: the devices are binds, not mknod.
	cfg = planCfg(t)
	cfg.Spec.Linux.Namespaces = append(cfg.Spec.Linux.Namespaces, specs.LinuxNamespace{Type: "user"})
	buf, err = compileInitPlan(cfg, os.Getpid())
	if buf == nil || err != nil {
		t.Fatalf("user namespace: no plan (%v)", err)
	}
	if ops, _ := nsenter.PlanOps(buf); slices.Contains(ops, nsenter.OpMknod) {
		t.Errorf("user namespace: mknod in the plan %v", ops)
	}
	t.Setenv(goInitEnv, "1")
	if buf, _ := compileInitPlan(planCfg(t), os.Getpid()); buf != nil {
		t.Errorf("%s=1: got a plan", goInitEnv)
	}
}

// TestInitPlanConsole: with a console socket the pty is made right after
// the pivot, before the sysctls and Finalize.
func TestInitPlanConsole(t *testing.T) {
	cfg := planCfg(t)
	cfg.Spec.Process.Terminal = true
	cfg.ConsoleFd = 7
	buf, err := compileInitPlan(cfg, os.Getpid())
	if err != nil || buf == nil {
		t.Fatalf("no plan: %v", err)
	}
	ops, _ := nsenter.PlanOps(buf)
	pivot, console, sysctl := slices.Index(ops, nsenter.OpPivot), slices.Index(ops, nsenter.OpConsole), slices.Index(ops, nsenter.OpSysctl)
	if console != pivot+1 || sysctl < console {
		t.Errorf("console at %d, pivot at %d, sysctl at %d: %v", console, pivot, sysctl, ops)
	}
}
