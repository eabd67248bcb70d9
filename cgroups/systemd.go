package cgroups

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	sd "github.com/coreos/go-systemd/v22/dbus"
	godbus "github.com/godbus/dbus/v5"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The systemd driver: the container's cgroup is a transient scope unit
// that systemd creates over D-Bus (StartTransientUnit) with the init's pid
// in it and Delegate=yes. Resources systemd has properties for are set on
// the unit, so systemd keeps them across reloads; then, as runc does, the
// fs driver writes every file into the unit's cgroup (covering what has
// no property: io.max, hugetlb, cpu.idle, unified, the device filter).
//
// Only cgroup v2 hosts are supported. The unit name is kept in Paths under
// the key Systemd (the value is the unit's cgroup directory, whose base
// name is the unit), so Load finds it again for Set and Destroy.

// Systemd is the Paths key marking a systemd-managed cgroup; its value is
// the scope's cgroup directory.
const Systemd = "systemd"

// ErrNoSystemd is returned for --systemd-cgroup on a host without systemd.
var ErrNoSystemd = errors.New("systemd is not running (no /run/systemd/system)")

// Options are the caller's choices for New beyond the path.
type Options struct {
	// Systemd selects the systemd driver (berth --systemd-cgroup).
	Systemd bool
	// Annotations of the config; the systemd driver sets each
	// org.systemd.property.<Name> as a unit property.
	Annotations map[string]string
}

// systemdManager is the systemd driver: a unit, plus the fs driver over
// the unit's cgroup for everything else.
type systemdManager struct {
	*manager
	slice, unit string
	props       []sd.Property // from annotations, for StartTransientUnit
}

// unitPath is the parsed "slice:prefix:name" of linux.cgroupsPath.
type unitPath struct{ slice, unit string }

// parseSystemdPath parses linux.cgroupsPath for the systemd driver: empty
// means "system.slice:berth:<id>"; an empty slice is system.slice. The
// unit is "<prefix>-<name>.scope" ("<name>.scope" without a prefix).
func parseSystemdPath(p, id string) (unitPath, error) {
	const field = "linux.cgroupsPath"
	if p == "" {
		p = "system.slice:berth:" + id
	}
	parts := strings.Split(p, ":")
	if len(parts) != 3 {
		return unitPath{}, fmt.Errorf("%s: %q is not of the form slice:prefix:name (the systemd cgroup driver is in use)", field, p)
	}
	slice, prefix, name := parts[0], parts[1], parts[2]
	if slice == "" {
		slice = "system.slice"
	}
	if !strings.HasSuffix(slice, ".slice") || strings.ContainsAny(slice, "/") || slice == ".slice" {
		return unitPath{}, fmt.Errorf("%s: slice %q is not a systemd slice name like system.slice", field, slice)
	}
	if name == "" || strings.ContainsAny(name+prefix, "/") || name == "." || name == ".." {
		return unitPath{}, fmt.Errorf("%s: name %q (prefix %q) must be non-empty and contain no '/'", field, name, prefix)
	}
	if strings.HasSuffix(name, ".slice") {
		return unitPath{}, fmt.Errorf("%s: name %q: a slice as the container's unit: %w", field, name, ErrNotSupported)
	}
	unit := name + ".scope"
	if prefix != "" {
		unit = prefix + "-" + unit
	}
	return unitPath{slice: slice, unit: unit}, nil
}

// sliceDir expands a slice name to its cgroup path: "a-b.slice" lives in
// "/a.slice/a-b.slice"; "-.slice" is the root.
func sliceDir(slice string) string {
	if slice == "-.slice" {
		return "/"
	}
	base := strings.TrimSuffix(slice, ".slice")
	dir, acc := "/", ""
	for _, part := range strings.Split(base, "-") {
		if acc == "" {
			acc = part
		} else {
			acc += "-" + part
		}
		dir = filepath.Join(dir, acc+".slice")
	}
	return dir
}

// newSystemd is New for the systemd driver.
func newSystemd(cgroupsPath, id string, ann map[string]string) (Manager, error) {
	up, err := parseSystemdPath(cgroupsPath, id)
	if err != nil {
		return nil, err
	}
	props, err := annotationProperties(ann)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat("/run/systemd/system"); err != nil {
		return nil, fmt.Errorf("--systemd-cgroup: %w", ErrNoSystemd)
	}
	if Mode() != "v2" {
		return nil, fmt.Errorf("--systemd-cgroup on a cgroup %s host: %w", Mode(), ErrNotSupported)
	}
	dir := filepath.Join("/sys/fs/cgroup", sliceDir(up.slice), up.unit)
	return &systemdManager{
		manager: newManager(map[string]string{Unified: dir}),
		slice:   up.slice, unit: up.unit, props: props,
	}, nil
}

// loadSystemd is Load for paths holding the Systemd key.
func loadSystemd(paths map[string]string) Manager {
	dir := paths[Systemd]
	m := newManager(map[string]string{Unified: paths[Unified]})
	m.loaded = true
	return &systemdManager{manager: m, unit: filepath.Base(dir)}
}

// Paths adds the Systemd key to the fs paths.
func (m *systemdManager) Paths() map[string]string {
	p := m.manager.Paths()
	p[Systemd] = m.paths[Unified]
	return p
}

// dbusTimeout bounds each D-Bus exchange and job wait; systemd answers in
// milliseconds, but a loaded (or emulated) host can take seconds.
const dbusTimeout = 60 * time.Second

func connect(ctx context.Context) (*sd.Conn, error) {
	c, err := sd.NewWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect to systemd over D-Bus: %w", err)
	}
	return c, nil
}

// Prepare of a new scope gives no handle: systemd creates the scope's
// cgroup itself, around the pid given to Apply. A manager from Load (an
// exec joining the container) prepares like the fs driver.
func (m *systemdManager) Prepare() (*os.File, error) {
	if m.slice != "" {
		return nil, nil
	}
	return m.manager.Prepare()
}

// Apply starts the scope with pid in it. A manager from Load (an exec
// joining the container) has no slice: it joins the existing cgroup.
func (m *systemdManager) Apply(pid int) error {
	if m.slice == "" {
		return m.manager.Apply(pid)
	}
	ctx, cancel := context.WithTimeout(context.Background(), dbusTimeout)
	defer cancel()
	c, err := connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	props := []sd.Property{
		sd.PropDescription("berth container " + strings.TrimSuffix(m.unit, ".scope")),
		sd.PropSlice(m.slice),
		sd.PropPids(uint32(pid)),
		{Name: "Delegate", Value: godbus.MakeVariant(true)},
		{Name: "DefaultDependencies", Value: godbus.MakeVariant(false)},
	}
	props = append(props, m.props...)
	ch := make(chan string, 1)
	if _, err := c.StartTransientUnitContext(ctx, m.unit, "replace", props, ch); err != nil {
		return fmt.Errorf("systemd: start unit %s in %s: %w", m.unit, m.slice, err)
	}
	if err := waitJob(ctx, ch); err != nil {
		return fmt.Errorf("systemd: start unit %s: %w", m.unit, err)
	}
	// The unit's cgroup as systemd reports it, if it differs from the
	// expansion of the slice name.
	if p, err := c.GetUnitTypePropertyContext(ctx, m.unit, "Scope", "ControlGroup"); err == nil {
		if cg, ok := p.Value.Value().(string); ok && cg != "" {
			m.manager = newManager(map[string]string{Unified: filepath.Join("/sys/fs/cgroup", cg)})
		}
	}
	return nil
}

func waitJob(ctx context.Context, ch <-chan string) error {
	select {
	case res := <-ch:
		if res != "done" {
			return fmt.Errorf("job %s", res)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("job: %w", ctx.Err())
	}
}

// Set sets the unit properties for r, then writes the files (fs driver).
func (m *systemdManager) Set(r *specs.LinuxResources) error {
	if r == nil {
		return nil
	}
	if err := Validate(r); err != nil {
		return err
	}
	props, err := resourceProperties(r)
	if err != nil {
		return err
	}
	if len(props) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), dbusTimeout)
		defer cancel()
		c, err := connect(ctx)
		if err != nil {
			return err
		}
		defer c.Close()
		if err := c.SetUnitPropertiesContext(ctx, m.unit, true, props...); err != nil {
			return fmt.Errorf("systemd: set properties of %s: %w", m.unit, err)
		}
	}
	return m.manager.Set(r)
}

// Destroy stops the unit, waits for the job, clears a failed state, and
// removes whatever cgroup directory is left.
func (m *systemdManager) Destroy() error {
	ctx, cancel := context.WithTimeout(context.Background(), dbusTimeout)
	defer cancel()
	c, err := connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	ch := make(chan string, 1)
	if _, err := c.StopUnitContext(ctx, m.unit, "replace", ch); err != nil {
		if !isNoSuchUnit(err) {
			return fmt.Errorf("systemd: stop unit %s: %w", m.unit, err)
		}
	} else if err := waitJob(ctx, ch); err != nil {
		return fmt.Errorf("systemd: stop unit %s: %w", m.unit, err)
	}
	_ = c.ResetFailedUnitContext(ctx, m.unit)
	return m.manager.Destroy()
}

func isNoSuchUnit(err error) bool {
	var de godbus.Error
	if errors.As(err, &de) {
		return strings.HasSuffix(de.Name, ".NoSuchUnit")
	}
	return strings.Contains(err.Error(), "not loaded")
}
