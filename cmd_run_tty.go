package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/berthrt/berth/libcontainer"
	"github.com/containerd/console"
	"golang.org/x/sys/unix"
)

// ttyProxy is `run` in the foreground with process.terminal and no
// --console-socket: berth receives the pty master itself and copies between
// it and its own stdio, with the caller's terminal in raw mode.
type ttyProxy struct {
	ours    *os.File // our end of the internal console socket
	master  console.Console
	current console.Console // our stdin's terminal, if it is one
	done    chan struct{}
}

func newTTYProxy(o *libcontainer.CreateOpts) (*ttyProxy, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("make console socket: %w", err)
	}
	o.ConsoleSocket = os.NewFile(uintptr(fds[1]), "console-socket")
	return &ttyProxy{ours: os.NewFile(uintptr(fds[0]), "console"), done: make(chan struct{})}, nil
}

// attach takes the master the init sent during create and starts copying.
func (t *ttyProxy) attach() error {
	f, err := libcontainer.RecvFd(t.ours)
	t.ours.Close()
	if err != nil {
		return err
	}
	if t.master, err = console.ConsoleFromFile(f); err != nil {
		return fmt.Errorf("pty master: %w", err)
	}
	if cur, err := console.ConsoleFromFile(os.Stdin); err == nil {
		t.current = cur
		t.resize()
		if err := cur.SetRaw(); err != nil {
			return fmt.Errorf("set the terminal raw: %w", err)
		}
	}
	go func() { _, _ = io.Copy(t.master, os.Stdin) }()
	go func() {
		_, _ = io.Copy(os.Stdout, t.master)
		close(t.done)
	}()
	return nil
}

func (t *ttyProxy) resize() {
	if t.current != nil && t.master != nil {
		_ = t.master.ResizeFrom(t.current)
	}
}

// drain waits (briefly) for the last output after the process exited.
func (t *ttyProxy) drain() {
	select {
	case <-t.done:
	case <-time.After(time.Second):
	}
}

func (t *ttyProxy) restore() {
	if t.current != nil {
		_ = t.current.Reset()
	}
}
