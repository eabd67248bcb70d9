package cgroups

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// OOMEvents registers an eventfd on the v1 memory.oom_control through
// cgroup.event_control: the kernel signals it on every OOM in the cgroup,
// and once more when the cgroup is removed (told apart by the cgroup being
// gone). A goroutine blocks in read(2) on it; nothing is polled.
func (m *manager) OOMEvents() (<-chan struct{}, error) {
	dir, ok := m.paths["memory"]
	if !ok || m.pureV2() {
		return nil, fmt.Errorf("oom events: the v1 memory cgroup controller is not mounted: %w", ErrNotSupported)
	}
	ctl, err := openFile(filepath.Join(dir, "memory.oom_control"), unix.O_RDONLY)
	if err != nil {
		return nil, fmt.Errorf("cgroup %s: open memory.oom_control: %w", dir, err)
	}
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(ctl)
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	reg := strconv.Itoa(efd) + " " + strconv.Itoa(ctl)
	if err := writeFile(dir, "cgroup.event_control", reg); err != nil {
		unix.Close(ctl)
		unix.Close(efd)
		return nil, fmt.Errorf("cgroup %s: register oom eventfd: %w", dir, err)
	}
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		defer unix.Close(ctl)
		defer unix.Close(efd)
		buf := make([]byte, 8)
		for {
			n, err := unix.Read(efd, buf)
			if err == unix.EINTR {
				continue
			}
			if err != nil || n != 8 || binary.NativeEndian.Uint64(buf) == 0 {
				return
			}
			if _, err := os.Lstat(filepath.Join(dir, "cgroup.event_control")); err != nil {
				return // the cgroup was removed
			}
			ch <- struct{}{}
		}
	}()
	return ch, nil
}
