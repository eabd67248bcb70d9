package libcontainer

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"unsafe"

	"github.com/berthrt/berth/libcontainer/spec"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The process attributes of config.json that take one syscall each. All
// but oom_score_adj are per thread: the init runs them on the thread that
// will exec (Init's caller locked it), and execve keeps them.

// setOOMScoreAdj writes process.oomScoreAdj for the stub, in the parent,
// before the stub reads its bootstrap: that is before it makes any
// namespace (in a new user namespace it could only raise the value), and
// everything it forks inherits it (runc does the same, from its stub).
// /proc is the host's; the file is opened through a verified procfs handle.
func setOOMScoreAdj(pid int, adj *int) error {
	if adj == nil {
		return nil
	}
	proc, err := openProc()
	if err != nil {
		return fmt.Errorf("process.oomScoreAdj: %w", err)
	}
	defer unix.Close(proc)
	rel := strconv.Itoa(pid) + "/oom_score_adj"
	fd, err := openBeneath(proc, rel, unix.O_WRONLY)
	if err != nil {
		return fmt.Errorf("process.oomScoreAdj: open /proc/%s: %w", rel, err)
	}
	defer unix.Close(fd)
	if _, err := unix.Write(fd, []byte(strconv.Itoa(*adj))); err != nil {
		if errors.Is(err, unix.EACCES) {
			own, _ := os.ReadFile("/proc/self/oom_score_adj")
			return fmt.Errorf("process.oomScoreAdj: %d (going below the minimum needs CAP_SYS_RESOURCE, which berth lacks; berth's own value is %s): %w",
				*adj, strings.TrimSpace(string(own)), err)
		}
		return fmt.Errorf("process.oomScoreAdj: %d: %w", *adj, err)
	}
	return nil
}

// writeSysctls writes linux.sysctl inside the container. It must run after
// the rootfs is set up (the container's own procfs is on /proc, and its
// net, ipc and uts namespaces are the ones the files act on) and before
// Finalize, which makes /proc/sys read-only. Validate has refused every
// sysctl of a namespace the container does not own.
func writeSysctls(sysctl map[string]string) error {
	if len(sysctl) == 0 {
		return nil
	}
	dir, err := openProcSys()
	if err != nil {
		return fmt.Errorf("linux.sysctl: %w", err)
	}
	defer unix.Close(dir)
	for _, key := range slices.Sorted(maps.Keys(sysctl)) {
		if err := writeSysctl(dir, key, sysctl[key]); err != nil {
			return fmt.Errorf("linux.sysctl[%q]: %w", key, err)
		}
	}
	return nil
}

// openProcSys opens /proc/sys of the container's procfs, checking that /proc
// is the root of a procfs (not a directory of the rootfs, nor a bind of
// part of one) and that nothing is mounted over /proc/sys.
func openProcSys() (int, error) {
	proc, err := openProc()
	if err != nil {
		return -1, err
	}
	defer unix.Close(proc)
	dir, err := openBeneath(proc, "sys", unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return -1, fmt.Errorf("open /proc/sys: %w", err)
	}
	return dir, nil
}

// openProc opens /proc, checking that it is the root of a procfs mount.
// Files under it are then opened with openBeneath, which cannot be
// redirected by a symlink or a mount.
func openProc() (int, error) {
	proc, err := unix.Open("/proc", unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open /proc: %w", err)
	}
	var st unix.Stat_t
	if err := checkProcfs(proc); err != nil {
		unix.Close(proc)
		return -1, fmt.Errorf("/proc: %w", err)
	}
	if err := unix.Fstat(proc, &st); err != nil || st.Ino != procRootIno {
		unix.Close(proc)
		return -1, errors.New("/proc is not the root of a procfs mount")
	}
	return proc, nil
}

// procRootIno is the inode number of a procfs root (PROC_ROOT_INO).
const procRootIno = 1

func checkProcfs(fd int) error {
	var sf unix.Statfs_t
	if err := unix.Fstatfs(fd, &sf); err != nil {
		return err
	}
	if sf.Type != unix.PROC_SUPER_MAGIC {
		return fmt.Errorf("not on a procfs (filesystem magic %#x)", sf.Type)
	}
	return nil
}

// openBeneath opens path under dir, refusing to leave it, to follow any
// symlink or to cross a mount point.
func openBeneath(dir int, path string, flags int) (int, error) {
	how := unix.OpenHow{
		Flags:   uint64(flags | unix.O_CLOEXEC | unix.O_NOFOLLOW),
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV,
	}
	for {
		fd, err := unix.Openat2(dir, path, &how)
		if err != unix.EINTR && err != unix.EAGAIN {
			return fd, err
		}
	}
}

func writeSysctl(dir int, key, value string) error {
	rel, err := spec.SysctlPath(key)
	if err != nil {
		return err
	}
	fd, err := openBeneath(dir, rel, unix.O_WRONLY)
	if err != nil {
		return fmt.Errorf("open /proc/sys/%s: %w", rel, err)
	}
	defer unix.Close(fd)
	if err := checkProcfs(fd); err != nil {
		return fmt.Errorf("/proc/sys/%s: %w", rel, err)
	}
	if _, err := unix.Write(fd, []byte(value)); err != nil {
		return fmt.Errorf("write %q to /proc/sys/%s: %w", value, rel, err)
	}
	return nil
}

// setScheduler applies process.scheduler. It needs CAP_SYS_NICE for the
// real-time and deadline policies and for a negative nice value, so it
// runs before the user switch drops the capabilities (as runc does).
func setScheduler(sc *specs.Scheduler) error {
	if sc == nil {
		return nil
	}
	if err := unix.SchedSetAttr(0, spec.SchedAttr(sc), 0); err != nil {
		if hint := schedHint(sc, err); hint != "" {
			return fmt.Errorf("process.scheduler: sched_setattr(%s) (%s): %w", sc.Policy, hint, err)
		}
		return fmt.Errorf("process.scheduler: sched_setattr(%s): %w", sc.Policy, err)
	}
	return nil
}

// schedHint says what sched_setattr lacked, for the errors it gives for
// want of privilege. The hint goes before the errno: the parent prints the
// errno last.
func schedHint(sc *specs.Scheduler, err error) string {
	switch {
	case !errors.Is(err, unix.EPERM) && !errors.Is(err, unix.EBUSY):
		return ""
	case sc.Policy == specs.SchedFIFO || sc.Policy == specs.SchedRR:
		return "needs CAP_SYS_NICE in the host's user namespace and, with cgroup v1 real-time group scheduling, " +
			"real-time runtime in the container's cpu cgroup: linux.resources.cpu.realtimeRuntime"
	case sc.Policy == specs.SchedDeadline && errors.Is(err, unix.EBUSY):
		return "the CPUs cannot admit that much runtime per period"
	case sc.Policy == specs.SchedDeadline:
		return "needs CAP_SYS_NICE in the host's user namespace, and an affinity and cpuset spanning all CPUs"
	case sc.Nice < 0:
		return "a negative nice value needs CAP_SYS_NICE"
	}
	return ""
}

// ioprioWhoProcess is IOPRIO_WHO_PROCESS: with id 0, the calling thread.
const ioprioWhoProcess = 1

// setIOPriority applies process.ioPriority. The real-time class needs
// CAP_SYS_ADMIN or CAP_SYS_NICE, so this runs before the user switch.
func setIOPriority(io *specs.LinuxIOPriority) error {
	if io == nil {
		return nil
	}
	_, _, e := unix.Syscall(unix.SYS_IOPRIO_SET, ioprioWhoProcess, 0, uintptr(spec.IOPrio(io)))
	if e != 0 {
		return fmt.Errorf("process.ioPriority: ioprio_set(%s, %d): %w", io.Class, io.Priority, e)
	}
	return nil
}

// resetCPUAffinity lets the process run on every CPU its cgroup allows,
// whatever berth itself was restricted to (taskset): since Linux 6.2 moving
// into a cgroup no longer resets the affinity, so runc resets it too.
// process.execCPUAffinity is for `berth exec` only (config.md: "not
// applicable to the container's init process").
func resetCPUAffinity() error {
	var all unix.CPUSet
	for cpu := range len(all) * 64 {
		all.Set(cpu)
	}
	if err := unix.SchedSetaffinity(0, &all); err != nil {
		return fmt.Errorf("sched_setaffinity: %w", err)
	}
	return nil
}

// setPersonality applies linux.personality.
func setPersonality(p *specs.LinuxPersonality) error {
	if p == nil {
		return nil
	}
	if _, _, e := unix.Syscall(unix.SYS_PERSONALITY, uintptr(spec.Personality(p)), 0, 0); e != 0 {
		return fmt.Errorf("linux.personality: personality(%s): %w", p.Domain, e)
	}
	return nil
}

// setMemoryPolicy applies linux.memoryPolicy with set_mempolicy(2).
func setMemoryPolicy(mp *specs.LinuxMemoryPolicy) error {
	if mp == nil {
		return nil
	}
	mode, mask, err := spec.MemPolicy(mp)
	if err != nil {
		return fmt.Errorf("linux.memoryPolicy: %w", err)
	}
	var ptr, maxnode uintptr
	if len(mask) > 0 {
		// The kernel reads maxnode-1 bits.
		ptr, maxnode = uintptr(unsafe.Pointer(&mask[0])), uintptr(len(mask)*64+1)
	}
	if _, _, e := unix.Syscall(unix.SYS_SET_MEMPOLICY, uintptr(mode), ptr, maxnode); e != 0 {
		hint := ""
		if e == unix.EINVAL && mp.Nodes != "" {
			hint = " (the nodes allowed here are " + memsAllowed() + ")"
		}
		return fmt.Errorf("linux.memoryPolicy: set_mempolicy(%s, nodes %q)%s: %w", mp.Mode, mp.Nodes, hint, e)
	}
	return nil
}

// memsAllowed returns the NUMA nodes this process may use, from its
// cpuset as /proc/self/status lists them.
func memsAllowed() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Mems_allowed_list:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
