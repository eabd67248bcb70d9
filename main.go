// berth is an OCI container runtime with runc's command line.
//
// The go:debug lines stop the Go runtime from re-checking the cgroup CPU
// limit in the background (berth's processes are short-lived; the container
// init gets GOMAXPROCS=1 from its environment). Changing GOMAXPROCS at run
// time was measured: the stop-the-world costs more (0.6 ms) than it saves.
//
//go:debug containermaxprocs=0
//go:debug updatemaxprocs=0
package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/berthrt/berth/libcontainer"
	_ "github.com/berthrt/berth/nsenter" // the C stub runs as a constructor
	"github.com/sirupsen/logrus"
	"github.com/urfave/cli"
)

var (
	version   = "dev"
	gitCommit = ""
)

func init() {
	// The container init execs on this thread after setting its
	// capabilities, which are per thread: pin it before anything runs.
	if len(os.Args) > 1 && os.Args[1] == "init" {
		runtime.LockOSThread()
	}
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "init" {
		// Errors were sent to the parent over the sync socket.
		if len(os.Args) > 2 && os.Args[2] == "exec" {
			_ = libcontainer.ExecInit()
		} else {
			_ = libcontainer.Init()
		}
		os.Exit(1)
	}
	app := newApp()
	if err := app.Run(os.Args); err != nil {
		fatal(err)
	}
}

func newApp() *cli.App {
	app := cli.NewApp()
	app.Name = "berth"
	app.Usage = "an OCI container runtime with runc's command line"
	app.Version = versionString()
	app.Flags = []cli.Flag{
		cli.BoolFlag{Name: "debug", Usage: "enable debug logging"},
		cli.StringFlag{Name: "log", Usage: "write log messages to this file instead of stderr"},
		cli.StringFlag{Name: "log-format", Value: "text", Usage: "log format: text or json"},
		cli.StringFlag{Name: "root", Value: "/run/berth", Usage: "directory holding container state"},
		cli.BoolFlag{Name: "systemd-cgroup", Usage: "use the systemd cgroup driver: linux.cgroupsPath is slice:prefix:name, the cgroup a transient scope unit"},
		cli.StringFlag{Name: "rootless", Value: "auto", Usage: "rootless mode: true, false or auto (true is not supported yet)"},
	}
	app.Commands = []cli.Command{
		createCommand, deleteCommand, execCommand, featuresCommand, killCommand, listCommand,
		runCommand, specCommand, startCommand, stateCommand,
		updateCommand, pauseCommand, resumeCommand, psCommand, eventsCommand,
		checkpointCommand, restoreCommand,
	}
	app.Before = setupGlobal
	app.ExitErrHandler = func(*cli.Context, error) {}
	cli.ErrWriter = os.Stderr
	return app
}

func versionString() string {
	v := version
	if gitCommit != "" {
		v += "\ncommit: " + gitCommit
	}
	return v + "\nspec: " + specVersion()
}

// setupGlobal applies the global flags: logging, and refusing modes berth
// does not have yet (a flag that is accepted must do what it says).
func setupGlobal(ctx *cli.Context) error {
	if err := setupLogging(ctx); err != nil {
		return err
	}
	// The systemd driver is checked (systemd running, cgroupsPath form)
	// where a cgroup is made, at create; other commands read the driver
	// from state.json and need no flag.
	libcontainer.SystemdCgroup = ctx.GlobalBool("systemd-cgroup")
	switch r := ctx.GlobalString("rootless"); r {
	case "auto", "false":
	case "true":
		return fmt.Errorf("--rootless=true: %w", libcontainer.ErrNotSupported)
	default:
		return fmt.Errorf("--rootless: %q is not one of true, false, auto", r)
	}
	return nil
}

// logToStderr is true when log messages already go to stderr, so fatal does
// not print an error twice.
var logToStderr = true

func setupLogging(ctx *cli.Context) error {
	if ctx.GlobalBool("debug") {
		logrus.SetLevel(logrus.DebugLevel)
	}
	if path := ctx.GlobalString("log"); path != "" {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_SYNC, 0o644)
		if err != nil {
			return fmt.Errorf("--log %q: %w", path, err)
		}
		logrus.SetOutput(f)
		logToStderr = false
	}
	switch f := ctx.GlobalString("log-format"); f {
	case "text":
		logrus.SetFormatter(&logrus.TextFormatter{DisableColors: true})
	case "json":
		logrus.SetFormatter(new(logrus.JSONFormatter))
	default:
		return fmt.Errorf("--log-format: %q is not text or json", f)
	}
	return nil
}

// fatal reports err to the log (JSON for containerd when asked) and, unless
// the log is stderr already, as one plain line on stderr; then exits 1
// (or the code of an exitError carrying an error).
func fatal(err error) {
	code := 1
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err == nil {
			os.Exit(ee.code)
		}
		err, code = ee.err, ee.code
	}
	msg := strings.TrimSpace(err.Error())
	if logToStderr {
		fmt.Fprintln(os.Stderr, "berth: "+msg)
	} else {
		logrus.Error(msg)
		fmt.Fprintln(os.Stderr, msg)
	}
	os.Exit(code)
}

// exitError carries a status to exit with, and an error to report first
// when err is set (exec's own failures exit 255, as runc's do, so they are
// told from the process's status).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }
