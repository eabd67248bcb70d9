package libcontainer

import (
	"fmt"
	"os"

	"github.com/berthrt/berth/rootfs"
	"github.com/containerd/console"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// setupConsole makes the container's terminal: a pty from the container's
// own devpts, its master sent to the console socket, its slave bound over
// /dev/console and made stdio and the controlling terminal. Runs after the
// pivot (so /dev/ptmx is the container's) in the session the stub made.
func setupConsole(cfg *initConfig) error {
	if cfg.ConsoleFd < 0 {
		return nil
	}
	slavePath, err := sendPty(cfg.ConsoleFd, cfg.Spec.Process.ConsoleSize)
	if err != nil {
		return err
	}
	if err := rootfs.MountConsole(slavePath); err != nil {
		return err
	}
	return useTTY(slavePath)
}

// sendPty opens a pty from our /dev/ptmx (the container's, once pivoted or
// joined), sends its master over the console socket sockFd (closing it)
// and returns the path of the slave.
func sendPty(sockFd int, size *specs.Box) (string, error) {
	sock := os.NewFile(uintptr(sockFd), "console-socket")
	defer sock.Close()
	master, slavePath, err := console.NewPty()
	if err != nil {
		return "", fmt.Errorf("open pty: %w", err)
	}
	defer master.Close()
	// As runc: no CR added before each LF on the container's side, or the
	// caller's own terminal adds a second one.
	if err := console.ClearONLCR(master.Fd()); err != nil {
		return "", fmt.Errorf("clear onlcr on the pty: %w", err)
	}
	if size != nil {
		ws := console.WinSize{Height: uint16(size.Height), Width: uint16(size.Width)}
		if err := master.Resize(ws); err != nil {
			return "", fmt.Errorf("process.consoleSize: %w", err)
		}
	}
	if err := sendFd(sock, master.Name(), master.Fd()); err != nil {
		return "", fmt.Errorf("send pty master to the console socket: %w", err)
	}
	return slavePath, nil
}

// useTTY makes the pty slave our stdio and controlling terminal.
func useTTY(slavePath string) error {
	fd, err := unix.Open(slavePath, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", slavePath, err)
	}
	for i := 0; i < 3; i++ {
		if err := unix.Dup3(fd, i, 0); err != nil {
			return fmt.Errorf("dup pty onto fd %d: %w", i, err)
		}
	}
	unix.Close(fd)
	if err := unix.IoctlSetInt(0, unix.TIOCSCTTY, 0); err != nil {
		return fmt.Errorf("make the pty the controlling terminal: %w", err)
	}
	return nil
}

// sendFd sends fd over a unix socket with SCM_RIGHTS; the payload is the
// file's name, as runc's receivers expect.
func sendFd(sock *os.File, name string, fd uintptr) error {
	rights := unix.UnixRights(int(fd))
	return unix.Sendmsg(int(sock.Fd()), []byte(name), rights, nil, 0)
}

// RecvFd receives one fd sent by sendFd.
func RecvFd(sock *os.File) (*os.File, error) {
	name := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := unix.Recvmsg(int(sock.Fd()), name, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("receive fd: %w", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, fmt.Errorf("receive fd: no control message")
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return nil, fmt.Errorf("receive fd: want 1 fd, got %d", len(fds))
	}
	return os.NewFile(uintptr(fds[0]), string(name[:n])), nil
}
