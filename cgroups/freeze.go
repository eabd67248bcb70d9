package cgroups

import (
	"fmt"
	"time"
)

// Freeze writes the v1 freezer.state (or the v2 cgroup.freeze) and waits
// until the kernel reports the cgroup FROZEN or THAWED. A v1 freeze can
// stay FREEZING while a task is in an uninterruptible sleep; the write is
// repeated, and after about two seconds the cgroup is thawed again and an
// error returned, so a failed pause never leaves it half frozen.
func (m *manager) Freeze(frozen bool) error {
	want, file, val := "THAWED", "freezer.state", "THAWED"
	if frozen {
		want, val = "FROZEN", "FROZEN"
	}
	dir, ok := m.paths["freezer"]
	if !ok {
		if !m.pureV2() {
			return fmt.Errorf("freeze: the freezer cgroup controller is not mounted: %w", ErrNotMounted)
		}
		dir, file, val = m.paths[Unified], "cgroup.freeze", boolDigit(frozen)
	}
	delay := 100 * time.Microsecond
	deadline := time.Now().Add(2 * time.Second)
	for {
		if err := writeFile(dir, file, val); err != nil {
			return fmt.Errorf("cgroup %s: write %s %s: %w", dir, file, val, err)
		}
		st, err := m.FreezerState()
		if err != nil {
			return err
		}
		if st == want {
			return nil
		}
		if time.Now().After(deadline) {
			if frozen {
				_ = writeFile(dir, file, map[string]string{"freezer.state": "THAWED", "cgroup.freeze": "0"}[file])
			}
			return fmt.Errorf("cgroup %s: still %s after 2s, wanted %s", dir, st, want)
		}
		time.Sleep(delay)
		if delay < 10*time.Millisecond {
			delay *= 2
		}
	}
}
