package libcontainer

import (
	"fmt"

	"github.com/berthrt/berth/cgroups"
)

// Processes lists the host pids of every process in the container's
// cgroup (sub-cgroups included), as runc's ps does; a stopped container
// whose cgroup still exists lists what is left in it.
func (c *Container) Processes() ([]int, error) {
	lock, err := lockDir(c.dir, false)
	if err != nil {
		return nil, err
	}
	defer lock.Close()
	if len(c.State.CgroupPaths) == 0 {
		return nil, fmt.Errorf("container %q has no cgroup", c.State.ID)
	}
	pids, err := cgroups.Load(c.State.CgroupPaths).Pids()
	if err != nil {
		return nil, fmt.Errorf("list processes of %q: %w", c.State.ID, err)
	}
	return pids, nil
}
