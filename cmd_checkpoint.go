package main

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/berthrt/berth/libcontainer"
	"github.com/sirupsen/logrus"
	"github.com/urfave/cli"
	"golang.org/x/sys/unix"
)

// criuFlags are the CRIU options checkpoint and restore share.
var criuFlags = []cli.Flag{
	cli.StringFlag{Name: "image-path", Usage: "directory for the CRIU image (default: ./checkpoint)"},
	cli.StringFlag{Name: "work-path", Usage: "directory for CRIU's log and work files (default: the image path)"},
	cli.BoolFlag{Name: "tcp-established", Usage: "allow established TCP connections"},
	cli.BoolFlag{Name: "ext-unix-sk", Usage: "allow external unix sockets"},
	cli.BoolFlag{Name: "shell-job", Usage: "allow a shell job (a session or terminal from outside)"},
	cli.BoolFlag{Name: "file-locks", Usage: "handle file locks"},
	cli.StringFlag{Name: "manage-cgroups-mode", Usage: "cgroups mode: soft, full, strict or ignore (default: CRIU's soft)"},
	cli.StringSliceFlag{Name: "empty-ns", Usage: "namespace (e.g. network) CRIU neither dumps nor restores the content of"},
	cli.BoolFlag{Name: "auto-dedup", Usage: "deduplicate pages against the parent image"},
	cli.BoolFlag{Name: "lazy-pages", Usage: "lazy migration: pages are served on demand (userfaultfd)"},
}

var checkpointCommand = cli.Command{
	Name:      "checkpoint",
	Usage:     "checkpoint a running container with CRIU",
	ArgsUsage: "<container-id>",
	Flags: append([]cli.Flag{
		cli.StringFlag{Name: "parent-path", Usage: "previous (pre-)dump's image path, relative to --image-path"},
		cli.BoolFlag{Name: "leave-running", Usage: "leave the container running after the checkpoint"},
		cli.BoolFlag{Name: "tcp-skip-in-flight", Usage: "skip in-flight TCP connections"},
		cli.BoolFlag{Name: "link-remap", Usage: "allow one to link unlinked files back when possible"},
		cli.BoolFlag{Name: "pre-dump", Usage: "dump memory only, leaving the container running"},
		cli.IntFlag{Name: "status-fd", Value: -1, Usage: "with --lazy-pages: fd CRIU writes \\0 to once the page server is ready"},
		cli.StringFlag{Name: "page-server", Usage: "ADDRESS:PORT of a page server to send the pages to"},
	}, criuFlags...),
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 1, 1); err != nil {
			return err
		}
		c, err := loadContainer(ctx)
		if err != nil {
			return err
		}
		o, err := criuOpts(ctx)
		if err != nil {
			return err
		}
		o.ParentPath = ctx.String("parent-path")
		o.LeaveRunning = ctx.Bool("leave-running")
		o.TCPSkipInFlight = ctx.Bool("tcp-skip-in-flight")
		o.LinkRemap = ctx.Bool("link-remap")
		o.PreDump = ctx.Bool("pre-dump")
		o.StatusFd = ctx.Int("status-fd")
		o.PageServer = ctx.String("page-server")
		if o.StatusFd >= 0 {
			if err := checkStatusFd(o.StatusFd); err != nil {
				return err
			}
		}
		cancel, stop := cancelOnSignal()
		defer stop()
		o.Cancel = cancel
		return c.Checkpoint(o)
	},
}

// interrupting are the signals that stop a checkpoint or a restore in
// progress: criu is killed and what was made undone, instead of berth
// dying with criu and a half-made container left behind.
var interrupting = []os.Signal{unix.SIGINT, unix.SIGTERM, unix.SIGHUP}

// cancelOnSignal returns a channel closed on the first interrupting
// signal, and a func that stops watching (the signals' default action
// comes back).
func cancelOnSignal() (<-chan struct{}, func()) {
	sigs := make(chan os.Signal, 1)
	cancel := make(chan struct{})
	done := make(chan struct{})
	signal.Notify(sigs, interrupting...)
	go func() {
		select {
		case sig := <-sigs:
			logrus.Debugf("%v: stopping criu", sig)
			close(cancel)
		case <-done:
		}
	}()
	return cancel, func() {
		signal.Stop(sigs)
		close(done)
	}
}

// criuOpts reads the flags checkpoint and restore share.
func criuOpts(ctx *cli.Context) (*libcontainer.CriuOpts, error) {
	img := ctx.String("image-path")
	if img == "" {
		img = "checkpoint"
	}
	img, err := filepath.Abs(img)
	if err != nil {
		return nil, err
	}
	o := &libcontainer.CriuOpts{
		ImagePath: img, StatusFd: -1,
		TCPEstablished: ctx.Bool("tcp-established"), ExtUnixSk: ctx.Bool("ext-unix-sk"),
		ShellJob: ctx.Bool("shell-job"), FileLocks: ctx.Bool("file-locks"),
		ManageCgroupsMode: ctx.String("manage-cgroups-mode"),
		AutoDedup:         ctx.Bool("auto-dedup"), LazyPages: ctx.Bool("lazy-pages"),
	}
	if w := ctx.String("work-path"); w != "" {
		if o.WorkPath, err = filepath.Abs(w); err != nil {
			return nil, err
		}
	}
	for _, ns := range ctx.StringSlice("empty-ns") {
		f, ok := emptyNsFlags[ns]
		if !ok {
			return nil, fmt.Errorf("--empty-ns: namespace %q is not supported (only network)", ns)
		}
		o.EmptyNs |= f
	}
	return o, o.Validate()
}

// emptyNsFlags: the namespaces --empty-ns takes, as in runc.
var emptyNsFlags = map[string]uint32{"network": unix.CLONE_NEWNET}

// checkStatusFd: --status-fd must be an open, writable fd.
func checkStatusFd(fd int) error {
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		return fmt.Errorf("--status-fd %d: %w", fd, err)
	}
	if flags&(unix.O_WRONLY|unix.O_RDWR) == 0 {
		return fmt.Errorf("--status-fd %d: not open for writing", fd)
	}
	_ = os.NewFile(uintptr(fd), "status-fd") // keep it open: CRIU's notification closes it
	return nil
}
