package libcontainer

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/berthrt/berth/libcontainer/spec"
	"github.com/berthrt/berth/rootfs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// A container without a mount namespace inherits the runtime's
// (config-linux.md). Its mounts are made in the host's mount namespace,
// all under one private bind of the rootfs onto itself that create makes
// here, before the init starts, and that delete (or a failed create)
// detaches, taking every mount of the container with it. The bind's mount
// id goes into state.json (State.RootfsMount), so that delete and exec act
// on that bind only, never on whatever else is mounted at the path. See
// rootfs/hostns.go.

// bindHostRootfs makes the bind for a container without a mount namespace
// and pushes its undo; it returns 0 and does nothing for one with a mount
// namespace.
func bindHostRootfs(o *CreateOpts, undo *cleanup) (uint64, error) {
	if spec.Namespace(o.Spec, specs.MountNamespace) != nil {
		return 0, nil
	}
	path := rootfsPath(o.Bundle, o.Spec)
	if other := hostRootfsUser(o.Root, o.ID, path); other != "" {
		return 0, fmt.Errorf("root.path (%s): used by container %q, which has no mount namespace either: a second bind would cover its mounts, and deleting it would leave them behind", path, other)
	}
	id, err := rootfs.BindHostRootfs(path)
	if err != nil {
		return 0, fmt.Errorf("no mount namespace: %w", err)
	}
	undo.push(func() { _ = rootfs.DetachHostRootfs(path, id) })
	return id, nil
}

// hostRootfsUser names another container under root that has its rootfs
// bind on rootfs (the same directory), or returns "".
func hostRootfsUser(root, id, rootfs string) string {
	want, err := filepath.EvalSymlinks(rootfs)
	if err != nil {
		return ""
	}
	cs, _ := List(root)
	for _, c := range cs {
		if c.State.ID == id || c.State.RootfsMount == 0 {
			continue
		}
		if got, err := filepath.EvalSymlinks(c.State.Rootfs); err == nil && got == want {
			return c.State.ID
		}
	}
	return ""
}

// detachHostRootfs undoes bindHostRootfs at delete.
func (c *Container) detachHostRootfs() error {
	if c.State.RootfsMount == 0 {
		return nil
	}
	if err := rootfs.DetachHostRootfs(c.State.Rootfs, c.State.RootfsMount); err != nil {
		return fmt.Errorf("container %q: %w", c.State.ID, err)
	}
	return nil
}

// openHostRootfs opens the rootfs bind of a container without a mount
// namespace, for an exec'd process to chroot into (it joins no mount
// namespace, so it would otherwise run in the host's "/"); nil for a
// container with a mount namespace.
func (c *Container) openHostRootfs() (*os.File, error) {
	if c.State.RootfsMount == 0 {
		return nil, nil
	}
	f, err := rootfs.OpenHostRootfs(c.State.Rootfs, c.State.RootfsMount)
	if err != nil {
		return nil, fmt.Errorf("exec: %w", err)
	}
	return f, nil
}
