package libcontainer

import (
	"golang.org/x/sys/unix"
)

// WaitExit waits for the init, which must be our child (Create was called
// with this process as a child subreaper), and returns its exit status the
// shell way: the exit code, or 128+N when killed by signal N.
func (c *Container) WaitExit() (int, error) { return waitExit(c.State.InitPid) }

// waitExit reaps pid, a child of ours, and returns its shell exit status.
func waitExit(pid int) (int, error) {
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(pid, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return -1, err
		}
		break
	}
	if ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	return ws.ExitStatus(), nil
}
