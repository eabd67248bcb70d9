package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/berthrt/berth/libcontainer/sys"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Start lets a created container's init exec the user process: it opens
// exec.fifo, which the init is blocked writing to, reads its byte and
// removes the fifo.
func (c *Container) Start() error {
	_, err := c.start(false)
	return err
}

// StartNotify is Start for a berth that runs with NOTIFY_SOCKET set: it
// binds the container's notify socket before the process runs and returns
// the relay to its messages (see notify.go); nil when the container was
// created without one.
func (c *Container) StartNotify() (*NotifyRelay, error) { return c.start(true) }

func (c *Container) start(notify bool) (*NotifyRelay, error) {
	lock, err := lockDir(c.dir, true)
	if err != nil {
		return nil, err
	}
	defer lock.Close()
	switch st := c.Status(); st {
	case Created:
	case Stopped:
		return nil, fmt.Errorf("cannot start a container that has stopped: %w", ErrWrongState)
	default:
		return nil, fmt.Errorf("cannot start an already %s container: %w", st, ErrWrongState)
	}
	lc, lcErr := c.lifecycleConfig()
	if lcErr == nil && !lc.HasProcess {
		return nil, fmt.Errorf("container %q: process is not set in config.json: nothing to start", c.State.ID)
	}
	var relay *NotifyRelay
	if notify {
		// Under the lock: a second start must not replace the socket.
		if relay, err = c.listenNotify(); err != nil {
			return nil, err
		}
	}
	if err := c.openFifo(); err != nil {
		relay.Close()
		return nil, err
	}
	if lcErr == nil {
		c.poststart(lc.Hooks)
	}
	return relay, nil
}

// poststart runs the poststart hooks once the process has started; their
// failure is a warning, as config.md wants.
func (c *Container) poststart(hooks *specs.Hooks) {
	if hooks == nil || len(hooks.Poststart) == 0 {
		return
	}
	state := hookState(c.State.ID, c.State.Bundle, c.State.InitPid, Running, c.State.Annotations)
	warnHooks("poststart", hooks.Poststart, state)
}

// openFifo opens without blocking (a dead init would block us forever),
// then polls for the init's answer while checking the init is alive: "0",
// or "E" and the error of a startContainer hook. After "0" it waits for
// the end of the fifo: the init keeps its end open close-on-exec, so the
// end comes when execve has replaced it with the user process (or the
// init died trying), and the poststart hooks run after the process is
// executed, as config.md wants, not while the init is still closing fds.
func (c *Container) openFifo() error {
	path := filepath.Join(c.dir, fifoFile)
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open exec fifo: %w", err)
	}
	defer unix.Close(fd)
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	buf := make([]byte, 4096)
	told := false
	for {
		n, err := unix.Poll(fds, 100)
		if err != nil && err != unix.EINTR {
			return fmt.Errorf("poll exec fifo: %w", err)
		}
		if n > 0 {
			r, err := unix.Read(fd, buf)
			if r > 0 && buf[0] == 'E' && !told {
				return fmt.Errorf("container %q: %s", c.State.ID, buf[1:r])
			}
			if r > 0 {
				told = true
			} else if r == 0 && err == nil && told {
				break // the init's end closed: exec'd (or died)
			}
			if err != nil && err != unix.EAGAIN {
				return fmt.Errorf("read exec fifo: %w", err)
			}
		}
		if !sys.Alive(c.State.InitPid, c.State.InitStart) {
			if told {
				break
			}
			return errors.New("container init exited before start")
		}
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("remove exec fifo: %w", err)
	}
	return nil
}
