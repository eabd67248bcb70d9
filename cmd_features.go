package main

import (
	"encoding/json"
	"os"

	"github.com/berthrt/berth/libcontainer"
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
		f := spec.Features()
		f.Annotations = map[string]string{
			"io.github.berthrt.berth.version":            version,
			"io.github.berthrt.berth.checkpoint.enabled": checkpointEnabled(),
		}
		b, err := json.MarshalIndent(f, "", "    ")
		if err != nil {
			return err
		}
		_, err = os.Stdout.Write(append(b, '\n'))
		return err
	},
}

// checkpointEnabled is "true" when checkpoint and restore can work here:
// criu on PATH, recent enough, and `criu check` passing on this kernel.
func checkpointEnabled() string {
	if err := libcontainer.CheckpointSupported(); err != nil {
		return "false"
	}
	return "true"
}

func specVersion() string { return specs.Version }
