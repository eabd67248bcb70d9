package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli"
)

// updateFlags are runc update's flags. Every value is a string, as in
// runc, so that "unset" and "0" differ and memory sizes take units.
var updateFlags = []cli.Flag{
	cli.StringFlag{Name: "resources, r", Usage: "path to a JSON linux.resources object, or - for stdin (the other flags must not be used)"},
	cli.StringFlag{Name: "blkio-weight", Usage: "block I/O weight, 10 to 1000"},
	cli.StringFlag{Name: "cpu-period", Usage: "CPU CFS period (µs)"},
	cli.StringFlag{Name: "cpu-quota", Usage: "CPU CFS quota per period (µs), -1 for none"},
	cli.StringFlag{Name: "cpu-burst", Usage: "CPU CFS burst (µs)"},
	cli.StringFlag{Name: "cpu-share", Usage: "CPU shares (relative weight)"},
	cli.StringFlag{Name: "cpu-rt-period", Usage: "CPU realtime period (µs)"},
	cli.StringFlag{Name: "cpu-rt-runtime", Usage: "CPU realtime runtime per period (µs)"},
	cli.StringFlag{Name: "cpu-idle", Usage: "1 to make the cgroup SCHED_IDLE, 0 for normal"},
	cli.StringFlag{Name: "cpuset-cpus", Usage: "CPUs to use (0-3,7)"},
	cli.StringFlag{Name: "cpuset-mems", Usage: "memory nodes to use (0-1)"},
	cli.StringFlag{Name: "memory", Usage: "memory limit (bytes, or with a unit: 64m, 1g), -1 for none"},
	cli.StringFlag{Name: "memory-reservation", Usage: "memory soft limit (bytes or with a unit)"},
	cli.StringFlag{Name: "memory-swap", Usage: "memory+swap limit (bytes or with a unit), -1 for unlimited swap"},
	cli.StringFlag{Name: "pids-limit", Usage: "maximum number of pids, -1 or 0 for none"},
}

var updateCommand = cli.Command{
	Name:      "update",
	Usage:     "update the resource limits of a container",
	ArgsUsage: "<container-id>",
	Flags:     updateFlags,
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 1, 1); err != nil {
			return err
		}
		r, err := updateResources(ctx)
		if err != nil {
			return err
		}
		c, err := loadContainer(ctx)
		if err != nil {
			return err
		}
		return c.Update(r)
	},
}

// updateResources builds the resources to change from -r or the flags.
func updateResources(ctx *cli.Context) (*specs.LinuxResources, error) {
	if path := ctx.String("resources"); path != "" {
		for _, f := range updateFlags[1:] {
			name := strings.Split(f.GetName(), ",")[0]
			if ctx.IsSet(name) {
				return nil, fmt.Errorf("--%s cannot be combined with --resources", name)
			}
		}
		return readResources(path)
	}
	r := &specs.LinuxResources{}
	for _, p := range updateParsers(r) {
		v := ctx.String(p.flag)
		if !ctx.IsSet(p.flag) {
			continue
		}
		if err := p.parse(v); err != nil {
			return nil, fmt.Errorf("--%s: %q: %w", p.flag, v, err)
		}
	}
	return r, nil
}

type updateParser struct {
	flag  string
	parse func(string) error
}

// updateParsers maps each flag to the field it sets in r.
func updateParsers(r *specs.LinuxResources) []updateParser {
	mem := func() *specs.LinuxMemory {
		if r.Memory == nil {
			r.Memory = &specs.LinuxMemory{}
		}
		return r.Memory
	}
	cpu := func() *specs.LinuxCPU {
		if r.CPU == nil {
			r.CPU = &specs.LinuxCPU{}
		}
		return r.CPU
	}
	u64 := func(dst func() **uint64) func(string) error {
		return func(s string) error {
			v, err := strconv.ParseUint(s, 10, 64)
			*dst() = &v
			return err
		}
	}
	i64 := func(dst func() **int64) func(string) error {
		return func(s string) error {
			v, err := strconv.ParseInt(s, 10, 64)
			*dst() = &v
			return err
		}
	}
	bytes := func(dst func() **int64) func(string) error {
		return func(s string) error {
			v, err := parseBytes(s)
			*dst() = &v
			return err
		}
	}
	return []updateParser{
		{"blkio-weight", func(s string) error {
			v, err := strconv.ParseUint(s, 10, 16)
			w := uint16(v)
			r.BlockIO = &specs.LinuxBlockIO{Weight: &w}
			return err
		}},
		{"cpu-period", u64(func() **uint64 { return &cpu().Period })},
		{"cpu-quota", i64(func() **int64 { return &cpu().Quota })},
		{"cpu-burst", u64(func() **uint64 { return &cpu().Burst })},
		{"cpu-share", u64(func() **uint64 { return &cpu().Shares })},
		{"cpu-rt-period", u64(func() **uint64 { return &cpu().RealtimePeriod })},
		{"cpu-rt-runtime", i64(func() **int64 { return &cpu().RealtimeRuntime })},
		{"cpu-idle", i64(func() **int64 { return &cpu().Idle })},
		{"cpuset-cpus", func(s string) error { cpu().Cpus = s; return nil }},
		{"cpuset-mems", func(s string) error { cpu().Mems = s; return nil }},
		{"memory", bytes(func() **int64 { return &mem().Limit })},
		{"memory-reservation", bytes(func() **int64 { return &mem().Reservation })},
		{"memory-swap", bytes(func() **int64 { return &mem().Swap })},
		{"pids-limit", func(s string) error {
			v, err := strconv.ParseInt(s, 10, 64)
			r.Pids = &specs.LinuxPids{Limit: &v}
			return err
		}},
	}
}

var bytesRE = regexp.MustCompile(`^(\d+(?:\.\d+)?) ?([kKmMgGtTpP])?[iI]?[bB]?$`)

// parseBytes reads a size as runc does (docker's RAMInBytes): a number
// with an optional binary unit (k, m, g, t, p; "b" or "ib" may follow),
// or -1 for unlimited.
func parseBytes(s string) (int64, error) {
	if s == "-1" {
		return -1, nil
	}
	m := bytesRE.FindStringSubmatch(s)
	if m == nil {
		return 0, errors.New("not a size (like 1024, 64m or 1g) nor -1")
	}
	n, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, err
	}
	if m[2] != "" {
		n *= float64(int64(1) << (10 * (1 + strings.Index("kmgtp", strings.ToLower(m[2])))))
	}
	return int64(n), nil
}

// readResources decodes a linux.resources object from a file or stdin.
func readResources(path string) (*specs.LinuxResources, error) {
	var in io.Reader = os.Stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("--resources: %w", err)
		}
		defer f.Close()
		in = f
	}
	var r specs.LinuxResources
	dec := json.NewDecoder(in)
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("--resources %s: %w", path, err)
	}
	return &r, nil
}
