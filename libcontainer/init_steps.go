package libcontainer

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/berthrt/berth/libcontainer/caps"
	"github.com/berthrt/berth/libcontainer/sys"
	"github.com/berthrt/berth/rootfs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func setHostname(s *specs.Spec) error {
	if s.Hostname != "" {
		if err := unix.Sethostname([]byte(s.Hostname)); err != nil {
			return fmt.Errorf("hostname %q: %w", s.Hostname, err)
		}
	}
	if s.Domainname != "" {
		if err := unix.Setdomainname([]byte(s.Domainname)); err != nil {
			return fmt.Errorf("domainname %q: %w", s.Domainname, err)
		}
	}
	return nil
}

// joinKeyring gives the container its own session keyring (named after the
// container, as runc does) so it cannot see the host's keys.
func joinKeyring(cfg *initConfig) error {
	if cfg.NoNewKeyring {
		return nil
	}
	_, err := unix.KeyctlJoinSessionKeyring(cfg.ID)
	if errors.Is(err, unix.ENOSYS) {
		return nil
	}
	return err
}

func setRlimits(rl []specs.POSIXRlimit) error {
	for i, r := range rl {
		res, ok := sys.Rlimit(r.Type)
		if !ok {
			return fmt.Errorf("process.rlimits[%d].type: %q is not a resource limit", i, r.Type)
		}
		lim := unix.Rlimit{Cur: r.Soft, Max: r.Hard}
		if err := unix.Prlimit(0, res, &lim, nil); err != nil {
			return fmt.Errorf("process.rlimits[%d]: %s %d/%d%s: %w", i, r.Type, r.Soft, r.Hard, rlimitHint(r, res, err), err)
		}
	}
	return nil
}

// rlimitHint says why the kernel refused a limit, before the errno (which
// the parent prints last): raising a hard limit needs CAP_SYS_RESOURCE in
// the host's user namespace, and RLIMIT_NOFILE is capped by fs.nr_open.
func rlimitHint(r specs.POSIXRlimit, res int, err error) string {
	if !errors.Is(err, unix.EPERM) {
		return ""
	}
	if res == unix.RLIMIT_NOFILE {
		if b, rerr := os.ReadFile("/proc/sys/fs/nr_open"); rerr == nil {
			if max, perr := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); perr == nil && r.Hard > max {
				return fmt.Sprintf(" (above fs.nr_open, %d)", max)
			}
		}
	}
	var cur unix.Rlimit
	if unix.Prlimit(0, res, nil, &cur) == nil && r.Hard > cur.Max {
		return fmt.Sprintf(" (the hard limit is %d here and can only be raised with CAP_SYS_RESOURCE)", cur.Max)
	}
	return ""
}

// makeCwd creates process.cwd if missing; we are pivoted, so the path
// resolves inside the rootfs (through handles: see rootfs.MakeCwd).
func makeCwd(cwd string) error {
	if err := rootfs.MakeCwd(cwd); err != nil {
		return fmt.Errorf("process.cwd %q: %w", cwd, err)
	}
	return nil
}

func setNoNewPrivs(on bool) error {
	if !on {
		return nil
	}
	return unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
}

// switchUser becomes process.user and sets the capabilities. Order: the
// bounding set is cut while we still hold CAP_SETPCAP; KEEPCAPS keeps the
// permitted set across setresuid so capset can still raise what is asked.
func switchUser(p *specs.Process) error {
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("set keepcaps: %w", err)
	}
	var bounding []string
	if p.Capabilities != nil {
		bounding = p.Capabilities.Bounding
	}
	if err := caps.DropBounding(bounding); err != nil {
		return err
	}
	if err := setUser(p.User); err != nil {
		return err
	}
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("clear keepcaps: %w", err)
	}
	if p.User.Umask != nil {
		unix.Umask(int(*p.User.Umask))
	} else {
		unix.Umask(0o022)
	}
	return caps.Apply(p.Capabilities)
}

func setUser(u specs.User) error {
	gids := make([]int, len(u.AdditionalGids))
	for i, g := range u.AdditionalGids {
		gids[i] = int(g)
	}
	// In a user namespace with setgroups denied only an empty list is moot.
	if err := unix.Setgroups(gids); err != nil && !(errors.Is(err, unix.EPERM) && len(gids) == 0) {
		return fmt.Errorf("process.user.additionalGids %v: %w", u.AdditionalGids, err)
	}
	if err := unix.Setresgid(int(u.GID), int(u.GID), int(u.GID)); err != nil {
		return fmt.Errorf("process.user.gid %d: %w", u.GID, err)
	}
	if err := unix.Setresuid(int(u.UID), int(u.UID), int(u.UID)); err != nil {
		return fmt.Errorf("process.user.uid %d: %w", u.UID, err)
	}
	return nil
}

// processEnv is process.env plus HOME from the container's /etc/passwd when
// the config does not set it (as runc does).
func processEnv(p *specs.Process) []string {
	env := append([]string(nil), p.Env...)
	for _, e := range env {
		if strings.HasPrefix(e, "HOME=") {
			return env
		}
	}
	return append(env, "HOME="+homeOf(p.User.UID))
}

func homeOf(uid uint32) string {
	f, err := os.Open("/etc/passwd")
	if err != nil {
		return "/"
	}
	defer f.Close()
	want := strconv.FormatUint(uint64(uid), 10)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) >= 6 && fields[2] == want && fields[5] != "" {
			return fields[5]
		}
	}
	return "/"
}

// lookPath finds the executable with the container's PATH, so a typo is
// reported at create, not after start.
func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		if err := checkExec(name); err != nil {
			return "", fmt.Errorf("process.args[0]: %q: %w", name, err)
		}
		return name, nil
	}
	path := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if checkExec(p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("process.args[0]: %q: executable file not found in $PATH", name)
}

func checkExec(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return unwrapPathErr(err)
	}
	if fi.IsDir() {
		return unix.EISDIR
	}
	return unix.Access(p, unix.X_OK)
}

func closeExecFrom(fd int) error { return sys.CloseExecFrom(fd) }
