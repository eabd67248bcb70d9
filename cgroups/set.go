package cgroups

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Set validates r (Validate) and applies every field that is set. Fields
// left nil are not touched, so `update` passes only what changes; a nil
// Devices list leaves the device rules as they are, while a non-nil one
// (even empty) rewrites them whole.
func (m *manager) Set(r *specs.LinuxResources) error {
	if r == nil {
		return nil
	}
	if err := Validate(r); err != nil {
		return err
	}
	if m.pureV2() {
		return m.setV2(r)
	}
	return m.setV1(r)
}

// pureV2 is true when the only hierarchy is the unified one.
func (m *manager) pureV2() bool {
	_, ok := m.paths[Unified]
	return ok && len(m.paths) == 1
}
