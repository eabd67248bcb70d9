package rootfs

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// openPty opens a pty master on the container's /dev/ptmx (-> pts/ptmx) and
// returns the slave's path. The master stays open for the child's life.
func openPty() (string, error) {
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", err
	}
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		return "", fmt.Errorf("unlock: %w", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		return "", fmt.Errorf("ptn: %w", err)
	}
	return fmt.Sprintf("/dev/pts/%d", n), nil
}

// checkFull runs inside the container after Setup, MountConsole, Finalize.
func checkFull(cs *childSpec, check func(bool, string, ...any)) {
	wd, _ := os.Getwd()
	check(wd == "/", "cwd is %q", wd)
	_, err := os.Stat(cs.Config.Rootfs)
	check(errors.Is(err, os.ErrNotExist), "host rootfs path visible inside: %v", err)

	checkDevices(cs, check)
	checkFS("/proc", unix.PROC_SUPER_MAGIC, false, check)
	checkFS("/sys", unix.SYSFS_MAGIC, true, check)
	checkFS("/dev", unix.TMPFS_MAGIC, false, check)
	checkFS("/dev/shm", unix.TMPFS_MAGIC, false, check)
	checkFS("/dev/pts", unix.DEVPTS_SUPER_MAGIC, false, check)
	checkFS("/dev/mqueue", 0x19800202 /* MQUEUE_MAGIC */, false, check)
	checkFS("/sys/fs/cgroup", unix.TMPFS_MAGIC, true, check)
	checkFS("/sys/fs/cgroup/memory", unix.CGROUP_SUPER_MAGIC, true, check)
	checkFS("/proc/sys", unix.PROC_SUPER_MAGIC, true, check)
	checkFS("/", 0, cs.Config.Readonly, check)
	checkFS("/sys/firmware", unix.TMPFS_MAGIC, true, check)

	for _, p := range []string{"/etc/secret", "/proc/kcore"} {
		b, err := os.ReadFile(p)
		if p == "/proc/kcore" && errors.Is(err, os.ErrNotExist) {
			continue // a kernel without CONFIG_PROC_KCORE
		}
		check(err == nil && len(b) == 0, "masked %s reads %d bytes, %v", p, len(b), err)
	}
	err = os.WriteFile("/newfile", nil, 0o644)
	check(errors.Is(err, syscall.EROFS), "writing to / gave %v, want EROFS", err)
	err = os.WriteFile("/proc/sys/kernel/hostname", []byte("x"), 0)
	check(errors.Is(err, syscall.EROFS), "writing to /proc/sys gave %v, want EROFS", err)

	out, err := exec.Command("/bin/sh", "-c", "cat /etc/hostname; readlink /dev/stdin; ls /dev").CombinedOutput()
	check(err == nil && strings.HasPrefix(string(out), "berth\n/proc/self/fd/0\n"),
		"busybox in the container: %q %v", out, err)
}

// checkDevices checks the nodes, links and the console.
func checkDevices(cs *childSpec, check func(bool, string, ...any)) {
	for _, d := range []struct {
		path         string
		major, minor uint32
	}{{"/dev/null", 1, 3}, {"/dev/zero", 1, 5}, {"/dev/full", 1, 7}, {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0}, {"/dev/fuse", 10, 229}} {
		var st unix.Stat_t
		err := unix.Lstat(d.path, &st)
		check(err == nil && st.Mode&unix.S_IFMT == unix.S_IFCHR &&
			unix.Major(st.Rdev) == d.major && unix.Minor(st.Rdev) == d.minor,
			"%s: mode %o rdev %d:%d %v", d.path, st.Mode, unix.Major(st.Rdev), unix.Minor(st.Rdev), err)
		if !cs.Config.InUserNS {
			check(st.Mode&0o777 == 0o666, "%s: perm %o", d.path, st.Mode&0o777)
		}
	}
	for link, want := range map[string]string{
		"/dev/fd": "/proc/self/fd", "/dev/stdin": "/proc/self/fd/0", "/dev/stdout": "/proc/self/fd/1",
		"/dev/stderr": "/proc/self/fd/2", "/dev/ptmx": "pts/ptmx",
	} {
		got, err := os.Readlink(link)
		check(err == nil && got == want, "%s -> %q (%v), want %q", link, got, err, want)
	}
	if cs.Console {
		var st unix.Stat_t
		err := unix.Stat("/dev/console", &st)
		check(err == nil && st.Mode&unix.S_IFMT == unix.S_IFCHR && unix.Major(st.Rdev) == 136,
			"/dev/console: mode %o major %d %v", st.Mode, unix.Major(st.Rdev), err)
	}
}

// checkFS checks a mount's filesystem type (0: any) and read-only flag.
func checkFS(path string, magic int64, ro bool, check func(bool, string, ...any)) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		check(false, "statfs %s: %v", path, err)
		return
	}
	check(magic == 0 || st.Type == magic, "%s: fs type %#x, want %#x", path, st.Type, magic)
	check(st.Flags&unix.ST_RDONLY != 0 == ro, "%s: read-only is %v, want %v", path, st.Flags&unix.ST_RDONLY != 0, ro)
}
