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

var restoreCommand = cli.Command{
	Name:      "restore",
	Usage:     "restore a container from a CRIU checkpoint",
	ArgsUsage: "<container-id>",
	Flags: append([]cli.Flag{
		cli.StringFlag{Name: "bundle, b", Usage: "path to the bundle (default: the current directory)"},
		cli.BoolFlag{Name: "detach, d", Usage: "return once the container is restored"},
		cli.StringFlag{Name: "pid-file", Usage: "file to write the restored init's pid to"},
		cli.StringFlag{Name: "console-socket", Usage: "unix socket to send the restored terminal's pty master to"},
		cli.BoolFlag{Name: "no-subreaper", Usage: "do not become a child subreaper while waiting in the foreground"},
		cli.BoolFlag{Name: "no-pivot", Usage: "accepted for runc compatibility, no effect: CRIU restores the mount namespace and pivots into the rootfs itself, and its RPC has no option against that (runc's flag only reaches its own init, which restore never runs)"},
		cli.StringFlag{Name: "lsm-profile", Usage: "LSM profile of the restored container (type:label)"},
		cli.StringFlag{Name: "lsm-mount-context", Usage: "LSM mount context of the restored container's mounts"},
	}, criuFlags...),
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 1, 1); err != nil {
			return err
		}
		o, pidFile, err := restoreOpts(ctx)
		if err != nil {
			return err
		}
		if o.ConsoleSocket != nil {
			defer o.ConsoleSocket.Close()
		}
		detach := ctx.Bool("detach")
		if !detach && !ctx.Bool("no-subreaper") {
			if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
				return fmt.Errorf("become a child subreaper: %w", err)
			}
		}
		if ctx.Bool("no-pivot") {
			logrus.Debug("restore: --no-pivot has no effect: CRIU pivots into the rootfs itself and has no option against it")
		}
		sigs := make(chan os.Signal, 64)
		if !detach {
			signal.Notify(sigs, forwarded...)
		}
		// Until the container is restored, SIGINT/SIGTERM/SIGHUP stop
		// the restore (criu killed, nothing left) instead of being
		// forwarded.
		cancel, stop := cancelOnSignal()
		o.Criu.Cancel = cancel
		c, err := libcontainer.Restore(o)
		stop()
		if err != nil {
			return err
		}
		if err := writePidFile(pidFile, c); err != nil {
			return err
		}
		if detach {
			return nil
		}
		go forwardSignals(c, sigs, nil)
		status, err := c.WaitExit()
		signal.Stop(sigs)
		if derr := c.Delete(true); derr != nil && err == nil {
			err = derr
		}
		if err != nil {
			return err
		}
		return &exitError{code: status}
	},
}

// restoreOpts reads the bundle (as create does) and the restore flags.
func restoreOpts(ctx *cli.Context) (*libcontainer.RestoreOpts, string, error) {
	root, err := stateRoot(ctx)
	if err != nil {
		return nil, "", err
	}
	id := ctx.Args().First()
	if err := libcontainer.ValidateID(id); err != nil {
		return nil, "", err
	}
	criu, err := criuOpts(ctx)
	if err != nil {
		return nil, "", err
	}
	criu.LsmProfile, criu.LsmMountContext = ctx.String("lsm-profile"), ctx.String("lsm-mount-context")
	if _, err := os.Stat(criu.ImagePath); err != nil {
		return nil, "", fmt.Errorf("--image-path: %w", err)
	}
	bundle, pidFile, s, raw, err := openBundle(ctx)
	if err != nil {
		return nil, "", err
	}
	o := &libcontainer.RestoreOpts{
		Root: root, ID: id, Bundle: bundle, Spec: s, SpecJSON: raw, Criu: *criu,
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
	}
	if path := ctx.String("console-socket"); path != "" {
		if o.ConsoleSocket, err = dialUnix(path); err != nil {
			return nil, "", fmt.Errorf("--console-socket %q: %w", path, err)
		}
	} else if s.Process != nil && s.Process.Terminal && ctx.Bool("detach") {
		return nil, "", errors.New("process.terminal is true: --detach needs --console-socket")
	}
	return o, pidFile, nil
}
