package main

import (
	"os"

	"github.com/urfave/cli"
)

var startCommand = cli.Command{
	Name:      "start",
	Usage:     "run the process of a created container",
	ArgsUsage: "<container-id>",
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 1, 1); err != nil {
			return err
		}
		c, err := loadContainer(ctx)
		if err != nil {
			return err
		}
		if os.Getenv("NOTIFY_SOCKET") == "" {
			return c.Start()
		}
		// Like runc, return once the container says READY=1 (or exits).
		relay, err := c.StartNotify()
		if err != nil {
			return err
		}
		return relay.WaitReady(c.State.InitPid, false)
	},
}
