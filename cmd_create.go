package main

import (
	"fmt"
	"os"
	"strconv"

	"github.com/berthrt/berth/libcontainer"
	"github.com/urfave/cli"
	"golang.org/x/sys/unix"
)

var createFlags = []cli.Flag{
	cli.StringFlag{Name: "bundle, b", Usage: "path to the bundle (default: the current directory)"},
	cli.StringFlag{Name: "console-socket", Usage: "unix socket to send the pty master to, when process.terminal is true"},
	cli.StringFlag{Name: "pid-file", Usage: "file to write the container init's pid to"},
	cli.BoolFlag{Name: "no-pivot", Usage: "do not use pivot_root (MS_MOVE and chroot instead)"},
	cli.BoolFlag{Name: "no-new-keyring", Usage: "do not create a new session keyring"},
	cli.UintFlag{Name: "preserve-fds", Usage: "pass N extra fds (3..3+N-1) to the container"},
	cli.StringFlag{Name: "pidfd-socket", Usage: "unix socket to send a pidfd of the container's init to"},
}

var createCommand = cli.Command{
	Name:      "create",
	Usage:     "create a container; its process runs at start",
	ArgsUsage: "<container-id>",
	Flags:     createFlags,
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 1, 1); err != nil {
			return err
		}
		o, pidFile, err := createOpts(ctx)
		if err != nil {
			return err
		}
		defer closeFiles(o.ConsoleSocket, o.PidfdSocket)
		c, err := libcontainer.Create(o)
		if err != nil {
			return err
		}
		return writePidFile(pidFile, c)
	},
}

// createOpts reads the bundle and the flags shared by create and run. Like
// runc, it makes the bundle the cwd: relative paths in config.json (root,
// bind sources) are relative to it.
func createOpts(ctx *cli.Context) (*libcontainer.CreateOpts, string, error) {
	root, err := stateRoot(ctx)
	if err != nil {
		return nil, "", err
	}
	id := ctx.Args().First()
	if err := libcontainer.ValidateID(id); err != nil {
		return nil, "", err
	}
	bundle, pidFile, s, raw, err := openBundle(ctx)
	if err != nil {
		return nil, "", err
	}
	o := &libcontainer.CreateOpts{
		Root: root, ID: id, Bundle: bundle, Spec: s, SpecJSON: raw,
		PreserveFds: int(ctx.Uint("preserve-fds")), NoPivot: ctx.Bool("no-pivot"),
		NoNewKeyring: ctx.Bool("no-new-keyring"),
		Stdin:        os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		NotifySocket: os.Getenv("NOTIFY_SOCKET"),
	}
	o.ListenFds, o.ListenFdNames = listenFds()
	if path := ctx.String("console-socket"); path != "" {
		if o.ConsoleSocket, err = dialUnix(path); err != nil {
			return nil, "", fmt.Errorf("--console-socket %q: %w", path, err)
		}
	}
	if path := ctx.String("pidfd-socket"); path != "" {
		if o.PidfdSocket, err = dialUnix(path); err != nil {
			closeFiles(o.ConsoleSocket)
			return nil, "", fmt.Errorf("--pidfd-socket %q: %w", path, err)
		}
	}
	return o, pidFile, nil
}

// listenFds reads systemd's socket activation variables, as sd_listen_fds
// does: LISTEN_FDS counts only when LISTEN_PID is this process.
func listenFds() (int, string) {
	n := os.Getenv("LISTEN_FDS")
	if n == "" {
		return 0, ""
	}
	fds, err := strconv.Atoi(n)
	if err != nil || fds <= 0 || os.Getenv("LISTEN_PID") != strconv.Itoa(os.Getpid()) {
		return 0, ""
	}
	return fds, os.Getenv("LISTEN_FDNAMES")
}

func dialUnix(path string) (*os.File, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), path), nil
}

func writePidFile(path string, c *libcontainer.Container) error {
	if path == "" {
		return nil
	}
	if err := libcontainer.WritePidFile(path, c.State.InitPid); err != nil {
		_ = c.Delete(true)
		return fmt.Errorf("--pid-file: %w", err)
	}
	return nil
}
