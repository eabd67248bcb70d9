// Package sys holds small syscall wrappers used by libcontainer: each retries
// EINTR where that can happen and returns errors that name what was done.
package sys

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// ProcState is what /proc/<pid>/stat says about a process that matters to a
// runtime: its state letter and its start time (clock ticks since boot),
// which together tell a live process from a zombie or a reused pid.
type ProcState struct {
	State     byte
	StartTime uint64
}

// ErrNoProcess is returned when the pid does not exist.
var ErrNoProcess = errors.New("no such process")

// Stat reads /proc/<pid>/stat.
func Stat(pid int) (ProcState, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ESRCH) {
			return ProcState{}, ErrNoProcess
		}
		return ProcState{}, err
	}
	return parseStat(b)
}

// parseStat parses a stat line; comm may hold spaces and parentheses, so
// fields are counted from the last ')'.
func parseStat(b []byte) (ProcState, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return ProcState{}, fmt.Errorf("malformed /proc stat %q", b)
	}
	f := bytes.Fields(b[i+2:])
	// f[0] is field 3 (state); starttime is field 22.
	if len(f) < 20 {
		return ProcState{}, fmt.Errorf("malformed /proc stat %q", b)
	}
	start, err := strconv.ParseUint(string(f[19]), 10, 64)
	if err != nil {
		return ProcState{}, fmt.Errorf("malformed start time in /proc stat: %w", err)
	}
	return ProcState{State: f[0][0], StartTime: start}, nil
}

// Alive reports whether pid is the same live process that started at start:
// not gone, not a zombie, not a reused pid.
func Alive(pid int, start uint64) bool {
	if pid <= 0 {
		return false
	}
	st, err := Stat(pid)
	if err != nil {
		return false
	}
	return st.StartTime == start && st.State != 'Z' && st.State != 'X'
}

// PidfdOpen returns a pidfd for pid, checking that it is still the process
// that started at start (so a signal can never hit a reused pid).
func PidfdOpen(pid int, start uint64) (int, error) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return -1, fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	if !Alive(pid, start) {
		unix.Close(fd)
		return -1, fmt.Errorf("pid %d: %w", pid, ErrNoProcess)
	}
	return fd, nil
}

// PidfdWait waits until the process behind pidfd has exited, or timeoutMs
// (-1: forever) passed; it reports whether it exited.
func PidfdWait(pidfd int, timeoutMs int) (bool, error) {
	fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, timeoutMs)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("poll pidfd: %w", err)
		}
		return n > 0, nil
	}
}

// CloseExecFrom marks every fd >= minFd close-on-exec, so nothing of the
// runtime leaks into the container process (CVE-2024-21626).
// close_range may be missing (before 5.11) or refused by the container's
// own seccomp profile, which is loaded before this runs when the config
// sets noNewPrivileges (old profiles do not list close_range): then every
// fd in /proc/self/fd is marked one by one.
func CloseExecFrom(minFd int) error {
	if unix.CloseRange(uint(minFd), ^uint(0), unix.CLOSE_RANGE_CLOEXEC) == nil {
		return nil
	}
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return fmt.Errorf("mark fds close-on-exec: %w", err)
	}
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || fd < minFd {
			continue
		}
		// The fd of the directory read above is gone by now: EBADF is fine.
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC); err != nil && err != unix.EBADF {
			return fmt.Errorf("mark fd %d close-on-exec: %w", fd, err)
		}
	}
	return nil
}
