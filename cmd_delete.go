package main

import (
	"errors"

	"github.com/berthrt/berth/libcontainer"
	"github.com/urfave/cli"
)

var deleteCommand = cli.Command{
	Name:      "delete",
	Usage:     "delete a container (a running one only with --force)",
	ArgsUsage: "<container-id>",
	Flags: []cli.Flag{
		cli.BoolFlag{Name: "force, f", Usage: "kill a running container and delete it"},
	},
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 1, 1); err != nil {
			return err
		}
		c, err := loadContainer(ctx)
		if err != nil {
			// Like runc, --force on a container that is gone is not an error.
			if ctx.Bool("force") && errors.Is(err, libcontainer.ErrNotExist) {
				return nil
			}
			return err
		}
		return c.Delete(ctx.Bool("force"))
	},
}
