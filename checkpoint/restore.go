package checkpoint

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/checkpoint-restore/go-criu/v7/rpc"
	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/proto"
)

// RestoreRequest is a restore of an image into a prepared root.
type RestoreRequest struct {
	Options
	// Root is a mount point holding the container's rootfs, whose parent
	// is not overmounted (CRIU pivots into it).
	Root string
	// ExtMounts map the external mounts' names in the image to host paths.
	ExtMounts []ExtMount
	// Inherit are files the restored tree takes in place of the external
	// resource named by the key: a namespace ("extRootNetNS"), a pipe
	// ("pipe:[123]").
	Inherit []Inherit
	// JoinNs are namespaces (type -> path) the tree joins instead of having
	// them restored.
	JoinNs map[string]string
	// CgRoots map each cgroup controller ("memory", "cpu,cpuacct", "" for
	// cgroup2) to the container's cgroup, where CRIU puts the tree.
	CgRoots map[string]string
	// Stdin, Stdout, Stderr are criu's stdio; InheritStdio keys ("pipe:[..]")
	// name which of the tree's external pipes stand for fds 0, 1, 2.
	Stdin, Stdout, Stderr *os.File
	InheritStdio          [3]string
	// BeforeRequest runs with criu's pid once it has started, before it
	// is asked anything: the caller puts criu in the container's cgroups.
	BeforeRequest func(criuPid int) error
	// OnSetupNamespaces runs with the restored init's pid once CRIU has
	// made its namespaces, before any task is restored into them: where
	// runc runs the prestart and createRuntime hooks. nil: nothing to do.
	OnSetupNamespaces func(pid int) error
	// OnPtyMaster receives the master of the restored terminal (CRIU made
	// a new pty for it); nil when the container has none.
	OnPtyMaster func(master *os.File) error
}

// Inherit is one CRIU inherit-fd: File stands for Key in the restored tree.
type Inherit struct {
	Key  string
	File *os.File
}

// Restore restores the image and returns the pid of the restored init: a
// child of the calling process (rst_sibling: CRIU's sibling, not its child).
func Restore(r *RestoreRequest) (int, error) {
	if err := r.Validate(); err != nil {
		return 0, err
	}
	if _, err := Check(); err != nil {
		return 0, err
	}
	if r.LazyPages {
		if err := CheckFeatures("restore --lazy-pages", LazyPages); err != nil {
			return 0, err
		}
	}
	img, work, err := r.openDirs(false)
	if err != nil {
		return 0, err
	}
	defer img.Close()
	if work != nil {
		defer work.Close()
	}
	if _, err := os.Stat(img.Name() + "/inventory.img"); err != nil {
		return 0, fmt.Errorf("image directory %s: no CRIU image (inventory.img): %w", r.ImagePath, errNoImage(err))
	}
	io := &swrkIO{Stdin: r.Stdin, Stdout: r.Stdout, Stderr: r.Stderr}
	opts := r.rpcOpts(img, work, io)
	s, err := startSwrk(io)
	if err != nil {
		return 0, err
	}
	if r.BeforeRequest != nil {
		if err := r.BeforeRequest(s.Pid()); err != nil {
			s.close()
			return 0, err
		}
	}
	r.cgRoots(opts)
	pid := 0
	t := rpc.CriuReqType_RESTORE
	s.killOn(r.Cancel)
	_, err = s.call(&rpc.CriuReq{Type: &t, Opts: opts}, func(n *rpc.CriuNotify, oob []byte) error {
		return r.onNotify(n, oob, &pid)
	})
	werr := s.close()
	if err := s.interrupted("restore", err); errors.Is(err, ErrInterrupted) {
		if pid > 0 {
			unix.Kill(pid, unix.SIGKILL)
		}
		// A killed criu leaves its cgroup yard mounted in its work dir.
		unmountCgroupYards(r.logDir())
		return 0, err
	}
	if err == nil && werr != nil {
		err = fmt.Errorf("criu exited: %w", werr)
	}
	if err == nil && pid == 0 {
		err = errors.New("criu did not report the restored pid")
	}
	if err != nil {
		if pid > 0 {
			unix.Kill(pid, unix.SIGKILL)
		}
		return 0, newError("restore", err, r.logDir(), restoreLog)
	}
	return pid, nil
}

func errNoImage(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func (r *RestoreRequest) rpcOpts(img, work *os.File, io *swrkIO) *rpc.CriuOpts {
	o := &rpc.CriuOpts{
		ImagesDirFd:     proto.Int32(int32(img.Fd())),
		EvasiveDevices:  proto.Bool(true),
		LogLevel:        proto.Int32(4),
		LogFile:         proto.String(restoreLog),
		RstSibling:      proto.Bool(true),
		Root:            proto.String(r.Root),
		ManageCgroups:   proto.Bool(true),
		NotifyScripts:   proto.Bool(true),
		ShellJob:        proto.Bool(r.ShellJob),
		ExtUnixSk:       proto.Bool(r.ExtUnixSk),
		TcpEstablished:  proto.Bool(r.TCPEstablished),
		FileLocks:       proto.Bool(r.FileLocks),
		EmptyNs:         proto.Uint32(r.EmptyNs),
		OrphanPtsMaster: proto.Bool(true),
		AutoDedup:       proto.Bool(r.AutoDedup),
		LazyPages:       proto.Bool(r.LazyPages),
		ConfigFile:      r.ConfigFile,
	}
	r.common(o, work)
	if r.LsmProfile != "" {
		o.LsmProfile = proto.String(r.LsmProfile)
	}
	if r.LsmMountContext != "" {
		o.LsmMountContext = proto.String(r.LsmMountContext)
	}
	for _, m := range r.ExtMounts {
		o.ExtMnt = append(o.ExtMnt, &rpc.ExtMountMap{Key: proto.String(m.Key), Val: proto.String(m.Val)})
	}
	for i, key := range r.InheritStdio {
		if key != "" {
			o.InheritFd = append(o.InheritFd, &rpc.InheritFd{Key: proto.String(key), Fd: proto.Int32(int32(i))})
		}
	}
	// criu's fd 3 is its socket; the inherited files follow from 4.
	for _, in := range r.Inherit {
		fd := 4 + len(io.Extra)
		io.Extra = append(io.Extra, in.File)
		o.InheritFd = append(o.InheritFd, &rpc.InheritFd{Key: proto.String(in.Key), Fd: proto.Int32(int32(fd))})
	}
	for ns, path := range r.JoinNs {
		o.JoinNs = append(o.JoinNs, &rpc.JoinNamespace{Ns: proto.String(ns), NsFile: proto.String(path)})
	}
	return o
}

// cgRoots adds the cgroup roots, known once criu is in its cgroups.
func (r *RestoreRequest) cgRoots(o *rpc.CriuOpts) {
	for ctrl, path := range r.CgRoots {
		o.CgRoot = append(o.CgRoot, &rpc.CgroupRoot{Ctrl: proto.String(ctrl), Path: proto.String(path)})
	}
}

// onNotify records the restored init's pid and hands a restored terminal's
// new master to the caller.
func (r *RestoreRequest) onNotify(n *rpc.CriuNotify, oob []byte, pid *int) error {
	switch n.GetScript() {
	case "setup-namespaces":
		if r.OnSetupNamespaces != nil {
			return r.OnSetupNamespaces(int(n.GetPid()))
		}
	case "post-restore":
		*pid = int(n.GetPid())
	case "orphan-pts-master":
		f, err := recvFile(oob)
		if err != nil {
			return fmt.Errorf("restored terminal: %w", err)
		}
		defer f.Close()
		if r.OnPtyMaster == nil {
			return errors.New("restored terminal: the container had a terminal: --console-socket is required")
		}
		return r.OnPtyMaster(f)
	case "status-ready":
		if r.StatusFd >= 0 {
			_, _ = unix.Write(r.StatusFd, []byte{0})
			unix.Close(r.StatusFd)
			r.StatusFd = -1
		}
	}
	return nil
}

func recvFile(oob []byte) (*os.File, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil || len(msgs) == 0 {
		return nil, errors.New("no fd in criu's notification")
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) == 0 {
		return nil, errors.New("no fd in criu's notification")
	}
	for _, fd := range fds[1:] {
		unix.Close(fd)
	}
	return os.NewFile(uintptr(fds[0]), "pty-master-"+strconv.Itoa(fds[0])), nil
}

// unmountCgroupYards detaches the cgroup yards (".criu.cgyard.XXXXXX", the
// cgroup hierarchies CRIU mounts while it restores) left in dir by a criu
// that was killed, and removes their directories.
func unmountCgroupYards(dir string) {
	prefix := filepath.Join(dir, ".criu.cgyard.")
	mounts, err := mountinfo.GetMounts(mountinfo.PrefixFilter(filepath.Dir(prefix)))
	if err != nil {
		return
	}
	seen := map[string]bool{}
	for _, m := range mounts {
		if yard, ok := strings.CutPrefix(m.Mountpoint, prefix); ok {
			yard, _, _ = strings.Cut(yard, "/")
			seen[prefix+yard] = true
		}
	}
	for yard := range seen {
		_ = unix.Unmount(yard, unix.MNT_DETACH)
		_ = os.Remove(yard)
	}
}
