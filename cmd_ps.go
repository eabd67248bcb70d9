package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"

	"github.com/urfave/cli"
)

var psCommand = cli.Command{
	Name:      "ps",
	Usage:     "list the processes running in a container",
	ArgsUsage: "<container-id> [ps options]",
	// "berth ps ID -ef": what follows the id goes to ps(1).
	SkipArgReorder: true,
	Flags: []cli.Flag{
		cli.StringFlag{Name: "format, f", Value: "table", Usage: "table (ps(1) output) or json (the pids)"},
	},
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 1, -1); err != nil {
			return err
		}
		format := ctx.String("format")
		if format != "table" && format != "json" {
			return fmt.Errorf("--format: %q is not table or json", format)
		}
		c, err := loadContainer(ctx)
		if err != nil {
			return err
		}
		pids, err := c.Processes()
		if err != nil {
			return err
		}
		if format == "json" {
			if pids == nil {
				pids = []int{}
			}
			return json.NewEncoder(os.Stdout).Encode(pids)
		}
		return psTable(pids, ctx.Args()[1:])
	},
}

// psTable runs ps(1) (default -ef) and prints its header and the lines
// whose PID column is one of pids, as runc does.
func psTable(pids []int, args []string) error {
	if len(args) == 0 {
		args = []string{"-ef"}
	}
	out, err := exec.Command("ps", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ps %s: %w: %s", strings.Join(args, " "), err, out)
	}
	lines := strings.Split(string(out), "\n")
	col := slices.Index(strings.Fields(lines[0]), "PID")
	if col < 0 {
		return errors.New("ps output has no PID column (add -o pid or use --format json)")
	}
	fmt.Println(lines[0])
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) <= col {
			continue
		}
		if pid, err := strconv.Atoi(f[col]); err == nil && slices.Contains(pids, pid) {
			fmt.Println(line)
		}
	}
	return nil
}
