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
			if !errors.Is(err, libcontainer.ErrNotExist) {
				return err
			}
			// A create killed before it wrote state.json left a state
			// dir that holds the id: remove it, as runc does.
			root, rerr := stateRoot(ctx)
			if rerr != nil {
				return rerr
			}
			if _, rerr := libcontainer.RemoveAborted(root, ctx.Args().First()); rerr != nil {
				return rerr
			}
			// Like runc, --force on a container that is gone is not an error.
			if ctx.Bool("force") {
				return nil
			}
			return err
		}
		return c.Delete(ctx.Bool("force"))
	},
}
