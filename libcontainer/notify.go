package libcontainer

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/berthrt/berth/libcontainer/sys"
	"github.com/coreos/go-systemd/v22/daemon"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// sd_notify relay. When berth runs with NOTIFY_SOCKET set (under systemd,
// Type=notify), the container gets a datagram socket at the same path and
// berth forwards what the container says to the host's socket:
//
//	create  makes <state>/notify/ and bind-mounts that directory (read-only,
//	        nosuid, nodev, noexec) on the directory of the NOTIFY_SOCKET path
//	        inside the container; process.env gets NOTIFY_SOCKET=<same path>.
//	start   binds <state>/notify/<name> (the socket appears inside through the
//	        directory mount, which is why the directory is mounted and not the
//	        socket: create's process is gone by start), lets the process run,
//	        then relays until the container says READY=1 (or its init exits),
//	        adds MAINPID=<init> and waits for systemd's barrier, so berth does
//	        not exit before systemd has moved its watch to the init.
//	run     as create then start; in the foreground MAINPID is berth itself,
//	        and the relay goes on until the container exits.
//
// Like runc, the container is trusted with a few keys only: MAINPID (a pid of
// its own namespace), fd store and NOTIFYACCESS lines never leave it; fds it
// sends are dropped (closed) on receipt, which also releases its barriers.
// An abstract NOTIFY_SOCKET (@name) cannot be mounted: the container then
// gets /run/notify/notify.sock, runc's path.

const notifyDirName = "notify"

// relayedKeys are the sd_notify variables passed on to the host.
var relayedKeys = map[string]bool{
	"READY": true, "RELOADING": true, "STOPPING": true, "STATUS": true,
	"ERRNO": true, "BUSERROR": true, "EXIT_STATUS": true, "MONOTONIC_USEC": true,
	"WATCHDOG": true, "WATCHDOG_USEC": true, "EXTEND_TIMEOUT_USEC": true,
}

// notifyPathInContainer is where the container's socket is: host's own path,
// unless that is an abstract socket.
func notifyPathInContainer(host string) string {
	if strings.HasPrefix(host, "@") || !filepath.IsAbs(host) {
		return "/run/notify/notify.sock"
	}
	return filepath.Clean(host)
}

// setupNotify prepares create for a relay: the socket directory in the state
// dir, its mount and NOTIFY_SOCKET in the process env. The spec changes, so
// the snapshot and the init's copy are encoded again from it.
func setupNotify(o *CreateOpts, dir string) error {
	if o.Spec.Process == nil {
		return nil
	}
	nd := filepath.Join(dir, notifyDirName)
	if err := os.Mkdir(nd, 0o755); err != nil {
		return fmt.Errorf("NOTIFY_SOCKET: make %s: %w", nd, err)
	}
	// Mkdir is subject to the umask; the container's user must reach it.
	if err := os.Chmod(nd, 0o755); err != nil {
		return fmt.Errorf("NOTIFY_SOCKET: %w", err)
	}
	inside := notifyPathInContainer(o.NotifySocket)
	o.Spec.Mounts = append(o.Spec.Mounts, specs.Mount{
		Destination: path.Dir(inside), Source: nd, Type: "bind",
		Options: []string{"bind", "nosuid", "noexec", "nodev", "ro"},
	})
	o.Spec.Process.Env = setEnv(o.Spec.Process.Env, "NOTIFY_SOCKET", inside)
	o.SpecJSON = nil
	return nil
}

// setEnv sets key=val in env, replacing an earlier value (getenv returns the
// first match, so appending would not override it).
func setEnv(env []string, key, val string) []string {
	out := make([]string, 0, len(env)+1)
	for _, e := range env {
		if !strings.HasPrefix(e, key+"=") {
			out = append(out, e)
		}
	}
	return append(out, key+"="+val)
}

// NotifyRelay forwards a container's sd_notify messages to the host's
// NOTIFY_SOCKET (berth's own environment, read by go-systemd).
type NotifyRelay struct {
	fd          int
	path        string
	pid         int
	start       uint64
	containerID string
}

// listenNotify binds the container's notify socket; nil when the container
// was created without one. The caller holds the container's lock, so no
// other start can replace the socket under a running relay.
func (c *Container) listenNotify() (*NotifyRelay, error) {
	nd := filepath.Join(c.dir, notifyDirName)
	if _, err := os.Stat(nd); err != nil {
		return nil, nil
	}
	cfg, err := c.Config()
	if err != nil {
		return nil, err
	}
	inside := ""
	for _, e := range cfg.Process.Env {
		if v, ok := strings.CutPrefix(e, "NOTIFY_SOCKET="); ok {
			inside = v
		}
	}
	if inside == "" {
		return nil, nil
	}
	sock := filepath.Join(nd, path.Base(inside))
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("notify socket: %w", err)
	}
	_ = os.Remove(sock) // a start that failed before may have left one
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: sock}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bind notify socket %s: %w", sock, err)
	}
	// Any uid in the container may send (sendto needs write permission).
	if err := os.Chmod(sock, 0o777); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("notify socket: %w", err)
	}
	return &NotifyRelay{fd: fd, path: sock, pid: c.State.InitPid, start: c.State.InitStart,
		containerID: c.State.ID}, nil
}

// WaitReady relays the container's messages until it reports READY=1 (sent
// on with MAINPID=mainPid, then systemd's barrier is awaited) or its init
// exits, and closes the relay. With follow, it goes on relaying until the
// init exits (a foreground run, where berth stays the main process). A nil
// relay (no NOTIFY_SOCKET) has nothing to wait for.
func (r *NotifyRelay) WaitReady(mainPid int, follow bool) error {
	if r == nil {
		return nil
	}
	defer r.Close()
	pidfd, err := sys.PidfdOpen(r.pid, r.start)
	if err != nil {
		return nil // the init is gone: nothing will be ready
	}
	defer unix.Close(pidfd)
	fds := []unix.PollFd{{Fd: int32(r.fd), Events: unix.POLLIN}, {Fd: int32(pidfd), Events: unix.POLLIN}}
	ready := false
	for {
		fds[0].Revents, fds[1].Revents = 0, 0
		if _, err := unix.Poll(fds, -1); err != nil && err != unix.EINTR {
			return fmt.Errorf("notify socket: poll: %w", err)
		}
		// Messages first: an init that says READY=1 and exits is ready.
		done, err := r.relayPending(mainPid, &ready)
		if err != nil {
			return err
		}
		if (done && !follow) || fds[1].Revents != 0 {
			return nil
		}
	}
}

// relayPending forwards every queued datagram; done once READY=1 went out.
func (r *NotifyRelay) relayPending(mainPid int, ready *bool) (bool, error) {
	buf := make([]byte, 4096)
	for {
		n, _, err := unix.Recvfrom(r.fd, buf, unix.MSG_DONTWAIT)
		if err == unix.EINTR {
			continue
		}
		if err == unix.EAGAIN {
			return *ready, nil
		}
		if err != nil {
			return *ready, fmt.Errorf("notify socket: receive: %w", err)
		}
		msg, isReady := filterNotify(buf[:n])
		if isReady && !*ready {
			msg = append(msg, "MAINPID="+strconv.Itoa(mainPid))
		}
		if len(msg) == 0 {
			continue
		}
		if _, err := daemon.SdNotify(false, strings.Join(msg, "\n")); err != nil {
			return *ready, fmt.Errorf("notify host socket: %w", err)
		}
		if isReady && !*ready {
			*ready = true
			logrus.Debugf("container %s is ready, MAINPID=%d", r.containerID, mainPid)
			if err := notifyBarrier(5 * time.Second); err != nil {
				logrus.Warnf("notify host socket: barrier: %v", err)
			}
		}
	}
}

// filterNotify keeps the lines of a datagram that may reach the host and
// tells whether it says READY=1.
func filterNotify(b []byte) (msg []string, ready bool) {
	for _, line := range bytes.Split(b, []byte{'\n'}) {
		key, _, ok := bytes.Cut(line, []byte{'='})
		if !ok || !relayedKeys[string(key)] {
			continue
		}
		if string(line) == "READY=1" {
			ready = true
		}
		msg = append(msg, string(line))
	}
	return msg, ready
}

// Close stops relaying and removes the socket.
func (r *NotifyRelay) Close() {
	if r == nil || r.fd < 0 {
		return
	}
	unix.Close(r.fd)
	r.fd = -1
	_ = os.Remove(r.path)
}

// notifyBarrier is sd_notify_barrier: BARRIER=1 with the write end of a
// pipe, which systemd closes once it has processed everything before it.
// go-systemd has no barrier; a receiver that does not take fds closes it
// too, on receipt.
func notifyBarrier(timeout time.Duration) error {
	host := os.Getenv("NOTIFY_SOCKET")
	if host == "" {
		return nil
	}
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return err
	}
	defer unix.Close(p[0])
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		unix.Close(p[1])
		return err
	}
	err = unix.Sendmsg(fd, []byte("BARRIER=1"), unix.UnixRights(p[1]), &unix.SockaddrUnix{Name: host}, 0)
	unix.Close(fd)
	unix.Close(p[1])
	if err != nil {
		return fmt.Errorf("sendmsg: %w", err)
	}
	pfd := []unix.PollFd{{Fd: int32(p[0]), Events: unix.POLLIN}}
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return errors.New("no answer in " + timeout.String())
		}
		n, err := unix.Poll(pfd, int(left.Milliseconds())+1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n > 0 {
			return nil // POLLHUP: every copy of the write end is closed
		}
	}
}
