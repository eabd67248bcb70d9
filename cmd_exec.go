package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/berthrt/berth/libcontainer"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli"
	"golang.org/x/sys/unix"
)

// processFlags are the exec flags that shape the process; with --process
// the file says it all and they are refused.
var processFlags = []string{"cwd", "env", "tty", "user", "additional-gids", "cap",
	"no-new-privs", "apparmor", "process-label"}

var execCommand = cli.Command{
	Name:  "exec",
	Usage: "run a new process inside a container",
	ArgsUsage: `<container-id> [--] <command> [args...]
   or: berth exec [flags] --process process.json <container-id>

The process defaults to the container's (env, cwd, user, capabilities,
rlimits, no_new_privs, seccomp); the flags change it. In the foreground,
berth exec exits with the process's status (128+N after signal N); its own
errors exit 255.`,
	// Everything after the container id is the command, flags included.
	SkipArgReorder: true,
	Flags: []cli.Flag{
		cli.StringFlag{Name: "console-socket", Usage: "unix socket to send the pty master to (with --tty)"},
		cli.StringFlag{Name: "pidfd-socket", Usage: "unix socket to send a pidfd of the process to"},
		cli.StringFlag{Name: "cwd", Usage: "working directory in the container"},
		cli.StringSliceFlag{Name: "env, e", Usage: "set an environment variable NAME=value (repeatable)"},
		cli.BoolFlag{Name: "tty, t", Usage: "run the process on a new pty"},
		cli.StringFlag{Name: "user, u", Usage: "run as uid[:gid]"},
		cli.Int64SliceFlag{Name: "additional-gids, g", Usage: "add a supplementary gid (repeatable)"},
		cli.StringFlag{Name: "process, p", Usage: "path to a process.json describing the process"},
		cli.BoolFlag{Name: "detach, d", Usage: "return once the process has started"},
		cli.StringFlag{Name: "pid-file", Usage: "file to write the process's pid to"},
		cli.StringFlag{Name: "process-label", Usage: "SELinux label (not supported by berth)"},
		cli.StringFlag{Name: "apparmor", Usage: "AppArmor profile (not supported by berth)"},
		cli.BoolFlag{Name: "no-new-privs", Usage: "set no_new_privs for the process"},
		cli.StringSliceFlag{Name: "cap, c", Usage: "add a capability (repeatable)"},
		cli.UintFlag{Name: "preserve-fds", Usage: "pass N extra fds (3..3+N-1) to the process"},
		cli.StringSliceFlag{Name: "cgroup", Usage: "run in an existing sub-cgroup: [controller[,controller]:]path (repeatable)"},
		cli.BoolFlag{Name: "ignore-paused", Usage: "allow exec in a paused container"},
		cli.BoolFlag{Name: "no-subreaper", Usage: "do not become a child subreaper (what the process orphans, without a pid namespace, goes to the host's init)"},
	},
	Action: func(ctx *cli.Context) error {
		if err := execAction(ctx); err != nil {
			var ee *exitError
			if errors.As(err, &ee) {
				return err
			}
			return &exitError{code: 255, err: fmt.Errorf("exec failed: %w", err)}
		}
		return nil
	},
}

func execAction(ctx *cli.Context) error {
	min := 2
	if ctx.IsSet("process") {
		min = 1
	}
	if err := checkArgs(ctx, min, -1); err != nil {
		return err
	}
	c, err := loadContainer(ctx)
	if err != nil {
		return err
	}
	proc, err := execProcessSpec(ctx, c)
	if err != nil {
		return err
	}
	o := &libcontainer.ExecOpts{
		Process: proc, PreserveFds: int(ctx.Uint("preserve-fds")), Cgroups: ctx.StringSlice("cgroup"),
		IgnorePaused: ctx.Bool("ignore-paused"), Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
	}
	var pidFile string
	if p := ctx.String("pid-file"); p != "" {
		if pidFile, err = filepath.Abs(p); err != nil {
			return err
		}
	}
	detach := ctx.Bool("detach")
	tty, err := execSockets(ctx, o, detach)
	defer closeFiles(o.ConsoleSocket, o.PidfdSocket)
	if err != nil {
		return err
	}
	return runExec(c, o, pidFile, detach, ctx.Bool("no-subreaper"), tty)
}

// execProcessSpec is the process to run: the --process file, or the
// container's process (from its config snapshot) changed by the flags.
func execProcessSpec(ctx *cli.Context, c *libcontainer.Container) (*specs.Process, error) {
	if file := ctx.String("process"); file != "" {
		for _, f := range processFlags {
			if ctx.IsSet(f) {
				return nil, fmt.Errorf("--%s cannot be used with --process: the file describes the process", f)
			}
		}
		if ctx.NArg() > 1 {
			return nil, errors.New("--process: the command comes from the file, not the arguments")
		}
		return libcontainer.LoadProcessFile(file)
	}
	s, err := c.Config()
	if err != nil {
		return nil, err
	}
	if s.Process == nil {
		return nil, fmt.Errorf("container %q: config snapshot has no process", c.ID())
	}
	args := ctx.Args().Tail()
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	f := &libcontainer.ProcessFlags{
		Args: args, Cwd: ctx.String("cwd"), Env: ctx.StringSlice("env"), User: ctx.String("user"),
		AdditionalGids: ctx.Int64Slice("additional-gids"), Caps: ctx.StringSlice("cap"),
		Tty: ctx.Bool("tty"), Apparmor: ctx.String("apparmor"), ProcessLabel: ctx.String("process-label"),
	}
	if ctx.IsSet("no-new-privs") {
		nnp := ctx.Bool("no-new-privs")
		f.NoNewPrivs = &nnp
	}
	return libcontainer.MergeProcess(s.Process, f)
}

// execSockets connects --console-socket and --pidfd-socket; a terminal in
// the foreground without a console socket gets berth's own pty proxy.
func execSockets(ctx *cli.Context, o *libcontainer.ExecOpts, detach bool) (*ttyProxy, error) {
	var err error
	if path := ctx.String("pidfd-socket"); path != "" {
		if o.PidfdSocket, err = dialUnix(path); err != nil {
			return nil, fmt.Errorf("--pidfd-socket %q: %w", path, err)
		}
	}
	if path := ctx.String("console-socket"); path != "" {
		if !o.Process.Terminal {
			return nil, errors.New("--console-socket needs a terminal (--tty, or terminal in --process)")
		}
		if o.ConsoleSocket, err = dialUnix(path); err != nil {
			return nil, fmt.Errorf("--console-socket %q: %w", path, err)
		}
		return nil, nil
	}
	if !o.Process.Terminal {
		return nil, nil
	}
	if detach {
		return nil, errors.New("a terminal with --detach needs --console-socket")
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("make console socket: %w", err)
	}
	o.ConsoleSocket = os.NewFile(uintptr(fds[1]), "console-socket")
	return &ttyProxy{ours: os.NewFile(uintptr(fds[0]), "console"), done: make(chan struct{})}, nil
}

func closeFiles(files ...*os.File) {
	for _, f := range files {
		if f != nil {
			f.Close()
		}
	}
}

// runExec starts the process and, in the foreground, forwards signals to it
// and exits with its status.
func runExec(c *libcontainer.Container, o *libcontainer.ExecOpts, pidFile string, detach, noSubreaper bool, tty *ttyProxy) error {
	sigs := make(chan os.Signal, 64)
	if !detach {
		// The process is our child either way (the stub forks it with
		// CLONE_PARENT); as a subreaper we also adopt what it orphans.
		if !noSubreaper {
			if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
				return fmt.Errorf("become a child subreaper: %w", err)
			}
		}
		signal.Notify(sigs, forwarded...)
	}
	p, err := c.Exec(o)
	closeFiles(o.ConsoleSocket, o.PidfdSocket)
	if err != nil {
		return err
	}
	if pidFile != "" {
		if err := libcontainer.WritePidFile(pidFile, p.Pid); err != nil {
			_ = p.Signal(unix.SIGKILL)
			return fmt.Errorf("--pid-file: %w", err)
		}
	}
	if tty != nil {
		if err := tty.attach(); err != nil {
			_ = p.Signal(unix.SIGKILL)
			return err
		}
		defer tty.restore()
	}
	if detach {
		return nil
	}
	go forwardToProcess(p, sigs, tty)
	// No signal.Stop: see noSignalStop.
	status, err := p.Wait()
	if tty != nil {
		tty.drain()
	}
	if err != nil {
		return err
	}
	return &exitError{code: status}
}

// forwardToProcess passes the signals berth receives on to the exec'd
// process; SIGWINCH resizes the pty instead.
func forwardToProcess(p *libcontainer.Process, sigs chan os.Signal, tty *ttyProxy) {
	for s := range sigs {
		sig := s.(unix.Signal)
		if sig == unix.SIGWINCH {
			if tty != nil {
				tty.resize()
			}
			continue
		}
		_ = p.Signal(sig)
	}
}
