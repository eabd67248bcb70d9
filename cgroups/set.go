package cgroups

import (
	"fmt"
	"reflect"
	"strings"

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

// setV2 is the cgroup v2 driver's Set; until it is written every field
// but an empty device list is refused.
func (m *manager) setV2(r *specs.LinuxResources) error {
	if len(r.Devices) > 0 {
		return fmt.Errorf("linux.resources.devices: %w", ErrNotSupported)
	}
	v := reflect.ValueOf(r).Elem()
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name == "devices" || isEmpty(v.Field(i)) {
			continue
		}
		return fmt.Errorf("linux.resources.%s: %w", name, ErrNotSupported)
	}
	return nil
}

// isEmpty is true for nil, empty lists and maps, and pointers to zero
// structs ("memory": {} asks for nothing).
func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Slice, reflect.Map:
		return v.Len() == 0
	case reflect.Pointer:
		return v.IsNil() || v.Elem().IsZero()
	}
	return v.IsZero()
}
