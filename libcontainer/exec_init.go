package libcontainer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/berthrt/berth/libcontainer/spec"
	"github.com/berthrt/berth/libcontainer/sync"
	"github.com/berthrt/berth/nsenter"
	"github.com/berthrt/berth/rootfs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// ExecInit is the Go half of a process exec'd into a container, run by
// `berth init exec` after the nsenter stub has joined the container's
// namespaces (so / and the cwd are the container's, and paths resolve in
// its mount namespace) and berth has put it in the container's cgroups. The
// caller must have locked the main goroutine to its thread. It never
// returns on success: it execs the process.
func ExecInit() error {
	fd, err := strconv.Atoi(os.Getenv(nsenter.SyncEnv))
	if err != nil {
		return fmt.Errorf("berth init exec: %s is not set: run by berth exec only", nsenter.SyncEnv)
	}
	os.Clearenv()
	sock := os.NewFile(uintptr(fd), "sync")
	cfg, err := readExecConfig(sock)
	if err != nil {
		sync.WriteError(sock, err)
		return err
	}
	path, env, err := setupExec(cfg, sock)
	if err != nil {
		sync.WriteError(sock, err)
		return err
	}
	if err := sync.Write(sock, sync.Ready, nil); err != nil {
		return err
	}
	// The sync socket stays open, close-on-exec like every fd from 3 on
	// but the preserved ones: the parent reads EOF once execve succeeded,
	// or the error below.
	if err := closeExecFrom(3 + cfg.PreserveFds); err != nil {
		sync.WriteError(sock, err)
		return err
	}
	err = unix.Exec(path, cfg.Process.Args, env)
	err = fmt.Errorf("exec %q: %w", path, err)
	sync.WriteError(sock, err)
	return err
}

func readExecConfig(sock *os.File) (*execConfig, error) {
	msg, err := sync.Expect(sock, sync.Config)
	if err != nil {
		return nil, err
	}
	var cfg execConfig
	if err := json.Unmarshal(msg, &cfg); err != nil {
		return nil, fmt.Errorf("exec config: %w", err)
	}
	// The stub has joined through the handle on the init's /proc/<pid>/ns:
	// a directory of the host's procfs, never to be reachable from the
	// container.
	unix.Close(cfg.NsFd)
	if cfg.Process == nil || len(cfg.Process.Args) == 0 {
		return nil, errors.New("exec config: no process")
	}
	return &cfg, nil
}

// setupExec is the exec'd process's sequence, as a list of named steps
// (create's sequence minus what the container already has: rootfs,
// sysctl, hostname; the process attributes in the same order). Order: the
// chroot of a container without a mount namespace first (everything after
// resolves paths in the container); the terminal and the cwd while we are
// still root (the cwd is resolved in the container's mount namespace, from
// its root);
// rlimits and the keyring before the user switch drops the capabilities
// they need; the seccomp filter as late as it can (see setupContainer);
// the executable is looked up last, as the user.
func setupExec(cfg *execConfig, sock *os.File) (string, []string, error) {
	p := cfg.Process
	steps := []struct {
		name string
		run  func() error
	}{
		{"rootfs", func() error { return enterHostRoot(cfg.RootFd) }},
		{"console", func() error { return execConsole(cfg) }},
		{"session keyring", func() error { return joinKeyring(&initConfig{ID: cfg.ID}) }},
		{"rlimits", func() error { return setRlimits(p.Rlimits) }},
		{"cwd", func() error { return chdirCwd(p.Cwd) }},
		{"no_new_privs", func() error { return setNoNewPrivs(p.NoNewPrivileges) }},
		{"cpu affinity", func() error { return finalAffinity(p.ExecCPUAffinity) }},
		{"personality", func() error { return setPersonality(cfg.Personality) }},
		{"memory policy", func() error { return setMemoryPolicy(cfg.MemoryPolicy) }},
		{"io priority", func() error { return setIOPriority(p.IOPriority) }},
		{"scheduler", func() error { return setScheduler(p.Scheduler) }},
		{"seccomp", func() error { return execSeccomp(cfg, sock, !p.NoNewPrivileges) }},
		{"user and capabilities", func() error { return switchUser(p) }},
	}
	for _, st := range steps {
		if err := st.run(); err != nil {
			return "", nil, fmt.Errorf("%s: %w", st.name, err)
		}
	}
	env := processEnv(p)
	path, err := lookPath(p.Args[0], env)
	if err != nil {
		return "", nil, err
	}
	if err := execSeccomp(cfg, sock, p.NoNewPrivileges); err != nil {
		return "", nil, fmt.Errorf("seccomp: %w", err)
	}
	return path, env, nil
}

// enterHostRoot chroots into the rootfs bind at fd of a container without
// a mount namespace (see hostmount.go): the stub joined no mount namespace,
// so "/" is still the host's. Nothing to do when fd is 0.
func enterHostRoot(fd int) error {
	if fd == 0 {
		return nil
	}
	defer unix.Close(fd)
	return rootfs.ChrootFd(fd)
}

// execConsole makes a pty from the container's /dev/ptmx, sends the master
// to the console socket and makes the slave our stdio and controlling
// terminal (the stub made us a session leader).
func execConsole(cfg *execConfig) error {
	if cfg.ConsoleFd < 0 {
		return nil
	}
	slave, err := sendPty(cfg.ConsoleFd, cfg.Process.ConsoleSize)
	if err != nil {
		return err
	}
	return useTTY(slave)
}

// chdirCwd enters the process's cwd. Unlike create it does not make it:
// an exec'd process runs in the container as it is.
func chdirCwd(cwd string) error {
	if err := unix.Chdir(cwd); err != nil {
		return fmt.Errorf("process.cwd %q: %w", cwd, err)
	}
	return nil
}

// finalAffinity applies process.execCPUAffinity.final now that we are in
// the container's cgroups; without it, every CPU the cgroup allows (as for
// the init: joining a cgroup no longer resets the affinity).
func finalAffinity(a *specs.CPUAffinity) error {
	if a == nil || a.Final == "" {
		return resetCPUAffinity()
	}
	set, err := spec.CPUSet(a.Final)
	if err != nil {
		return fmt.Errorf("process.execCPUAffinity.final: %q: %w", a.Final, err)
	}
	if err := unix.SchedSetaffinity(0, set); err != nil {
		return fmt.Errorf("process.execCPUAffinity.final: sched_setaffinity(%s): %w", a.Final, err)
	}
	return nil
}

// execSeccomp loads the container's filter when now is true; a notify
// listener goes to the parent, for the agent, as the init's does.
func execSeccomp(cfg *execConfig, sock *os.File, now bool) error {
	if !now || cfg.Seccomp == nil {
		return nil
	}
	return loadFilter(cfg.Seccomp, sock)
}
