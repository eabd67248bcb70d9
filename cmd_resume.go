package main

import "github.com/urfave/cli"

var resumeCommand = cli.Command{
	Name:      "resume",
	Usage:     "resume every process in a paused container",
	ArgsUsage: "<container-id>",
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 1, 1); err != nil {
			return err
		}
		c, err := loadContainer(ctx)
		if err != nil {
			return err
		}
		return c.Resume()
	},
}
