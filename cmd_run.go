package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"

	"github.com/berthrt/berth/libcontainer"
	"github.com/sirupsen/logrus"
	"github.com/urfave/cli"
	"golang.org/x/sys/unix"
)

var runCommand = cli.Command{
	Name:      "run",
	Usage:     "create and start a container; in the foreground, exit with its status",
	ArgsUsage: "<container-id>",
	Flags: append([]cli.Flag{
		cli.BoolFlag{Name: "detach, d", Usage: "return once the container has started"},
		cli.BoolFlag{Name: "keep", Usage: "do not delete the container after it exits"},
		cli.BoolFlag{Name: "no-subreaper", Usage: "do not become a child subreaper (orphans of a container without a pid namespace go to the host's init)"},
	}, createFlags...),
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 1, 1); err != nil {
			return err
		}
		detach := ctx.Bool("detach")
		o, pidFile, err := createOpts(ctx)
		if err != nil {
			return err
		}
		var tty *ttyProxy
		if o.Spec.Process != nil && o.Spec.Process.Terminal && o.ConsoleSocket == nil {
			if detach {
				return errors.New("process.terminal is true: --detach needs --console-socket")
			}
			if tty, err = newTTYProxy(o); err != nil {
				return err
			}
		}
		if !detach && !ctx.Bool("no-subreaper") {
			// The init is our child either way (the stub forks it with
			// CLONE_PARENT); as runc does, a foreground run also adopts
			// what the container orphans when it has no pid namespace.
			if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
				return fmt.Errorf("become a child subreaper: %w", err)
			}
		}
		return runContainer(o, pidFile, detach, ctx.Bool("keep"), tty)
	},
}

func runContainer(o *libcontainer.CreateOpts, pidFile string, detach, keep bool, tty *ttyProxy) error {
	defer closeFiles(o.PidfdSocket)
	// Catch signals before the container exists so none is lost.
	sigs := make(chan os.Signal, 64)
	if !detach {
		signal.Notify(sigs, forwarded...)
	}
	c, err := libcontainer.Create(o)
	if o.ConsoleSocket != nil {
		o.ConsoleSocket.Close()
	}
	if err != nil {
		return err
	}
	if err := writePidFile(pidFile, c); err != nil {
		return err
	}
	if tty != nil {
		if err := tty.attach(); err != nil {
			_ = c.Delete(true)
			return err
		}
		defer tty.restore()
	}
	relay, err := startRun(c, o.NotifySocket != "")
	if err != nil {
		_ = c.Delete(true)
		return err
	}
	if detach {
		// systemd must learn MAINPID before berth, its main process, exits.
		return relay.WaitReady(c.State.InitPid, false)
	}
	if relay != nil {
		go func() {
			if err := relay.WaitReady(os.Getpid(), true); err != nil {
				logrus.Warn(err)
			}
		}()
	}
	go forwardSignals(c, sigs, tty)
	// No signal.Stop: see noSignalStop.
	status, err := c.WaitExit()
	if tty != nil {
		tty.drain()
	}
	if !keep {
		if derr := c.Delete(true); derr != nil && err == nil {
			err = derr
		}
	}
	if err != nil {
		return err
	}
	return &exitError{code: status}
}

// startRun starts the container, with the sd_notify relay when berth runs
// under NOTIFY_SOCKET.
func startRun(c *libcontainer.Container, notify bool) (*libcontainer.NotifyRelay, error) {
	if !notify {
		return nil, c.Start()
	}
	return c.StartNotify()
}

// forwarded are the signals a foreground run passes on to the container:
// those a shell, a terminal or a supervisor sends. runc forwards every
// signal; berth does not, because the Go runtime enables each one with a
// round trip to a thread of its own, and run pays for it on every start.
var forwarded = []os.Signal{
	unix.SIGHUP, unix.SIGINT, unix.SIGQUIT, unix.SIGTERM, unix.SIGUSR1, unix.SIGUSR2,
	unix.SIGALRM, unix.SIGCONT, unix.SIGPWR, unix.SIGWINCH, unix.Signal(37), // SIGRTMIN+3 (glibc numbering): how systemd is told to halt
}

// noSignalStop: run and exec do not stop the forwarding once the process
// has exited. The Go runtime disables each signal with a round trip to a
// thread of its own, as it enabled it: ~0.3-0.6 ms of a `run`, measured
// (interleaved perf stat, 14 rounds). berth exits right after; a signal in
// between is sent through a pidfd opened after checking the start time, so
// it reaches nothing.
//
// forwardSignals passes what berth receives on to the init; SIGWINCH
// resizes the pty instead.
func forwardSignals(c *libcontainer.Container, sigs chan os.Signal, tty *ttyProxy) {
	for s := range sigs {
		sig := s.(unix.Signal)
		switch sig {
		case unix.SIGCHLD, unix.SIGURG, unix.SIGPIPE:
			continue
		case unix.SIGWINCH:
			if tty != nil {
				tty.resize()
			}
			continue
		}
		_ = c.Kill(sig, false)
	}
}
