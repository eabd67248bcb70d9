package libcontainer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/berthrt/berth/cgroups"
	"github.com/berthrt/berth/libcontainer/spec"
	"github.com/berthrt/berth/libcontainer/sys"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Status is a container's OCI status.
type Status string

// The statuses of runtime.md, plus runc's "paused".
const (
	Creating Status = "creating"
	Created  Status = "created"
	Running  Status = "running"
	Paused   Status = "paused"
	Stopped  Status = "stopped"
)

// Container is a container found in the state dir.
type Container struct {
	dir   string
	State State
	// spec is the config this process already holds (the one create
	// decoded, or the snapshot once read): `run` starts and deletes the
	// container it created without decoding config.json again.
	spec *specs.Spec
}

// Load finds container id under root.
func Load(root, id string) (*Container, error) {
	dir, err := stateDir(root, id)
	if err != nil {
		return nil, err
	}
	s, err := loadState(dir)
	if err != nil {
		if errors.Is(err, ErrNotExist) {
			return nil, fmt.Errorf("container %q: %w", id, ErrNotExist)
		}
		return nil, fmt.Errorf("container %q: %w", id, err)
	}
	return &Container{dir: dir, State: *s}, nil
}

// List loads every container under root, sorted by id; a container still
// being created (no state.json yet) is left out.
func List(root string) ([]*Container, error) {
	ents, err := os.ReadDir(root)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var cs []*Container
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		c, err := Load(root, e.Name())
		if err != nil {
			continue
		}
		cs = append(cs, c)
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].State.ID < cs[j].State.ID })
	return cs, nil
}

// Status derives the status from the live process, the freezer and
// exec.fifo; the state file is never trusted for it.
func (c *Container) Status() Status {
	if !sys.Alive(c.State.InitPid, c.State.InitStart) {
		return Stopped
	}
	if len(c.State.CgroupPaths) > 0 {
		if st, _ := cgroups.Load(c.State.CgroupPaths).FreezerState(); st == "FROZEN" {
			return Paused
		}
	}
	if _, err := os.Lstat(filepath.Join(c.dir, fifoFile)); err == nil {
		return Created
	}
	return Running
}

// Config returns the config.json snapshot taken at create.
func (c *Container) Config() (*specs.Spec, error) {
	if c.spec != nil {
		return c.spec, nil
	}
	b, err := os.ReadFile(filepath.Join(c.dir, configFile))
	if err != nil {
		return nil, fmt.Errorf("container %q: read config snapshot: %w", c.State.ID, err)
	}
	s, err := spec.Decode(b)
	if err != nil {
		return nil, fmt.Errorf("container %q: parse config snapshot: %w", c.State.ID, err)
	}
	c.spec = s
	return s, nil
}

// lifecycleConfig is what start and delete read of the config snapshot:
// whether there is a process, and the hooks. Decoding just these is much
// cheaper than the whole specs.Spec (see initSpec).
type lifecycleConfig struct {
	HasProcess bool
	Hooks      *specs.Hooks
}

func (c *Container) lifecycleConfig() (*lifecycleConfig, error) {
	if c.spec != nil {
		return &lifecycleConfig{HasProcess: c.spec.Process != nil, Hooks: c.spec.Hooks}, nil
	}
	b, err := os.ReadFile(filepath.Join(c.dir, configFile))
	if err != nil {
		return nil, fmt.Errorf("container %q: read config snapshot: %w", c.State.ID, err)
	}
	var s struct {
		Process json.RawMessage `json:"process"`
		Hooks   *specs.Hooks    `json:"hooks"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("container %q: parse config snapshot: %w", c.State.ID, err)
	}
	has := len(s.Process) > 0 && string(s.Process) != "null"
	return &lifecycleConfig{HasProcess: has, Hooks: s.Hooks}, nil
}

// OCIState is the JSON `state` prints: runtime.md's state plus runc's
// rootfs, created and owner.
type OCIState struct {
	OCIVersion  string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Pid         int               `json:"pid"`
	Status      Status            `json:"status"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Created     time.Time         `json:"created"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Owner       string            `json:"owner"`
}

// OCIState reports the container's state; pid is 0 once it has stopped.
func (c *Container) OCIState() *OCIState {
	st := c.Status()
	pid := c.State.InitPid
	if st == Stopped {
		pid = 0
	}
	return &OCIState{
		OCIVersion: c.State.OCIVersion, ID: c.State.ID, Pid: pid, Status: st,
		Bundle: c.State.Bundle, Rootfs: c.State.Rootfs, Created: c.State.Created,
		Annotations: c.State.Annotations, Owner: c.State.Owner,
	}
}

// ID returns the container id.
func (c *Container) ID() string { return c.State.ID }
