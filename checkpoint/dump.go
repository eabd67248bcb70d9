package checkpoint

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/checkpoint-restore/go-criu/v7/rpc"
	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/proto"
)

// DumpRequest is a checkpoint (or pre-dump) of the process tree under Pid.
type DumpRequest struct {
	Options
	// Pid is the container's init (host view).
	Pid int
	// Root is the container's rootfs on the host.
	Root string
	// FreezeCgroup is the freezer cgroup directory CRIU freezes the tree
	// with (instead of ptrace-stopping each task); "" for none.
	FreezeCgroup string
	// ExtMounts are mounts of the container CRIU must leave alone: binds
	// from the host, the cgroup hierarchies, masked paths, device nodes.
	ExtMounts []ExtMount
	// External are CRIU --external resources ("net[INODE]:extRootNetNS").
	External []string
	// Files are written into the image directory before CRIU runs (a full
	// dump only): runc's descriptors.json and berth's own notes.
	Files map[string][]byte
}

// The names of CRIU's logs, in the work (or image) directory.
const (
	dumpLog    = "dump.log"
	preDumpLog = "pre-dump.log"
	restoreLog = "restore.log"
)

// Dump runs CRIU's dump or, with PreDump, pre-dump. Without LeaveRunning
// (and not a pre-dump) CRIU kills the tree once its image is complete.
func Dump(r *DumpRequest) error {
	if err := r.Validate(); err != nil {
		return err
	}
	op, t, logFile := "dump", rpc.CriuReqType_DUMP, dumpLog
	if r.PreDump {
		op, t, logFile = "pre-dump", rpc.CriuReqType_PRE_DUMP, preDumpLog
	}
	if err := r.dumpPreflight(); err != nil {
		return err
	}
	img, work, err := r.openDirs(true)
	if err != nil {
		return err
	}
	defer img.Close()
	if work != nil {
		defer work.Close()
	}
	for name, data := range r.Files {
		if err := os.WriteFile(filepath.Join(r.ImagePath, name), data, 0o600); err != nil {
			return fmt.Errorf("image directory: %w", err)
		}
	}
	opts, err := r.rpcOpts(img, work, logFile)
	if err != nil {
		return err
	}
	s, err := startSwrk(nil)
	if err != nil {
		return err
	}
	s.killOn(r.Cancel)
	_, err = s.call(&rpc.CriuReq{Type: &t, Opts: opts}, r.onNotify)
	werr := s.close()
	if err := s.interrupted(op, err); errors.Is(err, ErrInterrupted) {
		return err
	}
	if err == nil && werr != nil && !r.PreDump {
		// A pre-dump's criu is killed by closing its socket; any other
		// criu must exit cleanly.
		err = fmt.Errorf("criu exited: %w", werr)
	}
	if err != nil {
		return newError(op, err, r.logDir(), logFile)
	}
	return nil
}

// dumpPreflight checks the features the options need, before any image is
// written.
func (r *DumpRequest) dumpPreflight() error {
	if _, err := Check(); err != nil {
		return err
	}
	var need []Feature
	var why string
	if r.PreDump || r.ParentPath != "" {
		need, why = append(need, MemTrack), "--parent-path"
		if r.PreDump {
			why = "--pre-dump"
		}
	}
	if r.LazyPages {
		need, why = append(need, LazyPages), "--lazy-pages"
		if r.PreDump {
			return errors.New("--lazy-pages cannot be combined with --pre-dump")
		}
		if err := lazyPipePreflight(); err != nil {
			return err
		}
	}
	if len(need) > 1 {
		why = "--parent-path with --lazy-pages"
	}
	return CheckFeatures(why, need...)
}

func (r *DumpRequest) rpcOpts(img, work *os.File, logFile string) (*rpc.CriuOpts, error) {
	o := &rpc.CriuOpts{
		ImagesDirFd:     proto.Int32(int32(img.Fd())),
		LogLevel:        proto.Int32(4),
		LogFile:         proto.String(logFile),
		Root:            proto.String(r.Root),
		ManageCgroups:   proto.Bool(true),
		NotifyScripts:   proto.Bool(true),
		Pid:             proto.Int32(int32(r.Pid)),
		ShellJob:        proto.Bool(r.ShellJob),
		LeaveRunning:    proto.Bool(r.LeaveRunning),
		TcpEstablished:  proto.Bool(r.TCPEstablished),
		TcpSkipInFlight: proto.Bool(r.TCPSkipInFlight),
		LinkRemap:       proto.Bool(r.LinkRemap),
		ExtUnixSk:       proto.Bool(r.ExtUnixSk),
		FileLocks:       proto.Bool(r.FileLocks),
		EmptyNs:         proto.Uint32(r.EmptyNs),
		OrphanPtsMaster: proto.Bool(true),
		AutoDedup:       proto.Bool(r.AutoDedup),
		LazyPages:       proto.Bool(r.LazyPages),
		External:        r.External,
		ConfigFile:      r.ConfigFile,
	}
	r.common(o, work)
	if r.FreezeCgroup != "" {
		o.FreezeCgroup = proto.String(r.FreezeCgroup)
	}
	if r.ParentPath != "" {
		o.ParentImg = proto.String(r.ParentPath)
		o.TrackMem = proto.Bool(true)
	}
	if r.PageServer != "" {
		addr, port, _ := splitPageServer(r.PageServer)
		o.Ps = &rpc.CriuPageServerInfo{Address: proto.String(addr), Port: proto.Int32(port)}
	}
	if !r.PreDump {
		for _, m := range r.ExtMounts {
			o.ExtMnt = append(o.ExtMnt, &rpc.ExtMountMap{Key: proto.String(m.Key), Val: proto.String(m.Val)})
		}
	}
	return o, nil
}

// common sets what dump and restore share: the cgroup mode, the work dir.
func (o *Options) common(ro *rpc.CriuOpts, work *os.File) {
	if o.ManageCgroupsMode != "" {
		m := map[string]rpc.CriuCgMode{
			"soft": rpc.CriuCgMode_SOFT, "full": rpc.CriuCgMode_FULL,
			"strict": rpc.CriuCgMode_STRICT, "ignore": rpc.CriuCgMode_IGNORE,
		}[o.ManageCgroupsMode]
		ro.ManageCgroupsMode = &m
	}
	if work != nil {
		ro.WorkDirFd = proto.Int32(int32(work.Fd()))
	}
	ro.NetworkLock = networkLock()
}

// networkLock is how CRIU locks a network namespace it dumps or restores:
// its default, iptables, runs iptables-restore; where there is none, CRIU's
// own nftables (it links libnftables) does the same without a binary.
func networkLock() *rpc.CriuNetworkLockMethod {
	if _, err := exec.LookPath("iptables-restore"); err == nil {
		return nil
	}
	m := rpc.CriuNetworkLockMethod_NFTABLES
	return &m
}

// onNotify handles the dump's notifications: only status-ready (the lazy
// page server is up) needs an action, the "\0" on the status fd.
func (r *DumpRequest) onNotify(n *rpc.CriuNotify, _ []byte) error {
	if n.GetScript() == "status-ready" && r.StatusFd >= 0 {
		if _, err := unix.Write(r.StatusFd, []byte{0}); err != nil {
			return fmt.Errorf("--status-fd %d: %w", r.StatusFd, err)
		}
		unix.Close(r.StatusFd)
		r.StatusFd = -1
	}
	return nil
}
