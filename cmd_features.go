package main

import (
	"encoding/json"
	"os"

	"github.com/berthrt/berth/libcontainer/spec"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli"
)

var featuresCommand = cli.Command{
	Name:  "features",
	Usage: "print what this runtime supports, as OCI features JSON",
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 0, 0); err != nil {
			return err
		}
		b, err := json.MarshalIndent(spec.Features(), "", "    ")
		if err != nil {
			return err
		}
		_, err = os.Stdout.Write(append(b, '\n'))
		return err
	},
}

func specVersion() string { return specs.Version }
