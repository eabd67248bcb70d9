// Package cgroups places container processes in control groups and manages
// them. It imports nothing of berth.
//
// A Manager owns one container's cgroup: one directory in every mounted
// hierarchy (each cgroup v1 hierarchy, and the cgroup2 one). It creates the
// directories, moves a process in, applies linux.resources, freezes and
// thaws, reads stats, reports OOM kills, lists pids and removes the
// directories. Three drivers: v1 (one directory per hierarchy, on v1 and
// hybrid hosts), v2 (the unified hierarchy; v1 values translated as runc
// does; devices as an eBPF program) and systemd (a transient scope unit
// over D-Bus, on v2 hosts).
//
// Paths are resolved once, in New, from /proc/self/mountinfo (parsed once
// per process) and /proc/self/cgroup; Paths and Load round-trip them through
// state.json so later commands touch no mount table at all.
package cgroups

import (
	"errors"
	"os"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Manager manages the cgroup of one container in every mounted hierarchy.
//
// Set takes a linux.resources object and applies the fields that are set,
// so `update` and `create` share one path.
type Manager interface {
	// Apply creates the cgroup directory in every hierarchy (parents
	// included) and moves pid into it by writing cgroup.procs.
	Apply(pid int) error
	// Prepare creates the cgroup directories without moving any process
	// and returns a handle of the unified one for creating a process
	// directly inside it (clone3 CLONE_INTO_CGROUP; the caller closes it).
	// The handle is nil, with no error, where that is not possible: no
	// cgroup2 hierarchy, or a systemd scope, which systemd starts around
	// an existing pid (use Apply).
	Prepare() (*os.File, error)
	// Join moves pid, created inside the unified directory from Prepare,
	// into the other hierarchies' directories (those of a hybrid host).
	Join(pid int) error
	// Kill SIGKILLs every process of the cgroup and its sub-cgroups in
	// one step through cgroup.kill; it wraps ErrNotSupported when the
	// cgroup has none (cgroup v1, Linux < 5.14), and the caller then
	// signals pid by pid.
	Kill() error
	// Set validates r and applies every field that is set; nil fields are
	// left alone. A non-nil devices list is rewritten whole: deny all, the
	// given rules in order, then the rules from AllowedDevices. A value the
	// host cannot apply is an error naming its JSON field (wrapping
	// ErrNotMounted or ErrNotSupported); nil r is a no-op.
	Set(r *specs.LinuxResources) error
	// Pids returns every pid in the container cgroup and its sub-cgroups.
	Pids() ([]int, error)
	// FreezerState returns "THAWED", "FREEZING" or "FROZEN", or "" when no
	// freezer is available.
	FreezerState() (string, error)
	// Freeze freezes (true) or thaws (false) every process of the cgroup
	// and returns once the kernel reports it done.
	Freeze(frozen bool) error
	// Stats reads the cgroup's accounting, in runc's `events` schema.
	Stats() (*Stats, error)
	// OOMEvents returns a channel that receives a value each time the
	// kernel reports an OOM in the cgroup; it is pushed by the kernel
	// (an eventfd), not polled. The channel is closed when the cgroup is
	// removed.
	OOMEvents() (<-chan struct{}, error)
	// Destroy removes the cgroup directories, sub-cgroups first. A cgroup
	// already gone is not an error.
	Destroy() error
	// Exists reports whether any of the cgroup directories exists.
	Exists() bool
	// Paths returns hierarchy key -> absolute directory, for saving in
	// state.json and handing back to Load. Keys are controller names
	// ("memory", "cpu"...), named hierarchies ("name=systemd") and Unified.
	Paths() map[string]string
}

// Unified is the Paths key of the cgroup2 (unified) hierarchy, both on a
// pure v2 host and for the cgroup2 mount of a hybrid one.
const Unified = "unified"

// ErrNotSupported is wrapped by errors for resources berth cannot apply.
var ErrNotSupported = errors.New("not supported by berth")

// Mode reports the cgroup layout of the host: "v2" when /sys/fs/cgroup is
// cgroup2, "hybrid" when v1 hierarchies are mounted there alongside a cgroup2
// mount at /sys/fs/cgroup/unified, and "v1" otherwise. The answer is computed
// once per process.
func Mode() string {
	return mode()
}

var mode = sync.OnceValue(func() string {
	if isCgroup2("/sys/fs/cgroup") {
		return "v2"
	}
	if isCgroup2("/sys/fs/cgroup/unified") {
		return "hybrid"
	}
	return "v1"
})

func isCgroup2(path string) bool {
	var st unix.Statfs_t
	for {
		err := unix.Statfs(path, &st)
		if err == unix.EINTR {
			continue
		}
		return err == nil && st.Type == unix.CGROUP2_SUPER_MAGIC
	}
}

// New resolves the cgroup of container id in every mounted hierarchy,
// without creating anything; Apply creates it.
//
// cgroupsPath follows runc's cgroupfs driver: empty means the relative path
// "<id>"; an absolute path is taken from each hierarchy's mount point; a
// relative path is taken from this process's own cgroup in each hierarchy
// (on a pure cgroup v2 host from its parent, as runc does, because the own
// cgroup already holds processes). A path climbing out of its base with
// ".." is rejected, not cleaned.
//
// With Options.Systemd the systemd driver is used instead: cgroupsPath is
// "slice:prefix:name" and the cgroup is a transient scope unit.
func New(cgroupsPath, id string, opts ...Options) (Manager, error) {
	if len(opts) > 0 && opts[0].Systemd {
		return newSystemd(cgroupsPath, id, opts[0].Annotations)
	}
	mounts, err := hostMounts()
	if err != nil {
		return nil, err
	}
	own, err := readOwnCgroups()
	if err != nil {
		return nil, err
	}
	paths, err := resolve(cgroupsPath, id, mounts, own)
	if err != nil {
		return nil, err
	}
	return newManager(paths), nil
}

// Load rebuilds a Manager from the map returned by Paths. The map is copied.
func Load(paths map[string]string) Manager {
	if _, ok := paths[Systemd]; ok {
		return loadSystemd(paths)
	}
	cp := make(map[string]string, len(paths))
	for k, v := range paths {
		cp[k] = v
	}
	m := newManager(cp)
	m.loaded = true
	return m
}
