package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/berthrt/berth/libcontainer"
	"github.com/berthrt/berth/libcontainer/spec"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli"
	"golang.org/x/sys/unix"
)

// checkArgs enforces a command's argument count, as runc does.
func checkArgs(ctx *cli.Context, min, max int) error {
	n := ctx.NArg()
	switch {
	case min == max && n != min:
		return fmt.Errorf("%q requires exactly %d argument(s), got %d", ctx.Command.Name, min, n)
	case n < min:
		return fmt.Errorf("%q requires a minimum of %d argument(s), got %d", ctx.Command.Name, min, n)
	case max >= 0 && n > max:
		return fmt.Errorf("%q requires a maximum of %d argument(s), got %d", ctx.Command.Name, max, n)
	}
	return nil
}

func stateRoot(ctx *cli.Context) (string, error) {
	return filepath.Abs(ctx.GlobalString("root"))
}

// loadContainer loads the container named by the first argument.
func loadContainer(ctx *cli.Context) (*libcontainer.Container, error) {
	root, err := stateRoot(ctx)
	if err != nil {
		return nil, err
	}
	id := ctx.Args().First()
	return libcontainer.Load(root, id)
}

// parseSignal accepts a number, a name ("KILL") or a SIG name ("SIGKILL").
func parseSignal(s string) (unix.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > 64 {
			return 0, fmt.Errorf("unknown signal %q", s)
		}
		return unix.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	sig := unix.SignalNum(name)
	if sig == 0 {
		return 0, fmt.Errorf("unknown signal %q", s)
	}
	return sig, nil
}

// bundleDir resolves --bundle (default: the cwd) to an absolute path.
func bundleDir(ctx *cli.Context) (string, error) {
	b := ctx.String("bundle")
	if b == "" {
		b = "."
	}
	abs, err := filepath.Abs(b)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(abs); err != nil {
		return "", fmt.Errorf("--bundle: %w", err)
	}
	return abs, nil
}

// openBundle reads what create, run and restore take from the command line
// and the bundle: --bundle, --pid-file (made absolute first) and the
// validated config.json with its bytes. Like runc, it then makes the bundle
// the cwd: relative paths in config.json (root, bind sources) are relative
// to it.
func openBundle(ctx *cli.Context) (bundle, pidFile string, s *specs.Spec, raw []byte, err error) {
	if bundle, err = bundleDir(ctx); err != nil {
		return "", "", nil, nil, err
	}
	if p := ctx.String("pid-file"); p != "" {
		if pidFile, err = filepath.Abs(p); err != nil {
			return "", "", nil, nil, err
		}
	}
	if s, raw, err = spec.LoadRaw(bundle); err != nil {
		return "", "", nil, nil, err
	}
	if err := os.Chdir(bundle); err != nil {
		return "", "", nil, nil, err
	}
	return bundle, pidFile, s, raw, nil
}
