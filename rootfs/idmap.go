package rootfs

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Id-mapped mounts (mounts[].uidMappings/gidMappings, the idmap and ridmap
// options) are made in two halves:
//
//  1. PrepareIDMapped, in the runtime's parent, before the init starts:
//     open_tree(OPEN_TREE_CLONE) detaches a copy of the source and
//     mount_setattr(MOUNT_ATTR_IDMAP) gives it the mapping of a user
//     namespace made for it. This must run in the host's user namespace:
//     the kernel wants CAP_SYS_ADMIN over the user namespace owning the
//     source's filesystem, which the container's user namespace lacks;
//  2. mountIDMapped, in the init: move_mount of that tree onto the
//     destination, resolved in the rootfs as every other target.
//
// The mapping follows the runtime-spec: containerID is the id on disk and
// hostID what it becomes through the mount, so a file owned by 1 on disk
// is seen as hostID+1 (and inside a container whose user namespace maps
// 0 to hostID, as 1).

// IDMapped reports whether mounts[i] is id-mapped: it has mappings or the
// idmap/ridmap option.
func IDMapped(m specs.Mount) bool {
	return len(m.UIDMappings) > 0 || len(m.GIDMappings) > 0 || parseMountOptions(m.Options).IDMap
}

// PrepareIDMapped returns, by index in mounts, a detached id-mapped copy of
// every id-mapped bind's source (relative sources are relative to the cwd,
// the bundle). A mount without its own mappings takes the container's
// (uidMap, gidMap). The caller hands the files to the init, for its
// Config.IDMapFds, and closes them once the init has them.
func PrepareIDMapped(mounts []specs.Mount, uidMap, gidMap []specs.LinuxIDMapping) (map[int]*os.File, error) {
	trees := map[int]*os.File{}
	userns := map[string]*os.File{} // one namespace per distinct mapping
	defer func() {
		for _, f := range userns {
			f.Close()
		}
	}()
	for i, m := range mounts {
		if !IDMapped(m) {
			continue
		}
		f, err := idmapTree(m, uidMap, gidMap, userns)
		if err != nil {
			CloseAll(trees)
			return nil, fmt.Errorf("mounts[%d] (%s on %s): id-mapped: %w", i, m.Type, m.Destination, err)
		}
		trees[i] = f
	}
	return trees, nil
}

// CloseAll closes the files PrepareIDMapped returned.
func CloseAll(trees map[int]*os.File) {
	for _, f := range trees {
		f.Close()
	}
}

// idmapTree makes one detached id-mapped tree.
func idmapTree(m specs.Mount, uidMap, gidMap []specs.LinuxIDMapping, userns map[string]*os.File) (*os.File, error) {
	o := parseMountOptions(m.Options)
	uids, gids := m.UIDMappings, m.GIDMappings
	if len(uids) == 0 && len(gids) == 0 {
		uids, gids = uidMap, gidMap
	}
	key := fmt.Sprint(uids, gids)
	ns := userns[key]
	if ns == nil {
		var err error
		if ns, err = newUserns(uids, gids); err != nil {
			return nil, err
		}
		userns[key] = ns
	}
	flags := uint(unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC)
	if m.Type == "rbind" || o.Flags&unix.MS_REC != 0 {
		flags |= unix.AT_RECURSIVE
	}
	fd, err := unix.OpenTree(unix.AT_FDCWD, m.Source, flags)
	if err != nil {
		return nil, fmt.Errorf("open_tree %s: %w", m.Source, err)
	}
	tree := os.NewFile(uintptr(fd), m.Source)
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(ns.Fd())}
	setFlags := uint(unix.AT_EMPTY_PATH)
	if o.IDMapRec {
		setFlags |= unix.AT_RECURSIVE
	}
	if err := unix.MountSetattr(fd, "", setFlags, &attr); err != nil {
		tree.Close()
		return nil, fmt.Errorf("mount_setattr(MOUNT_ATTR_IDMAP) on %s: %w", m.Source, err)
	}
	return tree, nil
}

// newUserns returns an fd on a new user namespace with the given maps. A
// namespace needs a process to be made: a child is cloned into one, stopped
// before it runs any code (PTRACE_TRACEME makes its execve stop), kept just
// long enough to open its /proc/<pid>/ns/user, then killed. Go writes the
// maps between the clone and the execve.
func newUserns(uids, gids []specs.LinuxIDMapping) (*os.File, error) {
	p, err := os.StartProcess("/proc/self/exe", []string{"berth-idmap"}, &os.ProcAttr{
		Sys: &syscall.SysProcAttr{
			Cloneflags:  unix.CLONE_NEWUSER,
			UidMappings: sysIDMap(uids),
			GidMappings: sysIDMap(gids),
			Ptrace:      true,
			Pdeathsig:   unix.SIGKILL,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("make a user namespace for the mapping: %w", err)
	}
	defer func() {
		p.Kill()
		p.Wait()
	}()
	f, err := os.Open("/proc/" + strconv.Itoa(p.Pid) + "/ns/user")
	if err != nil {
		return nil, fmt.Errorf("open the mapping's user namespace: %w", err)
	}
	return f, nil
}

func sysIDMap(m []specs.LinuxIDMapping) []syscall.SysProcIDMap {
	out := make([]syscall.SysProcIDMap, len(m))
	for i, e := range m {
		out[i] = syscall.SysProcIDMap{ContainerID: int(e.ContainerID), HostID: int(e.HostID), Size: int(e.Size)}
	}
	return out
}

// moveMount attaches the detached tree fd onto the file h holds.
func moveMount(fd int, h *os.File) error {
	for {
		err := unix.MoveMount(fd, "", int(h.Fd()), "",
			unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("move_mount: %w", err)
		}
		return nil
	}
}
