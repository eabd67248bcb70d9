package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/berthrt/berth/libcontainer/sys"
	"golang.org/x/sys/unix"
)

// Start lets a created container's init exec the user process: it opens
// exec.fifo, which the init is blocked writing to, reads its byte and
// removes the fifo.
func (c *Container) Start() error {
	lock, err := lockDir(c.dir, true)
	if err != nil {
		return err
	}
	defer lock.Close()
	switch st := c.Status(); st {
	case Created:
	case Stopped:
		return fmt.Errorf("cannot start a container that has stopped: %w", ErrWrongState)
	default:
		return fmt.Errorf("cannot start an already %s container: %w", st, ErrWrongState)
	}
	return c.openFifo()
}

// openFifo opens without blocking (a dead init would block us forever),
// then polls for the init's byte while checking the init is alive.
func (c *Container) openFifo() error {
	path := filepath.Join(c.dir, fifoFile)
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open exec fifo: %w", err)
	}
	defer unix.Close(fd)
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	buf := make([]byte, 1)
	for {
		n, err := unix.Poll(fds, 100)
		if err != nil && err != unix.EINTR {
			return fmt.Errorf("poll exec fifo: %w", err)
		}
		if n > 0 {
			r, err := unix.Read(fd, buf)
			if r == 1 {
				break
			}
			if err != nil && err != unix.EAGAIN {
				return fmt.Errorf("read exec fifo: %w", err)
			}
		}
		if !sys.Alive(c.State.InitPid, c.State.InitStart) {
			return errors.New("container init exited before start")
		}
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("remove exec fifo: %w", err)
	}
	return nil
}
