package libcontainer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/berthrt/berth/cgroups"
	"github.com/berthrt/berth/libcontainer/seccomp"
	"github.com/berthrt/berth/libcontainer/spec"
	"github.com/berthrt/berth/libcontainer/sync"
	"github.com/berthrt/berth/libcontainer/sys"
	"github.com/berthrt/berth/nsenter"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// ExecOpts are the inputs of Container.Exec.
type ExecOpts struct {
	// Process is what to run, already validated (MergeProcess or
	// LoadProcessFile).
	Process *specs.Process
	// ConsoleSocket receives the pty master; required exactly when
	// Process.Terminal is true.
	ConsoleSocket *os.File
	// PidfdSocket, if set, receives a pidfd of the exec'd process.
	PidfdSocket *os.File
	// PreserveFds passes fds 3..3+N-1 of this process on.
	PreserveFds int
	// Cgroups are --cgroup values, [controller[,controller...]:]path: a
	// sub-cgroup of the container's to run in (it must exist).
	Cgroups []string
	// IgnorePaused allows exec into a paused container (the process then
	// starts when the container is resumed).
	IgnorePaused bool
	// Stdio of the process (nil: /dev/null); unused with a terminal.
	Stdin, Stdout, Stderr *os.File
	// paused: the container is frozen (set by Exec; see startExecStub).
	paused bool
}

// execConfig is what the Go side of an exec'd process reads after the stub
// has joined the container's namespaces.
type execConfig struct {
	ID          string           `json:"id"`
	Process     *specs.Process   `json:"process"`
	NsFd        int              `json:"nsFd"`
	ConsoleFd   int              `json:"consoleFd"`
	PreserveFds int              `json:"preserveFds,omitempty"`
	Seccomp     *seccomp.Program `json:"seccomp,omitempty"`
	// bundle is for the seccomp agent's state (parent side only).
	bundle string
	// Container-wide settings of the config that a process exec'd from
	// outside does not inherit from the init.
	Personality  *specs.LinuxPersonality  `json:"personality,omitempty"`
	MemoryPolicy *specs.LinuxMemoryPolicy `json:"memoryPolicy,omitempty"`
	// RootFd, if not 0, is the rootfs bind of a container without a mount
	// namespace (hostRoot on the parent side), to chroot into.
	RootFd   int `json:"rootFd,omitempty"`
	hostRoot *os.File
}

// Process is a process Exec started in a container.
type Process struct {
	// Pid is its pid in berth's pid namespace.
	Pid   int
	start uint64
}

// Exec starts o.Process in the container: it joins every namespace of the
// container (through the C stub, the user namespace first) and its cgroups,
// gets the process's rlimits, capabilities, seccomp filter, no_new_privs,
// user and cwd, and execs. Exec returns once the process runs: an error
// before that (a missing executable...) is returned here.
//
// As in runc, a created container accepts exec (its namespaces exist); a
// stopped one does not, nor a paused one unless o.IgnorePaused.
func (c *Container) Exec(o *ExecOpts) (*Process, error) {
	lock, err := lockDir(c.dir, false)
	if err != nil {
		return nil, fmt.Errorf("container %q: %w", c.State.ID, err)
	}
	defer lock.Close()
	status := c.Status()
	switch status {
	case Stopped:
		return nil, fmt.Errorf("cannot exec in a stopped container: %w", ErrWrongState)
	case Paused:
		if !o.IgnorePaused {
			return nil, fmt.Errorf("cannot exec in a paused container (use --ignore-paused to override): %w", ErrWrongState)
		}
	}
	if o.Process.Terminal != (o.ConsoleSocket != nil) {
		if o.ConsoleSocket == nil {
			return nil, errors.New("exec: a terminal needs a console socket")
		}
		return nil, errors.New("--console-socket given without --tty")
	}
	s, err := c.Config()
	if err != nil {
		return nil, err
	}
	cgPaths, err := execCgroupPaths(c.State.CgroupPaths, o.Cgroups)
	if err != nil {
		return nil, err
	}
	filter, err := compileSeccomp(s)
	if err != nil {
		return nil, err
	}
	nsDir, err := c.openNamespaces()
	if err != nil {
		return nil, err
	}
	defer nsDir.Close()
	hostRoot, err := c.openHostRootfs()
	if err != nil {
		return nil, err
	}
	if hostRoot != nil {
		defer hostRoot.Close()
	}
	cfg := &execConfig{ID: c.State.ID, Process: o.Process, PreserveFds: o.PreserveFds,
		ConsoleFd: -1, Seccomp: filter, Personality: s.Linux.Personality, MemoryPolicy: s.Linux.MemoryPolicy,
		bundle: c.State.Bundle, hostRoot: hostRoot}
	o.paused = status == Paused
	return startExec(o, s, cfg, nsDir, cgPaths, func() { lock.Close() })
}

// openNamespaces opens /proc/<init>/ns as a directory handle, checking the
// init's start time after the open: the stub then joins through the
// handle, so a pid reused meanwhile cannot put us in another process's
// namespaces.
func (c *Container) openNamespaces() (*os.File, error) {
	dir := "/proc/" + strconv.Itoa(c.State.InitPid) + "/ns"
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err == nil && !sys.Alive(c.State.InitPid, c.State.InitStart) {
		unix.Close(fd)
		err = unix.ESRCH
	}
	if err != nil {
		return nil, fmt.Errorf("cannot exec in a stopped container: open %s: %v: %w", dir, err, ErrWrongState)
	}
	return os.NewFile(uintptr(fd), dir), nil
}

// nsFiles are the names under /proc/<pid>/ns of the OCI namespace types.
var nsFiles = map[specs.LinuxNamespaceType]string{
	specs.UserNamespace: "user", specs.MountNamespace: "mnt", specs.NetworkNamespace: "net",
	specs.PIDNamespace: "pid", specs.IPCNamespace: "ipc", specs.UTSNamespace: "uts",
	specs.CgroupNamespace: "cgroup", specs.TimeNamespace: "time",
}

// execBootstrap tells the stub to join, through the handle at fd nsFd,
// every namespace the container's config lists (created or joined at
// create: the init is in it either way), and to create none.
func execBootstrap(s *specs.Spec, nsFd int) (*nsenter.Bootstrap, error) {
	var b nsenter.Bootstrap
	for _, ns := range s.Linux.Namespaces {
		name, ok := nsFiles[ns.Type]
		if !ok {
			return nil, fmt.Errorf("linux.namespaces: unknown type %q in the config snapshot", ns.Type)
		}
		path := "/proc/self/fd/" + strconv.Itoa(nsFd) + "/" + name
		b.Join = append(b.Join, nsenter.NSPath{Flag: nsenter.Flag(string(ns.Type)), Path: path})
	}
	return &b, nil
}

// startExec lays out the fds (preserved ones keep their numbers, then the
// sync socket, the namespace handle, the console socket), starts the stub,
// puts it in the cgroups and runs the handshake.
func startExec(o *ExecOpts, s *specs.Spec, cfg *execConfig, nsDir *os.File, cgPaths map[string]string, unlock func()) (*Process, error) {
	parent, child, err := syncPair()
	if err != nil {
		return nil, err
	}
	defer parent.Close()
	defer child.Close()
	var extra []*os.File
	for i := 0; i < o.PreserveFds; i++ {
		extra = append(extra, os.NewFile(uintptr(3+i), "preserved"))
	}
	syncFd := 3 + len(extra)
	extra = append(extra, child, nsDir)
	cfg.NsFd = syncFd + 1
	if o.ConsoleSocket != nil {
		extra = append(extra, o.ConsoleSocket)
		cfg.ConsoleFd = syncFd + 2
	}
	if cfg.hostRoot != nil {
		cfg.RootFd = 3 + len(extra)
		extra = append(extra, cfg.hostRoot)
	}
	boot, err := execBootstrap(s, cfg.NsFd)
	if err != nil {
		return nil, err
	}
	// With an exec plan the stub does it all: no config for a Go side.
	if boot.Plan, err = compileExecPlan(cfg); err != nil {
		return nil, err
	}
	var cj []byte
	if boot.Plan == nil {
		logrus.Debugf("exec: the Go side sets the process up")
		if cj, err = json.Marshal(cfg); err != nil {
			return nil, err
		}
	} else {
		logrus.Debugf("exec: the C stub sets the process up (exec plan, %d bytes)", len(boot.Plan))
	}
	cg := cgroups.Load(cgPaths)
	cmd, cloned, err := startExecStub(reexecCommand(execMode, syncFd, extra, o.Stdin, o.Stdout, o.Stderr), cg, o)
	if err != nil {
		return nil, err
	}
	child.Close()
	p := &initProcess{cmd: cmd, sock: parent, role: "exec"}
	var plan sync.Plan
	if cfg.Seccomp != nil && cfg.Seccomp.Notify {
		// The exec'd process gets its own listener: the agent gets it too.
		plan.SeccompNotify = true
		p.onSeccomp = func(pid int, listener *os.File) error {
			return sendToAgent(s.Linux.Seccomp.ListenerPath, seccompState(cfg.ID, cfg.bundle, pid, s), listener)
		}
	}
	join := func(pid int) error { return joinCgroup(cg, pid, cloned) }
	if err := runExec(p, s, o.Process, boot, plan, cj, join, unlock); err != nil {
		p.abandon()
		return nil, err
	}
	proc := &Process{Pid: p.pid, start: p.start}
	if o.PidfdSocket != nil {
		if err := proc.sendPidfd(o.PidfdSocket); err != nil {
			_ = proc.Signal(unix.SIGKILL)
			return nil, err
		}
	}
	return proc, nil
}

// startExecStub starts the stub of an exec created inside the cgroup it
// runs in (startInCgroup), where that is possible: not with
// execCPUAffinity.initial, which config.md defines as the affinity before
// the process enters the container's cgroup, and not in a paused
// container, where the clone would freeze the stub before its execve and
// so the vfork-ing parent with it (the stub then joins by pid and freezes
// once it runs berth).
func startExecStub(cmd *exec.Cmd, cg cgroups.Manager, o *ExecOpts) (*exec.Cmd, bool, error) {
	var cgDir *os.File
	if !o.paused && (o.Process.ExecCPUAffinity == nil || o.Process.ExecCPUAffinity.Initial == "") {
		var err error
		if cgDir, err = cg.Prepare(); err != nil {
			return nil, false, fmt.Errorf("exec: %w", err)
		}
		if cgDir != nil {
			defer cgDir.Close()
		}
	}
	cmd, cloned, err := startInCgroup(cmd, cgDir, "exec")
	if err != nil {
		return nil, false, fmt.Errorf("exec: start berth init: %w", err)
	}
	return cmd, cloned, nil
}

// runExec joins the stub to the cgroups before it reads the bootstrap (so
// the process and anything it forks is born inside) unless it was created
// there already (startExecStub), then follows the
// handshake to Ready and waits for the exec itself: the child's end of the
// sync socket is close-on-exec, so EOF means the process runs and an Error
// frame means execve failed.
//
// The container's lock is held until the stub is in the cgroups (a delete
// meanwhile would have Apply make the removed directories again), and no
// longer: in a paused container (--ignore-paused) the stub is frozen there
// until `berth resume`, which takes the lock exclusively.
func runExec(p *initProcess, s *specs.Spec, proc *specs.Process, boot *nsenter.Bootstrap, plan sync.Plan, cj []byte, join func(pid int) error, unlock func()) error {
	stub := p.cmd.Process.Pid
	if err := setOOMScoreAdj(stub, proc.OOMScoreAdj); err != nil {
		return err
	}
	if err := setInitialAffinity(stub, proc.ExecCPUAffinity); err != nil {
		return err
	}
	err := join(stub)
	unlock()
	if err != nil {
		return fmt.Errorf("exec: %w", err)
	}
	if err := p.exchange(s, boot, plan, cj); err != nil {
		return err
	}
	t, msg, err := sync.Read(p.sock)
	switch {
	case errors.Is(err, io.EOF):
		return nil
	case err != nil:
		return fmt.Errorf("exec: %w", err)
	case t == sync.Error:
		return fmt.Errorf("exec: %w", sync.DecodeError(msg))
	}
	return fmt.Errorf("exec: protocol: got %s, want the socket closed by execve", t)
}

// setInitialAffinity applies process.execCPUAffinity.initial to the stub
// (single-threaded until its Go runtime starts) before it joins the
// container's cgroups, as config.md describes.
func setInitialAffinity(pid int, a *specs.CPUAffinity) error {
	if a == nil || a.Initial == "" {
		return nil
	}
	set, err := spec.CPUSet(a.Initial)
	if err != nil {
		return fmt.Errorf("process.execCPUAffinity.initial: %q: %w", a.Initial, err)
	}
	if err := unix.SchedSetaffinity(pid, set); err != nil {
		return fmt.Errorf("process.execCPUAffinity.initial: sched_setaffinity(%s): %w", a.Initial, err)
	}
	return nil
}

// abandon kills and reaps what a failed exec started; unlike a failed
// create it must not touch the rest of the container's cgroup.
func (p *initProcess) abandon() {
	if p.pid > 0 && p.pid != p.cmd.Process.Pid {
		if fd, err := sys.PidfdOpen(p.pid, p.start); err == nil {
			_ = unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
			_, _ = sys.PidfdWait(fd, 5000)
			unix.Close(fd)
		}
		// Ours to reap if we are its subreaper; ECHILD otherwise.
		_, _ = unix.Wait4(p.pid, nil, unix.WNOHANG, nil)
	}
	if p.cmd.ProcessState == nil {
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
	}
}

// execCgroupPaths returns the cgroup directories an exec'd process joins:
// the container's, with the --cgroup sub-cgroups in place of the named
// controllers' (every hierarchy's when no controller is named). A
// sub-cgroup must exist and lie inside the container's cgroup.
func execCgroupPaths(own map[string]string, args []string) (map[string]string, error) {
	paths := make(map[string]string, len(own))
	for k, v := range own {
		paths[k] = v
	}
	seen := map[string]bool{}
	for _, arg := range args {
		ctrls, sub, ok := strings.Cut(arg, ":")
		var keys []string
		if ok {
			keys = strings.Split(ctrls, ",")
		} else {
			if len(args) != 1 {
				return nil, fmt.Errorf("--cgroup %q: name the controller (controller:path) when --cgroup is repeated", arg)
			}
			sub = arg
			keys = sortedKeys(own)
		}
		for _, k := range keys {
			if k == "" || own[k] == "" {
				return nil, fmt.Errorf("--cgroup %q: the container has no %q cgroup (it has %s)", arg, k, strings.Join(sortedKeys(own), ", "))
			}
			if seen[k] {
				return nil, fmt.Errorf("--cgroup %q: controller %q given twice", arg, k)
			}
			seen[k] = true
			dir, err := subCgroup(own[k], sub)
			if err != nil {
				return nil, fmt.Errorf("--cgroup %q: %w", arg, err)
			}
			// Controllers mounted together share the directory.
			for k2, base := range own {
				if base == own[k] {
					paths[k2] = dir
				}
			}
		}
	}
	return paths, nil
}

// subCgroup resolves sub below base, refusing anything outside it.
func subCgroup(base, sub string) (string, error) {
	dir := filepath.Join(base, sub)
	if dir != base && !strings.HasPrefix(dir, base+"/") {
		return "", fmt.Errorf("%s is outside the container's cgroup %s", dir, base)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return "", fmt.Errorf("sub-cgroup %s: %w", dir, unwrapPathErr(err))
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("sub-cgroup %s is not a directory", dir)
	}
	return dir, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Signal sends sig to the process through a pidfd checked against its
// start time, so a reused pid is never hit.
func (p *Process) Signal(sig unix.Signal) error {
	fd, err := sys.PidfdOpen(p.Pid, p.start)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.PidfdSendSignal(fd, sig, nil, 0)
}

// Wait waits for the process, which must be our child (Exec was called
// with this process as a child subreaper when the stub forks), and returns
// its exit status the shell way (128+N after signal N).
func (p *Process) Wait() (int, error) { return waitExit(p.Pid) }

// sendPidfd sends a pidfd of the process over the --pidfd-socket.
func (p *Process) sendPidfd(sock *os.File) error {
	fd, err := sys.PidfdOpen(p.Pid, p.start)
	if err != nil {
		return fmt.Errorf("--pidfd-socket: %w", err)
	}
	defer unix.Close(fd)
	if err := sendFd(sock, "pidfd", uintptr(fd)); err != nil {
		return fmt.Errorf("--pidfd-socket: send pidfd: %w", err)
	}
	return nil
}
