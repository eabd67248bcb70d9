package libcontainer

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	gosync "sync"
	"time"

	"github.com/berthrt/berth/cgroups"
	"github.com/berthrt/berth/libcontainer/exeseal"
	"github.com/berthrt/berth/libcontainer/seccomp"
	"github.com/berthrt/berth/libcontainer/sync"
	"github.com/berthrt/berth/libcontainer/sys"
	"github.com/berthrt/berth/nsenter"
	"github.com/berthrt/berth/rootfs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// initSpec is the part of config.json the init reads. The init decodes
// config.json into it rather than into specs.Spec for speed: encoding/json
// builds its codecs for every type reachable from the target, and
// specs.Spec reaches linux.resources, seccomp, windows, vm, solaris and
// zos — about 0.9 ms of a fresh process's CPU, a tenth of a `run`. The
// parent has validated the whole config before; fields the init does not
// read are skipped by the decoder without being built.
type initSpec struct {
	Process    *specs.Process `json:"process,omitempty"`
	Root       *specs.Root    `json:"root,omitempty"`
	Hostname   string         `json:"hostname,omitempty"`
	Domainname string         `json:"domainname,omitempty"`
	Mounts     []specs.Mount  `json:"mounts,omitempty"`
	Hooks      *specs.Hooks   `json:"hooks,omitempty"`
	Linux      *initLinux     `json:"linux,omitempty"`
}

// initLinux is the part of config.json's linux object the init reads.
type initLinux struct {
	Namespaces        []specs.LinuxNamespace   `json:"namespaces,omitempty"`
	Devices           []specs.LinuxDevice      `json:"devices,omitempty"`
	Sysctl            map[string]string        `json:"sysctl,omitempty"`
	RootfsPropagation string                   `json:"rootfsPropagation,omitempty"`
	MaskedPaths       []string                 `json:"maskedPaths,omitempty"`
	ReadonlyPaths     []string                 `json:"readonlyPaths,omitempty"`
	Personality       *specs.LinuxPersonality  `json:"personality,omitempty"`
	MemoryPolicy      *specs.LinuxMemoryPolicy `json:"memoryPolicy,omitempty"`
}

// spec is s as a specs.Spec holding just what the init reads.
func (s *initSpec) spec() *specs.Spec {
	out := &specs.Spec{Process: s.Process, Root: s.Root, Hostname: s.Hostname,
		Domainname: s.Domainname, Mounts: s.Mounts, Hooks: s.Hooks}
	if l := s.Linux; l != nil {
		out.Linux = &specs.Linux{Namespaces: l.Namespaces, Devices: l.Devices,
			Sysctl: l.Sysctl, RootfsPropagation: l.RootfsPropagation,
			MaskedPaths: l.MaskedPaths, ReadonlyPaths: l.ReadonlyPaths,
			Personality: l.Personality, MemoryPolicy: l.MemoryPolicy}
	}
	return out
}

// initConfig is what the Go init reads after the stub is done.
type initConfig struct {
	ID string `json:"id"`
	// SpecJSON is config.json as given; the init decodes it itself (and
	// normalizes it as spec.Load did) into Spec.
	SpecJSON     json.RawMessage `json:"spec"`
	Spec         *specs.Spec     `json:"-"`
	Rootfs       string          `json:"rootfs"`
	NoPivot      bool            `json:"noPivot,omitempty"`
	NoNewKeyring bool            `json:"noNewKeyring,omitempty"`
	PreserveFds  int             `json:"preserveFds,omitempty"`
	// ListenFds (the first of PreserveFds) and their names: the init sets
	// LISTEN_FDS, LISTEN_FDNAMES and LISTEN_PID (its own pid) for them.
	ListenFds     int    `json:"listenFds,omitempty"`
	ListenFdNames string `json:"listenFdNames,omitempty"`
	FifoFd        int    `json:"fifoFd"`
	ConsoleFd     int    `json:"consoleFd"`
	WaitRun       bool   `json:"waitRun,omitempty"`
	// Seccomp is linux.seccomp compiled by the parent, so the init only
	// has to load it (one syscall, no libseccomp work).
	Seccomp *seccomp.Program `json:"seccomp,omitempty"`
	// Hooks: stop before pivot_root for the hook exchange (sync.Hooks).
	Hooks bool `json:"hooks,omitempty"`
	// IDMapFds: mounts[] index -> the init's fd of that id-mapped mount's
	// detached tree (rootfs.PrepareIDMapped).
	IDMapFds map[int]int `json:"idmapFds,omitempty"`
	// hookState is the state the parent sent back in HooksDone.
	hookState []byte
}

// initProcess is the parent's handle on a starting init.
type initProcess struct {
	cmd   *exec.Cmd // the stub's process: the init itself, or its parent
	sock  *os.File
	pid   int // the container init, host view
	start uint64
	// role names the process in errors; empty means the container init.
	role string
	// onHooks runs the parent's hooks when the init stops before its
	// pivot (sync.Hooks) and returns the hook state to send back.
	onHooks func(pid int) ([]byte, error)
	// onSeccomp hands the seccomp notify listener to the agent.
	onSeccomp func(pid int, listener *os.File) error
}

func (p *initProcess) name() string {
	if p.role == "" {
		return "container init"
	}
	return p.role
}

// startInit re-executes berth as "berth init", places it in its cgroup
// before it can fork, sends the bootstrap and the config, and runs the
// handshake until the init reports Ready.
func startInit(o *CreateOpts, cg cgroups.Manager, fifo string, undo *cleanup) (*initProcess, error) {
	parent, child, err := syncPair()
	if err != nil {
		return nil, err
	}
	defer child.Close()
	fifoFd, err := unix.Open(fifo, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		parent.Close()
		child.Close()
		return nil, fmt.Errorf("open exec fifo: %w", err)
	}
	fifoFile := os.NewFile(uintptr(fifoFd), "exec.fifo")
	defer fifoFile.Close()

	filter, err := compileSeccomp(o.Spec)
	if err != nil {
		parent.Close()
		child.Close()
		return nil, err
	}
	// Id-mapped mounts are made here, in the host's user namespace, where
	// the privilege over their sources' filesystems is (rootfs/idmap.go).
	trees, err := rootfs.PrepareIDMapped(o.Spec.Mounts, o.Spec.Linux.UIDMappings, o.Spec.Linux.GIDMappings)
	if err != nil {
		parent.Close()
		child.Close()
		return nil, err
	}
	defer rootfs.CloseAll(trees)
	cfg := &initConfig{ID: o.ID, SpecJSON: o.SpecJSON, Rootfs: rootfsPath(o.Bundle, o.Spec),
		NoPivot: o.NoPivot, NoNewKeyring: o.NoNewKeyring, PreserveFds: o.ListenFds + o.PreserveFds,
		ListenFds: o.ListenFds, ListenFdNames: o.ListenFdNames, ConsoleFd: -1, Seccomp: filter}
	cmd := initCommand(o, cfg, child, fifoFile, trees)
	p := &initProcess{cmd: cmd, sock: parent, onHooks: func(pid int) ([]byte, error) {
		return createHooks(o, pid)
	}, onSeccomp: func(pid int, listener *os.File) error {
		state := seccompState(o.ID, o.Bundle, pid, o.Spec)
		return sendToAgent(o.Spec.Linux.Seccomp.ListenerPath, state, listener)
	}}
	if err := p.startPlaced(cg, undo); err != nil {
		parent.Close()
		return nil, err
	}
	undo.push(func() { parent.Close() })
	if err := setOOMScoreAdj(p.cmd.Process.Pid, oomScoreAdj(o.Spec)); err != nil {
		return nil, err
	}
	if err := setResources(o.Spec, cg); err != nil {
		return nil, err
	}
	if err := p.handshake(o.Spec, cfg); err != nil {
		return nil, err
	}
	parent.Close()
	return p, nil
}

// startPlaced creates the container's cgroup and starts the stub inside it
// (startInCgroup), or moves it in right after the start where the kernel
// cannot do that, before it reads its bootstrap: the init and everything
// it forks is born inside.
func (p *initProcess) startPlaced(cg cgroups.Manager, undo *cleanup) error {
	pushCgroupUndo(cg, undo)
	cgDir, err := cg.Prepare()
	if err != nil {
		return err
	}
	cmd, cloned, err := startInCgroup(p.cmd, cgDir, p.name())
	if cgDir != nil {
		cgDir.Close()
	}
	if err != nil {
		return fmt.Errorf("start init: %w", err)
	}
	p.cmd = cmd
	undo.push(func() { p.kill(cg) })
	return joinCgroup(cg, cmd.Process.Pid, cloned)
}

// syncPair makes the sync socketpair: the parent's end and the child's.
func syncPair() (parent, child *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("make sync socket: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), "sync-parent"), os.NewFile(uintptr(fds[1]), "sync-child"), nil
}

// initCommand lays out the init's fds: the socket activation and preserved
// ones keep their numbers (3..3+N-1), then the sync socket, the fifo, the
// console socket and the id-mapped mount trees.
func initCommand(o *CreateOpts, cfg *initConfig, sock, fifo *os.File, trees map[int]*os.File) *exec.Cmd {
	var extra []*os.File
	for i := 0; i < cfg.PreserveFds; i++ {
		extra = append(extra, os.NewFile(uintptr(3+i), "preserved"))
	}
	syncFd := 3 + len(extra)
	extra = append(extra, sock, fifo)
	cfg.FifoFd = syncFd + 1
	if o.ConsoleSocket != nil {
		extra = append(extra, o.ConsoleSocket)
		cfg.ConsoleFd = syncFd + 2
	}
	for i, f := range trees {
		if cfg.IDMapFds == nil {
			cfg.IDMapFds = map[int]int{}
		}
		cfg.IDMapFds[i] = 3 + len(extra)
		extra = append(extra, f)
	}
	return reexecCommand(initMode, syncFd, extra, o.Stdin, o.Stdout, o.Stderr)
}

// The modes of `berth init`: the container's first process, or a process
// exec'd into a running container (main dispatches on the argument).
const (
	initMode = ""
	execMode = "exec"
)

// reexecCommand is `berth init [mode]` (the binary re-executed through
// /proc/self/exe) with the sync socket at fd syncFd of extra, for the C stub
// and the Go init to find.
func reexecCommand(mode string, syncFd int, extra []*os.File, stdin, stdout, stderr *os.File) *exec.Cmd {
	cmd := exec.Command(sealedExe(3+len(extra)), "init")
	if mode != initMode {
		cmd.Args = append(cmd.Args, mode)
	}
	cmd.Args[0] = os.Args[0]
	cmd.Env = []string{nsenter.SyncEnv + "=" + strconv.Itoa(syncFd), "GOMAXPROCS=1", "GOGC=off"}
	cmd.ExtraFiles = extra
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	return cmd
}

// placeInCgroup moves a process started outside the container's cgroups
// (CRIU, for restore) into them and applies linux.resources.
func placeInCgroup(s *specs.Spec, cg cgroups.Manager, pid int, undo *cleanup) error {
	pushCgroupUndo(cg, undo)
	if err := cg.Apply(pid); err != nil {
		return err
	}
	return setResources(s, cg)
}

// pushCgroupUndo makes a failed create remove the cgroup.
func pushCgroupUndo(cg cgroups.Manager, undo *cleanup) {
	undo.push(func() {
		// Restore pushes this after its process started, so it runs
		// before the undo that kills it: it must empty the cgroup
		// itself (rmdir of a cgroup with a live task fails, EBUSY).
		emptyCgroup(cg)
		if err := cg.Destroy(); err != nil {
			fmt.Fprintf(os.Stderr, "berth: cleanup: %v\n", err)
		}
	})
}

// setResources applies linux.resources of a new container, with the device
// rules of linux.devices.
func setResources(s *specs.Spec, cg cgroups.Manager) error {
	if s.Linux == nil || s.Linux.Resources == nil {
		return nil
	}
	r := *s.Linux.Resources
	// Never nil: a nil list would tell Set to leave the devices
	// cgroup alone, and a new container must get deny-all + defaults.
	r.Devices = append(append([]specs.LinuxDeviceCgroup{}, r.Devices...), deviceRules(s.Linux.Devices)...)
	return cg.Set(&r)
}

// emptyCgroup SIGKILLs every process in cg and waits up to a second for
// them to leave it (a killed task leaves its cgroup when it exits, before
// it is reaped).
func emptyCgroup(cg cgroups.Manager) {
	for i := 0; i < 200; i++ {
		pids, err := cg.Pids()
		if err != nil || len(pids) == 0 {
			return
		}
		for _, pid := range pids {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// deviceRules allows the devices that linux.devices creates, as runc does.
func deviceRules(devs []specs.LinuxDevice) []specs.LinuxDeviceCgroup {
	var rules []specs.LinuxDeviceCgroup
	for _, d := range devs {
		t := d.Type
		if t == "u" {
			t = "c"
		}
		if t == "p" {
			continue
		}
		maj, min := d.Major, d.Minor
		rules = append(rules, specs.LinuxDeviceCgroup{Allow: true, Type: t, Major: &maj, Minor: &min, Access: "rwm"})
	}
	return rules
}

// handshake sends the bootstrap and the config, then follows the sequence
// computed from the spec.
func (p *initProcess) handshake(s *specs.Spec, cfg *initConfig) error {
	boot, plan, err := bootstrapFor(s)
	if err != nil {
		return err
	}
	plan.Hooks = needsHookSync(s)
	plan.SeccompNotify = cfg.Seccomp != nil && cfg.Seccomp.Notify
	cfg.WaitRun, cfg.Hooks = plan.WaitRun, plan.Hooks
	cfg.Spec = s
	boot.Plan, err = compileInitPlan(cfg, p.cmd.Process.Pid)
	if err != nil {
		return err
	}
	if boot.Plan != nil {
		// The stub runs the whole init: no Go init to configure.
		logrus.Debugf("container init: the C stub runs the init (init plan, %d bytes)", len(boot.Plan))
		return p.exchange(s, boot, plan, nil)
	}
	logrus.Debugf("container init: the Go init runs (the config needs it)")
	cj, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	return p.exchange(s, boot, plan, cj)
}

// exchange is the handshake proper, shared by create and exec: the
// bootstrap for the stub, the config (cj, nil for none) for the Go side, then the frames
// of sync.Sequence(plan), in order.
func (p *initProcess) exchange(s *specs.Spec, boot *nsenter.Bootstrap, plan sync.Plan, cj []byte) error {
	payload, err := boot.Encode()
	if err != nil {
		return err
	}
	if err := sync.Write(p.sock, sync.Bootstrap, payload); err != nil {
		return p.failed(err)
	}
	// The config goes out with the bootstrap so it waits in the socket while
	// the init's Go runtime starts; but with a new user namespace the stub
	// still has to read UsermapAck, so then it follows that.
	sendConfig := func() error {
		if cj == nil {
			return nil // no Go init (an init plan)
		}
		return sync.Write(p.sock, sync.Config, cj)
	}
	if !plan.NewUserNS {
		if err := sendConfig(); err != nil {
			return p.failed(err)
		}
	}
	for _, step := range sync.Sequence(plan) {
		msg, err := sync.Expect(p.sock, step.From)
		if err != nil {
			return p.failed(err)
		}
		reply, err := p.handle(s, step.From, msg)
		if err != nil {
			return err
		}
		if step.Reply != 0 {
			if err := sync.Write(p.sock, step.Reply, reply); err != nil {
				return p.failed(err)
			}
		}
		if step.Reply == sync.UsermapAck {
			if err := sendConfig(); err != nil {
				return p.failed(err)
			}
		}
	}
	return nil
}

// handle acts on one expected frame and returns the payload of the reply.
func (p *initProcess) handle(s *specs.Spec, t sync.Type, msg []byte) ([]byte, error) {
	switch t {
	case sync.UsermapReq:
		return nil, writeIDMaps(p.cmd.Process.Pid, s.Linux)
	case sync.Pid:
		return nil, p.gotPid(msg)
	case sync.Hooks:
		if p.onHooks == nil {
			return nil, errors.New("protocol: unexpected hooks frame")
		}
		return p.onHooks(p.pid)
	case sync.SeccompFd:
		listener, err := RecvFd(p.sock)
		if err != nil {
			return nil, fmt.Errorf("seccomp listener: %w", err)
		}
		defer listener.Close()
		if p.onSeccomp == nil {
			return nil, errors.New("protocol: unexpected seccomp listener")
		}
		return nil, p.onSeccomp(p.pid, listener)
	}
	return nil, nil
}

func (p *initProcess) gotPid(msg []byte) error {
	if len(msg) != 4 {
		return fmt.Errorf("protocol: pid frame of %d bytes", len(msg))
	}
	p.pid = int(binary.NativeEndian.Uint32(msg))
	if p.pid != p.cmd.Process.Pid {
		// The stub forked the init and exits now; reap it.
		if err := p.cmd.Wait(); err != nil {
			return fmt.Errorf("nsenter stub: %w", err)
		}
	}
	st, err := sys.Stat(p.pid)
	if err != nil {
		return fmt.Errorf("container init %d: %w", p.pid, err)
	}
	p.start = st.StartTime
	return nil
}

// failed turns a handshake error into what the user should read: the init's
// own error when it sent one, else how the init ended.
func (p *initProcess) failed(err error) error {
	var re *sync.RemoteError
	if errors.As(err, &re) {
		return fmt.Errorf("%s: %w", p.name(), err)
	}
	if errors.Is(err, sync.ErrPeerGone) && p.pid == 0 {
		if werr := p.cmd.Wait(); werr != nil {
			return fmt.Errorf("%s exited before it was ready: %v", p.name(), werr)
		}
	}
	return fmt.Errorf("%s: %w", p.name(), err)
}

// kill ends the init and the stub (and anything in the cgroup) and reaps
// what is ours to reap; part of a failed create's undo.
func (p *initProcess) kill(cg cgroups.Manager) {
	if p.pid > 0 && sys.Alive(p.pid, p.start) {
		_ = unix.Kill(p.pid, unix.SIGKILL)
	}
	if pids, err := cg.Pids(); err == nil {
		for _, pid := range pids {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
	}
	if p.cmd.ProcessState == nil {
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
	}
	if p.pid > 0 && p.pid != p.cmd.Process.Pid {
		waitGone(p.pid, p.start)
	}
}

// bootstrapFor computes the stub's instructions and the handshake plan.
func bootstrapFor(s *specs.Spec) (*nsenter.Bootstrap, sync.Plan, error) {
	var b nsenter.Bootstrap
	var plan sync.Plan
	if s.Linux == nil {
		return &b, plan, nil
	}
	for _, ns := range s.Linux.Namespaces {
		flag := nsenter.Flag(string(ns.Type))
		if ns.Path != "" {
			b.Join = append(b.Join, nsenter.NSPath{Flag: flag, Path: ns.Path})
			continue
		}
		b.CloneFlags |= flag
	}
	plan.NewUserNS = b.CloneFlags&unix.CLONE_NEWUSER != 0
	if b.CloneFlags&unix.CLONE_NEWTIME != 0 {
		var sb strings.Builder
		for _, clock := range []string{"monotonic", "boottime"} {
			if off, ok := s.Linux.TimeOffsets[clock]; ok {
				fmt.Fprintf(&sb, "%s %d %d\n", clock, off.Secs, off.Nanosecs)
			}
		}
		b.TimensOffsets = sb.String()
	}
	return &b, plan, nil
}

// writeIDMaps writes uid_map and gid_map of a stub that made a new user
// namespace: only a process outside it may map more than its own id.
func writeIDMaps(pid int, l *specs.Linux) error {
	write := func(name string, maps []specs.LinuxIDMapping) error {
		var sb strings.Builder
		for _, m := range maps {
			fmt.Fprintf(&sb, "%d %d %d\n", m.ContainerID, m.HostID, m.Size)
		}
		if err := writeProcFile(pid, name, sb.String()); err != nil {
			return fmt.Errorf("linux.%sMappings: %w", name[:3], err)
		}
		return nil
	}
	if err := write("uid_map", l.UIDMappings); err != nil {
		return err
	}
	return write("gid_map", l.GIDMappings)
}

func unwrapPathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// waitGone waits for a process that is not our child to exit (pidfd poll).
func waitGone(pid int, start uint64) {
	fd, err := sys.PidfdOpen(pid, start)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	_, _ = sys.PidfdWait(fd, 10000)
}

// compileSeccomp builds the container's seccomp filter in the parent.
// Syscall names libseccomp does not know here are skipped, as runc does.
func compileSeccomp(s *specs.Spec) (*seccomp.Program, error) {
	if s.Linux == nil || s.Linux.Seccomp == nil {
		return nil, nil
	}
	if logrus.IsLevelEnabled(logrus.DebugLevel) {
		if unknown := seccomp.Unknown(s.Linux.Seccomp); len(unknown) > 0 {
			logrus.Debugf("linux.seccomp: syscalls unknown to libseccomp, skipped: %v", unknown)
		}
	}
	p, err := seccomp.Compile(s.Linux.Seccomp)
	if err != nil {
		return nil, fmt.Errorf("linux.seccomp: %w", err)
	}
	return p, nil
}

// sealedExe is the path the init is executed from: a read-only view of the
// berth binary (see exeseal), so that nothing in the container can write to
// the runtime through /proc/<pid>/exe (CVE-2019-5736). The fd stays open
// for the life of this short-lived process, numbered above every fd the
// child is given (above minFd), where the child's fd layout cannot cover it.
func sealedExe(minFd int) string {
	sealed.once.Do(func() {
		f, err := exeseal.Open(max(minFd, 100))
		if err != nil {
			logrus.Warnf("running the init from /proc/self/exe, unprotected: %v", err)
			sealed.path = "/proc/self/exe"
			return
		}
		sealed.file = f
		sealed.path = "/proc/self/fd/" + strconv.Itoa(int(f.Fd()))
	})
	return sealed.path
}

var sealed struct {
	once gosync.Once
	file *os.File
	path string
}

// createHooks runs the parent's hooks of create, prestart then createRuntime
// (in the runtime namespaces, the init waiting before its pivot), and
// returns the state the init passes to its own hooks.
//
// Their state says "created": runtime.md's lifecycle makes these hooks
// steps 3-5, and "created" is the status "after step 2" ("creating" is
// step 2 itself). runc says "creating" here; crun, like berth, "created".
func createHooks(o *CreateOpts, pid int) ([]byte, error) {
	state := hookState(o.ID, o.Bundle, pid, Created, o.Spec.Annotations)
	h := hooksOf(o.Spec)
	if err := runHooks("prestart", h.Prestart, state); err != nil {
		return nil, err
	}
	if err := runHooks("createRuntime", h.CreateRuntime, state); err != nil {
		return nil, err
	}
	return state, nil
}

// writeProcFile writes /proc/<pid>/<name> of the host's procfs, opened
// through a verified procfs handle so no symlink or mount can redirect it.
func writeProcFile(pid int, name, data string) error {
	proc, err := openProc()
	if err != nil {
		return err
	}
	defer unix.Close(proc)
	rel := strconv.Itoa(pid) + "/" + name
	fd, err := openBeneath(proc, rel, unix.O_WRONLY)
	if err != nil {
		return fmt.Errorf("open /proc/%s: %w", rel, err)
	}
	defer unix.Close(fd)
	if _, err := unix.Write(fd, []byte(data)); err != nil {
		return fmt.Errorf("write /proc/%s: %w", rel, err)
	}
	return nil
}

// oomScoreAdj is process.oomScoreAdj, nil without a process.
func oomScoreAdj(s *specs.Spec) *int {
	if s.Process == nil {
		return nil
	}
	return s.Process.OOMScoreAdj
}
