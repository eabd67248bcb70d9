package libcontainer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/berthrt/berth/libcontainer/seccomp"
	"github.com/berthrt/berth/libcontainer/spec"
	"github.com/berthrt/berth/libcontainer/sync"
	"github.com/berthrt/berth/nsenter"
	"github.com/berthrt/berth/rootfs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Init is the Go half of the container init, run by `berth init` after the
// nsenter stub has made the namespaces. The caller must have locked the main
// goroutine to its thread (capabilities are per thread and execve keeps the
// calling thread's). It never returns on success: it execs the user process.
func Init() error {
	fd, err := strconv.Atoi(os.Getenv(nsenter.SyncEnv))
	if err != nil {
		return fmt.Errorf("berth init: %s is not set: run by berth create only", nsenter.SyncEnv)
	}
	os.Clearenv()
	sock := os.NewFile(uintptr(fd), "sync")
	cfg, err := readInitConfig(sock)
	if err != nil {
		sync.WriteError(sock, err)
		return err
	}
	path, env, err := setupContainer(cfg, sock)
	if err != nil {
		sync.WriteError(sock, err)
		return err
	}
	if cfg.Spec.Process == nil {
		// Nothing to run: the container exists until it is deleted, and
		// start refuses it (config.md: process is required by start).
		if err := readyAndWait(sock, cfg); err != nil {
			return err
		}
		for {
			unix.Pause()
		}
	}
	if err := readyAndWait(sock, cfg); err != nil {
		return err
	}
	// From here the parent no longer listens: what fails is told on the
	// container's own stderr, as the process would have.
	err = execProcess(cfg, path, env)
	if !errors.Is(err, errToldStart) {
		fmt.Fprintf(os.Stderr, "berth init: %v\n", err)
	}
	return err
}

func readInitConfig(sock *os.File) (*initConfig, error) {
	msg, err := sync.Expect(sock, sync.Config)
	if err != nil {
		return nil, err
	}
	var cfg initConfig
	if err := json.Unmarshal(msg, &cfg); err != nil {
		return nil, fmt.Errorf("init config: %w", err)
	}
	var is initSpec
	if err := json.Unmarshal(cfg.SpecJSON, &is); err != nil {
		return nil, fmt.Errorf("init config: spec: %w", err)
	}
	cfg.Spec = is.spec()
	if cfg.Spec == nil || cfg.Spec.Linux == nil {
		return nil, errors.New("init config: no linux section")
	}
	spec.Normalize(cfg.Spec)
	return &cfg, nil
}

// setupContainer is the init sequence, as a list of named steps. Order:
// the rootfs (mounts need every capability) before the console (it opens the
// container's /dev/ptmx) before masking paths (which may hide /proc files
// used above); sysctls once the container's /proc is mounted but before
// Finalize makes /proc/sys read-only; rlimits, the keyring, the scheduler
// and the I/O priority before the user switch drops the capabilities they
// need; the executable is looked up last, as the user. The per-thread
// attributes (affinity, personality, memory policy, scheduler) come late,
// the scheduler last: a SCHED_IDLE or SCHED_DEADLINE init should do as
// little as possible after it. The seccomp filter comes as late as it can
// so its rules do not hit our own setup (Docker's profile refuses
// set_mempolicy, for one): without no_new_privs, loading needs
// CAP_SYS_ADMIN, so just before the user switch drops it; with
// no_new_privs, last of all.
func setupContainer(cfg *initConfig, sock *os.File) (string, []string, error) {
	s := cfg.Spec
	rc := rootfsConfig(cfg)
	if cfg.Hooks {
		rc.BeforePivot = func() error { return hooksBeforePivot(cfg, sock) }
	}
	if err := runSteps([]initStep{
		{"rootfs", func() error { return rootfs.Setup(rc) }},
		{"console", func() error { return setupConsole(cfg) }},
		{"sysctl", func() error { return writeSysctls(s.Linux.Sysctl) }},
		{"finalize rootfs", func() error { return rootfs.Finalize(rc) }},
		{"hostname", func() error { return setHostname(s) }},
	}); err != nil || s.Process == nil {
		// Without a process (allowed at create) the container is ready.
		return "", nil, err
	}
	if err := runSteps([]initStep{
		{"session keyring", func() error { return joinKeyring(cfg) }},
		{"rlimits", func() error { return setRlimits(s.Process.Rlimits) }},
		{"cwd", func() error { return makeCwd(s.Process.Cwd) }},
		{"no_new_privs", func() error { return setNoNewPrivs(s.Process.NoNewPrivileges) }},
		{"cpu affinity", resetCPUAffinity},
		{"personality", func() error { return setPersonality(s.Linux.Personality) }},
		{"memory policy", func() error { return setMemoryPolicy(s.Linux.MemoryPolicy) }},
		{"io priority", func() error { return setIOPriority(s.Process.IOPriority) }},
		{"scheduler", func() error { return setScheduler(s.Process.Scheduler) }},
		{"seccomp", func() error { return loadSeccomp(cfg, sock, !s.Process.NoNewPrivileges) }},
		{"user and capabilities", func() error { return switchUser(s.Process) }},
	}); err != nil {
		return "", nil, err
	}
	env := listenEnv(cfg, processEnv(s.Process))
	path, err := lookPath(s.Process.Args[0], env)
	if err != nil {
		return "", nil, err
	}
	if err := unix.Chdir(s.Process.Cwd); err != nil {
		return "", nil, fmt.Errorf("process.cwd: chdir %q: %w", s.Process.Cwd, err)
	}
	if err := loadSeccomp(cfg, sock, s.Process.NoNewPrivileges); err != nil {
		return "", nil, fmt.Errorf("seccomp: %w", err)
	}
	return path, env, nil
}

// listenEnv sets the socket activation variables of the process: it keeps
// the init's pid, so LISTEN_PID is ours (1 in a new pid namespace).
func listenEnv(cfg *initConfig, env []string) []string {
	if cfg.ListenFds == 0 {
		return env
	}
	env = setEnv(env, "LISTEN_FDS", strconv.Itoa(cfg.ListenFds))
	env = setEnv(env, "LISTEN_PID", strconv.Itoa(os.Getpid()))
	if cfg.ListenFdNames != "" {
		env = setEnv(env, "LISTEN_FDNAMES", cfg.ListenFdNames)
	}
	return env
}

func rootfsConfig(cfg *initConfig) *rootfs.Config {
	l := cfg.Spec.Linux
	rc := &rootfs.Config{
		Rootfs: cfg.Rootfs, Readonly: cfg.Spec.Root != nil && cfg.Spec.Root.Readonly,
		Propagation: l.RootfsPropagation, Mounts: cfg.Spec.Mounts, Devices: l.Devices,
		NoPivot: cfg.NoPivot, MaskedPaths: l.MaskedPaths, ReadonlyPaths: l.ReadonlyPaths,
		IDMapFds: cfg.IDMapFds, HostMountNS: true, Hooks: cfg.Hooks,
	}
	for _, ns := range l.Namespaces {
		switch ns.Type {
		case specs.MountNamespace:
			rc.HostMountNS = false
		case specs.UserNamespace:
			rc.InUserNS = true
		case specs.CgroupNamespace:
			rc.InCgroupNS = true
		}
	}
	return rc
}

// readyAndWait tells the parent setup is done, waits for Run when the
// parent has work to do in between (hooks), and closes the sync socket.
func readyAndWait(sock *os.File, cfg *initConfig) error {
	defer sock.Close()
	if err := sync.Write(sock, sync.Ready, nil); err != nil {
		return err
	}
	if cfg.WaitRun {
		if _, err := sync.Expect(sock, sync.Run); err != nil {
			return err
		}
	}
	return nil
}

// execProcess blocks on exec.fifo until `berth start` opens it, then execs
// the user process with only the fds it asked for.
//
// Between the two, the startContainer hooks run: their failure is written
// to the fifo ("E" and the message) so that start fails with it.
func execProcess(cfg *initConfig, path string, env []string) error {
	fifo, err := unix.Open("/proc/self/fd/"+strconv.Itoa(cfg.FifoFd), unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open exec fifo: %w", err)
	}
	if h := hooksOf(cfg.Spec).StartContainer; len(h) > 0 {
		if err := runHooks("startContainer", h, withStatus(cfg.hookState, Created)); err != nil {
			_, _ = unix.Write(fifo, []byte("E"+err.Error()))
			return fmt.Errorf("%w: %v", errToldStart, err)
		}
	}
	if _, err := unix.Write(fifo, []byte("0")); err != nil {
		return fmt.Errorf("write exec fifo: %w", err)
	}
	// fifo stays open, close-on-exec: start waits for its end, which
	// execve makes, to run the poststart hooks after the process is
	// executed.
	unix.Close(cfg.FifoFd)
	if err := closeExecFrom(3 + cfg.PreserveFds); err != nil {
		return err
	}
	if err := unix.Exec(path, cfg.Spec.Process.Args, env); err != nil {
		return fmt.Errorf("exec %q: %w", path, err)
	}
	return nil
}

// loadSeccomp loads the filter the parent compiled, when now is true (see
// setupContainer for when that is). It applies to this thread only, the one
// that will exec. A filter with SCMP_ACT_NOTIFY rules gives a listener fd:
// it goes to the parent (SeccompFd, the fd itself by SCM_RIGHTS), which
// hands it to the agent and answers SeccompDone.
func loadSeccomp(cfg *initConfig, sock *os.File, now bool) error {
	if !now || cfg.Seccomp == nil {
		return nil
	}
	return loadFilter(cfg.Seccomp, sock)
}

// loadFilter loads prog and hands a notify listener to the parent.
func loadFilter(prog *seccomp.Program, sock *os.File) error {
	fd, err := prog.LoadListener()
	if err != nil || fd < 0 {
		return err
	}
	defer unix.Close(fd)
	if err := sync.Write(sock, sync.SeccompFd, nil); err != nil {
		return err
	}
	if err := sendFd(sock, "seccomp", uintptr(fd)); err != nil {
		return fmt.Errorf("send the seccomp listener: %w", err)
	}
	_, err = sync.Expect(sock, sync.SeccompDone)
	return err
}

// errToldStart marks an error already reported to start through the fifo.
var errToldStart = errors.New("reported to start")

// hooksBeforePivot is the init's stop before pivot_root: the parent runs
// prestart and createRuntime hooks and sends back the hook state, then the
// createContainer hooks run here, in the container's namespaces (the paths
// still resolve in the runtime's mount tree, as config.md wants).
func hooksBeforePivot(cfg *initConfig, sock *os.File) error {
	if err := sync.Write(sock, sync.Hooks, nil); err != nil {
		return err
	}
	state, err := sync.Expect(sock, sync.HooksDone)
	if err != nil {
		return fmt.Errorf("hooks: %w", err)
	}
	cfg.hookState = state
	return runHooks("createContainer", hooksOf(cfg.Spec).CreateContainer, state)
}

// initStep is one named step of the init sequence.
type initStep struct {
	name string
	run  func() error
}

// runSteps runs steps in order; an error names the step.
func runSteps(steps []initStep) error {
	for _, st := range steps {
		if err := st.run(); err != nil {
			return fmt.Errorf("%s: %w", st.name, err)
		}
	}
	return nil
}
