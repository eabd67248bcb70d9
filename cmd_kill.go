package main

import (
	"github.com/urfave/cli"
	"golang.org/x/sys/unix"
)

var killCommand = cli.Command{
	Name:      "kill",
	Usage:     "send a signal (default SIGTERM) to a container's init",
	ArgsUsage: "<container-id> [signal]",
	Flags: []cli.Flag{
		cli.BoolFlag{Name: "all, a", Usage: "send the signal to every process in the container"},
	},
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 1, 2); err != nil {
			return err
		}
		sig := unix.SIGTERM
		if s := ctx.Args().Get(1); s != "" {
			var err error
			if sig, err = parseSignal(s); err != nil {
				return err
			}
		}
		c, err := loadContainer(ctx)
		if err != nil {
			return err
		}
		return c.Kill(sig, ctx.Bool("all"))
	},
}
