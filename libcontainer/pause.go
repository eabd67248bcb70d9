package libcontainer

import (
	"fmt"

	"github.com/berthrt/berth/cgroups"
)

// Pause freezes every process of a running (or created) container, as
// runc does: load, refresh status, check, freeze. Nothing is saved: the
// freezer is the record, and Status reads it.
func (c *Container) Pause() error {
	lock, err := lockDir(c.dir, true)
	if err != nil {
		return err
	}
	defer lock.Close()
	switch st := c.Status(); st {
	case Running, Created:
	default:
		return fmt.Errorf("container %q is not running: %s: %w", c.State.ID, st, ErrWrongState)
	}
	if err := cgroups.Load(c.State.CgroupPaths).Freeze(true); err != nil {
		return fmt.Errorf("pause %q: %w", c.State.ID, err)
	}
	return nil
}

// Resume thaws a paused container; any other status is an error, as in
// runc.
func (c *Container) Resume() error {
	lock, err := lockDir(c.dir, true)
	if err != nil {
		return err
	}
	defer lock.Close()
	if st := c.Status(); st != Paused {
		return fmt.Errorf("container %q is not paused: %s: %w", c.State.ID, st, ErrWrongState)
	}
	if err := cgroups.Load(c.State.CgroupPaths).Freeze(false); err != nil {
		return fmt.Errorf("resume %q: %w", c.State.ID, err)
	}
	return nil
}
