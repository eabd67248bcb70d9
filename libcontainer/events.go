package libcontainer

import (
	"context"
	"fmt"
	"time"

	"github.com/berthrt/berth/cgroups"
)

// Event is one line of `events`, in runc's schema: {"type": "stats" |
// "oom", "id": ..., "data": ...}.
type Event struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Data any    `json:"data,omitempty"`
}

// Stats returns one stats sample of a container that is not stopped.
func (c *Container) Stats() (*cgroups.Stats, error) {
	lock, err := lockDir(c.dir, false)
	if err != nil {
		return nil, err
	}
	defer lock.Close()
	if st := c.Status(); st == Stopped {
		return nil, fmt.Errorf("container %q is not running: %w", c.State.ID, ErrWrongState)
	}
	s, err := cgroups.Load(c.State.CgroupPaths).Stats()
	if err != nil {
		return nil, fmt.Errorf("stats of %q: %w", c.State.ID, err)
	}
	return s, nil
}

// Events sends emit a stats event every interval and an oom event each
// time the kernel reports one (pushed through an eventfd, not polled),
// until ctx is done or the container stops (checked at each interval) —
// runc's loop never ends on its own; ending here lets callers wait on it.
// No lock is held across the loop: each sample takes the shared lock.
func (c *Container) Events(ctx context.Context, interval time.Duration, emit func(*Event) error) error {
	if st := c.Status(); st == Stopped {
		return fmt.Errorf("container %q is not running: %w", c.State.ID, ErrWrongState)
	}
	ooms, err := cgroups.Load(c.State.CgroupPaths).OOMEvents()
	if err != nil {
		return fmt.Errorf("events of %q: %w", c.State.ID, err)
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-ooms:
			if !ok {
				return nil // the cgroup was removed: the container is gone
			}
			if err := emit(&Event{Type: "oom", ID: c.State.ID}); err != nil {
				return err
			}
		case <-tick.C:
			// An OOM kill may be what stopped the container: report it
			// before noticing the stop.
			select {
			case _, ok := <-ooms:
				if ok {
					if err := emit(&Event{Type: "oom", ID: c.State.ID}); err != nil {
						return err
					}
				}
			default:
			}
			s, err := c.Stats()
			if err != nil {
				if c.Status() == Stopped {
					return nil
				}
				return err
			}
			if err := emit(&Event{Type: "stats", ID: c.State.ID, Data: s}); err != nil {
				return err
			}
		}
	}
}
