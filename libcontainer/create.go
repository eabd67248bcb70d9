package libcontainer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/berthrt/berth/cgroups"
	"github.com/berthrt/berth/libcontainer/caps"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// CreateOpts are the inputs of Create. Spec must already be validated.
type CreateOpts struct {
	Root   string
	ID     string
	Bundle string
	Spec   *specs.Spec
	// SpecJSON is the config.json Spec was decoded from (optional: it
	// saves encoding Spec again for the snapshot and the init).
	SpecJSON []byte
	// ConsoleSocket is a connected unix socket the pty master is sent over;
	// required exactly when Spec.Process.Terminal is true.
	ConsoleSocket *os.File
	// PreserveFds passes N more fds of this process to the container, from
	// 3 (after the ListenFds, if any), keeping their numbers.
	PreserveFds int
	// ListenFds are systemd's socket activation fds (LISTEN_FDS of berth):
	// they are fds 3..3+N-1 here and in the container, the preserved fds
	// follow them, and the process gets LISTEN_FDS and its own LISTEN_PID.
	ListenFds     int
	ListenFdNames string
	NoPivot       bool
	NoNewKeyring  bool
	// NotifySocket is berth's NOTIFY_SOCKET: the container gets a socket at
	// the same path, relayed by StartNotify (see notify.go).
	NotifySocket string
	// PidfdSocket, if set, receives a pidfd of the container's init.
	PidfdSocket *os.File
	// Stdio of the container init (nil: /dev/null).
	Stdin, Stdout, Stderr *os.File
}

// SystemdCgroup selects the systemd cgroup driver for new containers
// (berth --systemd-cgroup); later commands find the driver in state.json.
var SystemdCgroup bool

// Create makes a container whose init waits on exec.fifo for Start. On
// failure nothing is left: no state dir, cgroup or process.
func Create(o *CreateOpts) (c *Container, err error) {
	dir, err := stateDir(o.Root, o.ID)
	if err != nil {
		return nil, err
	}
	if o.Spec.Process != nil && o.Spec.Process.Terminal != (o.ConsoleSocket != nil) {
		if o.ConsoleSocket == nil {
			return nil, errors.New("process.terminal is true: --console-socket is required")
		}
		return nil, errors.New("--console-socket given but process.terminal is false")
	}
	if p := o.Spec.Process; p != nil {
		if un := caps.Unavailable(p.Capabilities); len(un) > 0 {
			logrus.Warnf("capabilities unknown to this kernel are skipped: %v", un)
		}
		if missing := caps.NotHeld(p.Capabilities); len(missing) > 0 {
			return nil, fmt.Errorf("process.capabilities: %v: not in berth's own bounding set on this host, so no process it starts can have them", missing)
		}
		if sk := caps.AmbientSkipped(p.Capabilities); len(sk) > 0 {
			logrus.Warnf("process.capabilities.ambient: %v not raised: not in both permitted and inheritable", sk)
		}
	}
	cg, err := containerCgroups(o.Spec, o.ID)
	if err != nil {
		return nil, err
	}
	return inNewStateDir(o.Root, o.ID, dir, func(undo *cleanup) (*Container, error) {
		return create(o, dir, cg, undo)
	})
}

// inNewStateDir makes the state dir of a new container (create, restore),
// runs build under its lock, and undoes everything pushed on undo if build
// fails.
func inNewStateDir(root, id, dir string, build func(undo *cleanup) (*Container, error)) (c *Container, err error) {
	var undo cleanup
	defer func() {
		if err != nil {
			undo.run()
		}
	}()
	lock, err := makeStateDir(root, dir, &undo)
	if err != nil {
		return nil, fmt.Errorf("container %q: %w", id, err)
	}
	defer lock.Close()
	return build(&undo)
}

// makeStateDir makes the container's state dir and its lock file and
// returns the lock, held exclusively from its first moment: a delete that
// finds a state dir without state.json (RemoveAborted) takes an unheld
// lock to mean the create that made it is gone.
func makeStateDir(root, dir string, undo *cleanup) (*os.File, error) {
	if err := os.MkdirAll(root, 0o711); err != nil {
		return nil, fmt.Errorf("make state root: %w", err)
	}
	if err := os.Mkdir(dir, 0o711); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, ErrExist
		}
		return nil, fmt.Errorf("make state dir: %w", err)
	}
	undo.push(func() { os.RemoveAll(dir) })
	f, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_CREATE|os.O_EXCL|os.O_RDONLY|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("make lock file: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return f, nil
}

func create(o *CreateOpts, dir string, cg cgroups.Manager, undo *cleanup) (*Container, error) {
	if o.NotifySocket != "" {
		if err := setupNotify(o, dir); err != nil {
			return nil, err
		}
	}
	fifo := filepath.Join(dir, fifoFile)
	if err := unix.Mkfifo(fifo, 0o622); err != nil {
		return nil, fmt.Errorf("make exec fifo: %w", err)
	}
	// mkfifo is subject to the umask; the init may run as any uid.
	if err := os.Chmod(fifo, 0o622); err != nil {
		return nil, fmt.Errorf("make exec fifo: %w", err)
	}
	if o.SpecJSON == nil {
		b, err := json.Marshal(o.Spec)
		if err != nil {
			return nil, err
		}
		o.SpecJSON = b
	}
	// No temp file and rename: nobody reads the snapshot before state.json
	// exists, and that is written atomically.
	if err := os.WriteFile(filepath.Join(dir, configFile), o.SpecJSON, 0o600); err != nil {
		return nil, fmt.Errorf("save config snapshot: %w", err)
	}
	rootMnt, err := bindHostRootfs(o, undo)
	if err != nil {
		return nil, err
	}
	p, err := startInit(o, cg, fifo, undo)
	if err != nil {
		return nil, err
	}
	if o.PidfdSocket != nil {
		if err := (&Process{Pid: p.pid, start: p.start}).sendPidfd(o.PidfdSocket); err != nil {
			return nil, err
		}
	}
	st := newState(o, p, cg)
	st.RootfsMount = rootMnt
	if err := saveState(dir, st); err != nil {
		return nil, err
	}
	undo.release()
	logrus.Debugf("container %s created, init pid %d", o.ID, p.pid)
	return &Container{dir: dir, State: *st, spec: o.Spec}, nil
}

func newState(o *CreateOpts, p *initProcess, cg cgroups.Manager) *State {
	var ann map[string]string
	if len(o.Spec.Annotations) > 0 {
		ann = o.Spec.Annotations
	}
	return &State{
		OCIVersion: o.Spec.Version, ID: o.ID, InitPid: p.pid, InitStart: p.start,
		Bundle: o.Bundle, Rootfs: rootfsPath(o.Bundle, o.Spec), Created: time.Now().UTC(),
		Owner: ownerName(os.Geteuid()), Annotations: ann, CgroupPaths: cg.Paths(),
	}
}

// rootfsPath is root.path made absolute against the bundle.
func rootfsPath(bundle string, s *specs.Spec) string {
	if s.Root == nil {
		return ""
	}
	if filepath.IsAbs(s.Root.Path) {
		return filepath.Clean(s.Root.Path)
	}
	return filepath.Join(bundle, s.Root.Path)
}

// containerCgroups checks linux.resources (inconsistent limits are refused
// before anything is created) and resolves the container's cgroups with the
// driver chosen by --systemd-cgroup; shared by create and restore.
func containerCgroups(s *specs.Spec, id string) (cgroups.Manager, error) {
	var cgPath string
	if s.Linux != nil {
		cgPath = s.Linux.CgroupsPath
		if err := cgroups.Validate(s.Linux.Resources); err != nil {
			return nil, err
		}
	}
	return cgroups.New(cgPath, id, cgroups.Options{Systemd: SystemdCgroup, Annotations: s.Annotations})
}
