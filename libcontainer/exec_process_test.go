package libcontainer

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func baseProcess() *specs.Process {
	return &specs.Process{
		Args: []string{"sleep", "100"},
		Cwd:  "/",
		Env:  []string{"PATH=/usr/bin:/bin", "TERM=xterm"},
		User: specs.User{UID: 0, GID: 0, AdditionalGids: []uint32{5}},
		Capabilities: &specs.LinuxCapabilities{
			Bounding:  []string{"CAP_KILL"},
			Effective: []string{"CAP_KILL"},
			Permitted: []string{"CAP_KILL"},
		},
		Rlimits:         []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 1024, Hard: 1024}},
		NoNewPrivileges: true,
		Terminal:        true,
		ConsoleSize:     &specs.Box{Height: 10, Width: 10},
	}
}

func TestMergeProcessDefaults(t *testing.T) {
	base := baseProcess()
	p, err := MergeProcess(base, &ProcessFlags{Args: []string{"id"}})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p.Args, []string{"id"}) || p.Cwd != "/" || !p.NoNewPrivileges {
		t.Fatalf("merged = %+v", p)
	}
	if !reflect.DeepEqual(p.Env, base.Env) || !reflect.DeepEqual(p.Rlimits, base.Rlimits) ||
		!reflect.DeepEqual(p.Capabilities, base.Capabilities) {
		t.Fatalf("config values lost: %+v", p)
	}
	// The terminal is exec's own choice (--tty), not the config's.
	if p.Terminal || p.ConsoleSize != nil {
		t.Fatalf("terminal taken from the config: %+v", p)
	}
}

func TestMergeProcessFlags(t *testing.T) {
	base := baseProcess()
	off := false
	p, err := MergeProcess(base, &ProcessFlags{
		Args: []string{"sh"}, Cwd: "/tmp", Env: []string{"FOO=bar", "PATH=/bin"},
		User: "1000:2000", AdditionalGids: []int64{10, 20}, Caps: []string{"CAP_SYS_ADMIN", "net_raw"},
		Tty: true, NoNewPrivs: &off,
	})
	if err != nil {
		t.Fatal(err)
	}
	if p.Cwd != "/tmp" || p.User.UID != 1000 || p.User.GID != 2000 || !p.Terminal || p.NoNewPrivileges {
		t.Fatalf("flags not applied: %+v", p)
	}
	if want := []string{"PATH=/bin", "TERM=xterm", "FOO=bar"}; !reflect.DeepEqual(p.Env, want) {
		t.Errorf("env = %v, want %v", p.Env, want)
	}
	if want := []uint32{5, 10, 20}; !reflect.DeepEqual(p.User.AdditionalGids, want) {
		t.Errorf("gids = %v, want %v", p.User.AdditionalGids, want)
	}
	want := []string{"CAP_KILL", "CAP_SYS_ADMIN", "CAP_NET_RAW"}
	c := p.Capabilities
	for name, set := range map[string][]string{"bounding": c.Bounding, "effective": c.Effective, "permitted": c.Permitted} {
		if !reflect.DeepEqual(set, want) {
			t.Errorf("%s = %v, want %v", name, set, want)
		}
	}
	// No inheritable set in the config: no ambient (it could not be raised).
	if len(c.Ambient) != 0 {
		t.Errorf("ambient = %v", c.Ambient)
	}
	// The config snapshot's process is left alone.
	if !reflect.DeepEqual(base, baseProcess()) {
		t.Errorf("base modified: %+v", base)
	}
}

func TestMergeProcessUserOnlyUID(t *testing.T) {
	base := baseProcess()
	base.User.GID = 7
	p, err := MergeProcess(base, &ProcessFlags{Args: []string{"id"}, User: "1000"})
	if err != nil {
		t.Fatal(err)
	}
	if p.User.UID != 1000 || p.User.GID != 7 {
		t.Fatalf("user = %+v, want uid 1000 and the config's gid 7", p.User)
	}
}

func TestMergeProcessCapAmbientWithInheritable(t *testing.T) {
	base := baseProcess()
	base.Capabilities.Inheritable = []string{}
	p, err := MergeProcess(base, &ProcessFlags{Args: []string{"id"}, Caps: []string{"CAP_CHOWN"}})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p.Capabilities.Ambient, []string{"CAP_CHOWN"}) {
		t.Fatalf("ambient = %v", p.Capabilities.Ambient)
	}
}

func TestMergeProcessErrors(t *testing.T) {
	cases := []struct {
		name  string
		flags ProcessFlags
		want  string
		is    error
	}{
		{"no command", ProcessFlags{}, "a command is required", nil},
		{"unknown cap", ProcessFlags{Caps: []string{"CAP_BOGUS"}}, `--cap "CAP_BOGUS": not a capability`, nil},
		{"bad uid", ProcessFlags{User: "root"}, `--user "root": uid "root" is not a number`, nil},
		{"bad gid", ProcessFlags{User: "1:x"}, `--user "1:x": gid "x" is not a number`, nil},
		{"negative gid", ProcessFlags{AdditionalGids: []int64{-1}}, "--additional-gids: -1 is not a gid", nil},
		{"relative cwd", ProcessFlags{Cwd: "tmp"}, `process.cwd: "tmp" is not an absolute path`, nil},
		{"bad env", ProcessFlags{Env: []string{"NOVALUE"}}, `process.env[2]: "NOVALUE" is not NAME=value`, nil},
		{"apparmor", ProcessFlags{Apparmor: "x"}, `--apparmor "x"`, ErrNotSupported},
		{"label", ProcessFlags{ProcessLabel: "x"}, `--process-label "x"`, ErrNotSupported},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := c.flags
			if c.name != "no command" {
				f.Args = []string{"true"}
			}
			_, err := MergeProcess(baseProcess(), &f)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Fatalf("err = %v, not %v", err, c.is)
			}
		})
	}
}

func writeProcessFile(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "process.json")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadProcessFile(t *testing.T) {
	p, err := LoadProcessFile(writeProcessFile(t, `{"args": ["sh"], "cwd": "/tmp", "env": ["A=1"],
		"user": {"uid": 5, "gid": 6}, "terminal": true}`))
	if err != nil {
		t.Fatal(err)
	}
	if p.Args[0] != "sh" || p.Cwd != "/tmp" || p.User.UID != 5 || !p.Terminal {
		t.Fatalf("p = %+v", p)
	}
}

func TestLoadProcessFileErrors(t *testing.T) {
	cases := []struct{ body, want string }{
		{`{"args": [], "cwd": "/"}`, "process.json: args: must not be empty"},
		{`{"args": ["sh"]}`, "process.json: cwd: must not be empty"},
		{`{"args": ["sh"], "cwd": "rel"}`, `process.json: cwd: "rel" is not an absolute path`},
		{`{"args": ["sh"], "cwd": "/", "env": ["=x"]}`, `process.json: env[0]: "=x" is not NAME=value`},
		{`{"args": ["sh"], "cwd": "/", "capabilities": {"bounding": ["CAP_KILL", "CAP_NOPE"]}}`,
			`process.json: capabilities.bounding[1]: "CAP_NOPE" is not a capability`},
		{`{"args": ["sh"], "cwd": "/", "capabilities": {"effective": ["CAP_KILL"]}}`,
			`process.json: capabilities.effective[0]: "CAP_KILL" is not in permitted`},
		{`{"args": ["sh"], "cwd": "/", "rlimits": [{"type": "RLIMIT_BOGUS"}]}`,
			`process.json: rlimits[0].type: "RLIMIT_BOGUS" is not a resource limit`},
		{`{"args": ["sh"], "cwd": "/", "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 2, "hard": 1}]}`,
			"process.json: rlimits[0]: soft 2 is above hard 1"},
		{`{"args": ["sh"], "cwd": "/", "apparmorProfile": "p"}`, "process.json: apparmorProfile: not supported by berth"},
		{`{"args": ["sh"], "cwd": "/", "user": {"username": "root"}}`, "process.json: user.username: not supported by berth"},
		{`{"args": "sh"}`, "process.json: "},
	}
	for _, c := range cases {
		_, err := LoadProcessFile(writeProcessFile(t, c.body))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.body, err, c.want)
		}
	}
	if _, err := LoadProcessFile("/nonexistent/process.json"); err == nil || !strings.Contains(err.Error(), "--process") {
		t.Errorf("missing file: err = %v", err)
	}
}

func TestExecCgroupPaths(t *testing.T) {
	root := t.TempDir()
	mk := func(p string) string {
		d := filepath.Join(root, p)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	own := map[string]string{
		"pids": mk("pids/ct"), "memory": mk("memory/ct"),
		"cpu": mk("cpu,cpuacct/ct"), "cpuacct": filepath.Join(root, "cpu,cpuacct/ct"),
	}
	mk("pids/ct/sub")
	mk("cpu,cpuacct/ct/sub")
	mk("memory/ct/sub")

	got, err := execCgroupPaths(own, nil)
	if err != nil || !reflect.DeepEqual(got, own) {
		t.Fatalf("no --cgroup: %v, %v", got, err)
	}
	got, err = execCgroupPaths(own, []string{"pids:sub", "cpu:/sub"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"pids": own["pids"] + "/sub", "memory": own["memory"],
		"cpu": own["cpu"] + "/sub", "cpuacct": own["cpu"] + "/sub"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	got, err = execCgroupPaths(own, []string{"sub"})
	if err != nil || got["memory"] != own["memory"]+"/sub" || got["pids"] != own["pids"]+"/sub" {
		t.Fatalf("every hierarchy: %v, %v", got, err)
	}
	for _, bad := range [][]string{
		{"../.."}, {"pids:../x"}, {"pids:nosuch"}, {"blkio:sub"}, {"pids:sub", "pids:sub"},
		{"sub", "pids:sub"}, {":sub"},
	} {
		if _, err := execCgroupPaths(own, bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func TestExecBootstrapJoinsEveryNamespace(t *testing.T) {
	s := &specs.Spec{Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{
		{Type: specs.PIDNamespace}, {Type: specs.NetworkNamespace, Path: "/var/run/netns/x"},
		{Type: specs.MountNamespace}, {Type: specs.UserNamespace}, {Type: specs.TimeNamespace},
	}}}
	b, err := execBootstrap(s, 7)
	if err != nil {
		t.Fatal(err)
	}
	if b.CloneFlags != 0 {
		t.Errorf("exec creates namespaces: %#x", b.CloneFlags)
	}
	var paths []string
	for _, j := range b.Join {
		paths = append(paths, j.Path)
	}
	// Joined through the handle on the init's ns directory, whatever the
	// config said (the init is in the namespace either way).
	want := []string{"/proc/self/fd/7/pid", "/proc/self/fd/7/net", "/proc/self/fd/7/mnt",
		"/proc/self/fd/7/user", "/proc/self/fd/7/time"}
	if !reflect.DeepEqual(paths, want) {
		t.Errorf("paths = %v, want %v", paths, want)
	}
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "bogus"})
	if _, err := execBootstrap(s, 7); err == nil {
		t.Error("unknown namespace type accepted")
	}
}
