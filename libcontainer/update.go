package libcontainer

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"

	"github.com/berthrt/berth/cgroups"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
)

// Update applies the fields r sets to a container that is not stopped and
// records them in its config.json snapshot, so the snapshot keeps telling
// what the container runs with: load, refresh status, check, set, save.
// Devices are not updated, as in runc (a rewrite of the device list would
// briefly deny every device to a running container); a list given is
// ignored with a warning.
func (c *Container) Update(r *specs.LinuxResources) error {
	lock, err := lockDir(c.dir, true)
	if err != nil {
		return err
	}
	defer lock.Close()
	if st := c.Status(); st == Stopped {
		return fmt.Errorf("container %q is not running: %s: %w", c.State.ID, st, ErrWrongState)
	}
	delta := *r
	if delta.Devices != nil {
		logrus.Warn("update: linux.resources.devices is not updated (as in runc); ignored")
		delta.Devices = nil
	}
	spec, err := c.Config()
	if err != nil {
		return err
	}
	if err := cgroups.Load(c.State.CgroupPaths).Set(&delta); err != nil {
		return fmt.Errorf("update %q: %w", c.State.ID, err)
	}
	if spec.Linux == nil {
		spec.Linux = &specs.Linux{}
	}
	if spec.Linux.Resources == nil {
		spec.Linux.Resources = &specs.LinuxResources{}
	}
	mergeSet(reflect.ValueOf(spec.Linux.Resources).Elem(), reflect.ValueOf(&delta).Elem())
	b, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(c.dir, configFile), b, 0o600); err != nil {
		return fmt.Errorf("update %q: save config snapshot: %w", c.State.ID, err)
	}
	return nil
}

// mergeSet copies into dst every field src sets, recursing into structs
// behind pointers so that {"memory": {"limit": 1}} keeps memory.swap.
// Lists and maps that are set replace the old ones whole.
func mergeSet(dst, src reflect.Value) {
	for i := 0; i < src.NumField(); i++ {
		s, d := src.Field(i), dst.Field(i)
		switch {
		case s.Kind() == reflect.Pointer && !s.IsNil() && s.Elem().Kind() == reflect.Struct:
			if d.IsNil() {
				d.Set(reflect.New(s.Elem().Type()))
			}
			mergeSet(d.Elem(), s.Elem())
		case s.Kind() == reflect.Struct:
			mergeSet(d, s)
		case s.Kind() == reflect.Slice || s.Kind() == reflect.Map:
			if s.Len() > 0 {
				d.Set(s)
			}
		case !s.IsZero():
			d.Set(s)
		}
	}
}
