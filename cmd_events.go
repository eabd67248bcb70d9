package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/berthrt/berth/libcontainer"
	"github.com/urfave/cli"
	"golang.org/x/sys/unix"
)

var eventsCommand = cli.Command{
	Name:      "events",
	Usage:     "print resource usage stats and OOM notifications of a container as JSON lines",
	ArgsUsage: "<container-id>",
	Flags: []cli.Flag{
		cli.DurationFlag{Name: "interval", Value: 5 * time.Second, Usage: "time between stats samples"},
		cli.BoolFlag{Name: "stats", Usage: "print one stats sample and exit"},
	},
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 1, 1); err != nil {
			return err
		}
		interval := ctx.Duration("interval")
		if interval <= 0 {
			return fmt.Errorf("--interval: %s is not above 0", interval)
		}
		c, err := loadContainer(ctx)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(os.Stdout)
		emit := func(e *libcontainer.Event) error { return enc.Encode(e) }
		if ctx.Bool("stats") {
			s, err := c.Stats()
			if err != nil {
				return err
			}
			return emit(&libcontainer.Event{Type: "stats", ID: c.ID(), Data: s})
		}
		sctx, stop := signal.NotifyContext(context.Background(), unix.SIGINT, unix.SIGTERM)
		defer stop()
		return c.Events(sctx, interval, emit)
	},
}
