package cgroups

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// OOMEvents on v1 registers an eventfd on the v1 memory.oom_control through
// cgroup.event_control: the kernel signals it on every OOM in the cgroup,
// and once more when the cgroup is removed (told apart by the cgroup being
// gone). A goroutine blocks in read(2) on it; nothing is polled.
func (m *manager) OOMEvents() (<-chan struct{}, error) {
	if m.pureV2() {
		return oomEventsV2(m.paths[Unified])
	}
	dir, ok := m.paths["memory"]
	if !ok {
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

// oomEventsV2 watches the v2 memory.events with inotify: the kernel
// signals a modification when a counter changes, and an increase of
// oom_kill is sent on the channel. The channel closes when the cgroup is
// emptied (cgroup.events "populated 0") or removed; memory.events is read
// before that check, so the OOM kill that emptied it is not lost.
func oomEventsV2(dir string) (<-chan struct{}, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	for _, f := range []string{"memory.events", "cgroup.events"} {
		if _, err := unix.InotifyAddWatch(fd, filepath.Join(dir, f), unix.IN_MODIFY); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("cgroup %s: watch %s: %w", dir, f, err)
		}
	}
	last := oomCount(dir)
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		defer unix.Close(fd)
		buf := make([]byte, 4096)
		for {
			n, err := unix.Read(fd, buf)
			if err == unix.EINTR {
				continue
			}
			if err != nil || n <= 0 {
				return
			}
			if cur := oomCount(dir); cur > last {
				last = cur
				ch <- struct{}{}
			}
			ev, err := keyValues(dir, "cgroup.events")
			if err != nil || ev["populated"] == 0 || ignored(buf[:n]) {
				return
			}
		}
	}()
	return ch, nil
}

// oomCount is oom_kill of memory.events (0 when unreadable): "oom" also
// counts limit hits that reclaim resolved, and one kill bumps both.
func oomCount(dir string) uint64 {
	ev, err := keyValues(dir, "memory.events")
	if err != nil {
		return 0
	}
	return ev["oom_kill"]
}

// ignored reports an IN_IGNORED event: a watched file went away.
func ignored(buf []byte) bool {
	for len(buf) >= unix.SizeofInotifyEvent {
		ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[0]))
		if ev.Mask&unix.IN_IGNORED != 0 {
			return true
		}
		buf = buf[unix.SizeofInotifyEvent+int(ev.Len):]
	}
	return false
}
