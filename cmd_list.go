package main

import (
	"encoding/json"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/berthrt/berth/libcontainer"
	"github.com/urfave/cli"
)

var listCommand = cli.Command{
	Name:  "list",
	Usage: "list containers",
	Flags: []cli.Flag{
		cli.StringFlag{Name: "format, f", Value: "table", Usage: "table or json"},
		cli.BoolFlag{Name: "quiet, q", Usage: "print only the container ids"},
	},
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 0, 0); err != nil {
			return err
		}
		root, err := stateRoot(ctx)
		if err != nil {
			return err
		}
		cs, err := libcontainer.List(root)
		if err != nil {
			return err
		}
		if ctx.Bool("quiet") {
			for _, c := range cs {
				fmt.Println(c.ID())
			}
			return nil
		}
		states := make([]*libcontainer.OCIState, 0, len(cs))
		for _, c := range cs {
			states = append(states, c.OCIState())
		}
		switch f := ctx.String("format"); f {
		case "table":
			return printTable(states)
		case "json":
			return json.NewEncoder(os.Stdout).Encode(states)
		default:
			return fmt.Errorf("--format: %q is not table or json", f)
		}
	},
}

func printTable(states []*libcontainer.OCIState) error {
	w := tabwriter.NewWriter(os.Stdout, 12, 1, 3, ' ', 0)
	fmt.Fprint(w, "ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER\n")
	for _, s := range states {
		fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\n", s.ID, s.Pid, s.Status, s.Bundle,
			s.Created.Format(time.RFC3339Nano), s.Owner)
	}
	return w.Flush()
}
