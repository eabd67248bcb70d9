package main

import "github.com/urfave/cli"

var pauseCommand = cli.Command{
	Name:      "pause",
	Usage:     "suspend every process in a container (cgroup freezer)",
	ArgsUsage: "<container-id>",
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 1, 1); err != nil {
			return err
		}
		c, err := loadContainer(ctx)
		if err != nil {
			return err
		}
		return c.Pause()
	},
}
