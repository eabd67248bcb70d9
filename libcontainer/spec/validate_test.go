package spec

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// bundleDir makes a bundle directory with an empty rootfs.
func bundleDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "rootfs"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestExampleValidates(t *testing.T) {
	if err := Validate(Example(), bundleDir(t)); err != nil {
		t.Fatal(err)
	}
}

func TestToRootless(t *testing.T) {
	s := Example()
	ToRootless(s)
	if err := Validate(s, bundleDir(t)); err != nil {
		t.Fatal(err)
	}
	if Namespace(s, specs.NetworkNamespace) != nil || !NewNamespace(s, specs.UserNamespace) {
		t.Errorf("namespaces = %v", s.Linux.Namespaces)
	}
	if m := s.Linux.UIDMappings; len(m) != 1 || m[0].HostID != uint32(os.Geteuid()) || m[0].Size != 1 {
		t.Errorf("uidMappings = %v", m)
	}
	if s.Linux.Resources != nil {
		t.Error("resources kept")
	}
	for _, m := range s.Mounts {
		if m.Destination == "/sys" && (m.Type != "none" || m.Source != "/sys" || m.Options[0] != "rbind") {
			t.Errorf("/sys mount = %+v", m)
		}
		for _, o := range m.Options {
			if strings.HasPrefix(o, "gid=") || strings.HasPrefix(o, "uid=") {
				t.Errorf("%s keeps %s", m.Destination, o)
			}
		}
	}
}

type validateCase struct {
	name   string
	mutate func(s *specs.Spec)
	want   string
}

var validateCases = []validateCase{
	{"no version", func(s *specs.Spec) { s.Version = "" }, `ociVersion: must be set`},
	{"version 2", func(s *specs.Spec) { s.Version = "2.0.0" }, `ociVersion: "2.0.0" is not supported (berth implements 1.x)`},
	{"no root", func(s *specs.Spec) { s.Root = nil }, `root.path: must be set`},
	{"empty root", func(s *specs.Spec) { s.Root.Path = "" }, `root.path: must be set`},
	{"no args", func(s *specs.Spec) { s.Process.Args = nil }, `process.args: must not be empty`},
	{"relative cwd", func(s *specs.Spec) { s.Process.Cwd = "rel" }, `process.cwd: "rel" is not an absolute path`},
	{"empty cwd", func(s *specs.Spec) { s.Process.Cwd = "" }, `process.cwd: "" is not an absolute path`},
	{"env without =", func(s *specs.Spec) { s.Process.Env = append(s.Process.Env, "FOO") }, `process.env[2]: "FOO" has no '='`},
	{"env empty name", func(s *specs.Spec) { s.Process.Env[0] = "=x" }, `process.env[0]: "=x" has an empty name`},
	{"env NUL", func(s *specs.Spec) { s.Process.Env[1] = "A=\x00" }, `process.env[1]: "A=\x00" contains a NUL byte`},
	{"bad cap", func(s *specs.Spec) { s.Process.Capabilities.Bounding[1] = "CAP_FOO" },
		`process.capabilities.bounding[1]: "CAP_FOO" is not a capability`},
	{"bad ambient name", func(s *specs.Spec) { s.Process.Capabilities.Ambient = []string{"kill"} },
		`process.capabilities.ambient[0]: "kill" is not a capability`},
	{"effective not permitted", func(s *specs.Spec) { s.Process.Capabilities.Effective[2] = "CAP_CHOWN" },
		`process.capabilities.effective[2]: "CAP_CHOWN" is not in permitted`},
	{"bad rlimit", func(s *specs.Spec) { s.Process.Rlimits[0].Type = "RLIMIT_X" },
		`process.rlimits[0].type: "RLIMIT_X" is not a resource limit`},
	{"rlimit twice", func(s *specs.Spec) { s.Process.Rlimits = append(s.Process.Rlimits, s.Process.Rlimits[0]) },
		`process.rlimits[1].type: "RLIMIT_NOFILE" is listed twice`},
	{"soft above hard", func(s *specs.Spec) { s.Process.Rlimits[0].Soft = 2048 },
		`process.rlimits[0]: soft 2048 is above hard 1024`},
	{"bad namespace", func(s *specs.Spec) { s.Linux.Namespaces[2].Type = "foo" },
		`linux.namespaces[2].type: "foo" is not a namespace`},
	{"namespace twice", func(s *specs.Spec) { s.Linux.Namespaces[3].Type = "pid" },
		`linux.namespaces[3].type: "pid" is listed twice`},
	{"relative ns path", func(s *specs.Spec) { s.Linux.Namespaces[1].Path = "proc/1/ns/net" },
		`linux.namespaces[1].path: "proc/1/ns/net" is not an absolute path`},
	{"missing ns path", func(s *specs.Spec) { s.Linux.Namespaces[1].Path = "/nonexistent/net" },
		`linux.namespaces[1].path: "/nonexistent/net" does not exist`},
	{"hostname without uts", func(s *specs.Spec) { dropNS(s, specs.UTSNamespace) },
		`hostname: "berth" is set but there is no uts namespace`},
	{"domainname without uts", func(s *specs.Spec) { dropNS(s, specs.UTSNamespace); s.Hostname = ""; s.Domainname = "d" },
		`domainname: "d" is set but there is no uts namespace`},
	{"uid mappings without userns", func(s *specs.Spec) { s.Linux.UIDMappings = idmap(0, 1000, 1) },
		`linux.uidMappings: set but there is no user namespace`},
	{"gid mappings without userns", func(s *specs.Spec) { s.Linux.GIDMappings = idmap(0, 1000, 1) },
		`linux.gidMappings: set but there is no user namespace`},
	{"userns without uid mappings", func(s *specs.Spec) { addNS(s, specs.UserNamespace, "") },
		`linux.uidMappings: must be set for a new user namespace`},
	{"userns without gid mappings", func(s *specs.Spec) {
		addNS(s, specs.UserNamespace, "")
		s.Linux.UIDMappings = idmap(0, 1000, 1)
	}, `linux.gidMappings: must be set for a new user namespace`},
	{"mapping size 0", func(s *specs.Spec) {
		addNS(s, specs.UserNamespace, "")
		s.Linux.UIDMappings, s.Linux.GIDMappings = idmap(0, 1000, 0), idmap(0, 1000, 1)
	}, `linux.uidMappings[0].size: must not be 0`},
	{"uid not mapped", func(s *specs.Spec) {
		addNS(s, specs.UserNamespace, "")
		s.Linux.UIDMappings, s.Linux.GIDMappings = idmap(1, 1000, 10), idmap(0, 1000, 1)
	}, `process.user.uid: 0 is not mapped by linux.uidMappings`},
	{"gid not mapped", func(s *specs.Spec) {
		addNS(s, specs.UserNamespace, "")
		s.Process.User.GID = 5
		s.Linux.UIDMappings, s.Linux.GIDMappings = idmap(0, 1000, 10), idmap(0, 1000, 5)
	}, `process.user.gid: 5 is not mapped by linux.gidMappings`},
	{"time offsets without timens", func(s *specs.Spec) { s.Linux.TimeOffsets = offsets("monotonic", 0) },
		`linux.timeOffsets: set but there is no new time namespace`},
	{"time offsets with joined timens", func(s *specs.Spec) {
		addNS(s, specs.TimeNamespace, "/proc/self/ns/time")
		s.Linux.TimeOffsets = offsets("monotonic", 0)
	}, `linux.timeOffsets: set but there is no new time namespace`},
	{"bad clock", func(s *specs.Spec) {
		addNS(s, specs.TimeNamespace, "")
		s.Linux.TimeOffsets = offsets("realtime", 0)
	}, `linux.timeOffsets: "realtime" is not a clock (monotonic or boottime)`},
	{"bad nanosecs", func(s *specs.Spec) {
		addNS(s, specs.TimeNamespace, "")
		s.Linux.TimeOffsets = offsets("boottime", 1e9)
	}, `linux.timeOffsets.boottime.nanosecs: 1000000000 is not below 1000000000`},
	{"empty destination", func(s *specs.Spec) { s.Mounts[4].Destination = "" }, `mounts[4].destination: must be set`},
	{"bad propagation", func(s *specs.Spec) { s.Linux.RootfsPropagation = "rshared2" },
		`linux.rootfsPropagation: "rshared2" is not a propagation mode`},
	{"relative masked path", func(s *specs.Spec) { s.Linux.MaskedPaths[3] = "proc/keys" },
		`linux.maskedPaths[3]: "proc/keys" is not an absolute path`},
	{"relative readonly path", func(s *specs.Spec) { s.Linux.ReadonlyPaths[0] = "" },
		`linux.readonlyPaths[0]: "" is not an absolute path`},
	{"relative device", func(s *specs.Spec) { s.Linux.Devices = []specs.LinuxDevice{{Path: "dev/x", Type: "c"}} },
		`linux.devices[0].path: "dev/x" is not an absolute path`},
	{"bad device type", func(s *specs.Spec) { s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/x", Type: "x"}} },
		`linux.devices[0].type: "x" is not a device type (c, b, u or p)`},
	{"bad cgroup device type", func(s *specs.Spec) { s.Linux.Resources.Devices[0].Type = "u" },
		`linux.resources.devices[0].type: "u" is not a device type (a, b or c)`},
	{"bad cgroup device access", func(s *specs.Spec) { s.Linux.Resources.Devices[0].Access = "rwx" },
		`linux.resources.devices[0].access: "rwx" is not made of r, w and m`},
	{"bad seccomp action", func(s *specs.Spec) {
		s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: "SCMP_ACT_FOO"}
	}, `linux.seccomp.defaultAction: "SCMP_ACT_FOO" is not a seccomp action`},
	{"relative hook path", func(s *specs.Spec) { s.Hooks = &specs.Hooks{Prestart: []specs.Hook{{Path: "true"}}} },
		`hooks.prestart[0].path: "true" is not an absolute path`},
	{"missing hook", func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/bin/true"}, {Path: "/no/such/hook"}}}
	}, `hooks.createRuntime[1].path: "/no/such/hook" does not exist`},
	{"hook timeout", func(s *specs.Spec) {
		zero := 0
		s.Hooks = &specs.Hooks{Poststop: []specs.Hook{{Path: "/bin/true", Timeout: &zero}}}
	}, `hooks.poststop[0].timeout: 0 is not a positive number of seconds`},
	{"no linux section", func(s *specs.Spec) { s.Linux = nil; s.Hostname = "" },
		`linux: must be set`},
	{"propagation without a mount namespace", func(s *specs.Spec) {
		dropNS(s, specs.MountNamespace)
		s.Linux.RootfsPropagation = "rslave"
	}, `linux.rootfsPropagation: "rslave" is set but there is no mount namespace`},
	{"user namespace without a mount namespace", func(s *specs.Spec) {
		dropNS(s, specs.MountNamespace)
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		s.Linux.UIDMappings = []specs.LinuxIDMapping{{HostID: 100000, Size: 65536}}
		s.Linux.GIDMappings = []specs.LinuxIDMapping{{HostID: 100000, Size: 65536}}
	}, `linux.namespaces: a new user namespace needs a mount namespace too: the container's mounts would be made in the host's mount namespace, which its root does not own`},
	{"missing rootfs", func(s *specs.Spec) { s.Root.Path = "/nonexistent/rootfs" },
		`root.path: "/nonexistent/rootfs" does not exist`},
	{"rootfs is a file", func(s *specs.Spec) { s.Root.Path = "/proc/self/status" },
		`root.path: "/proc/self/status" is not a directory`},
}

func TestValidate(t *testing.T) {
	dir := bundleDir(t)
	for _, tc := range validateCases {
		t.Run(tc.name, func(t *testing.T) {
			s := Example()
			tc.mutate(s)
			err := Validate(s, dir)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("got  %v\nwant %s", err, tc.want)
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("%T is not a *FieldError", err)
			}
			if errors.Is(err, errors.ErrUnsupported) {
				t.Fatal("an invalid field reports ErrUnsupported")
			}
		})
	}
}

func TestValidateAccepts(t *testing.T) {
	dir := bundleDir(t)
	for name, mutate := range map[string]func(*specs.Spec){
		"relative destination": func(s *specs.Spec) { s.Mounts[0].Destination = "proc" },
		"relative root":        func(s *specs.Spec) { s.Root.Path = "./rootfs/../rootfs" },
		"absolute root":        func(s *specs.Spec) { s.Root.Path = filepath.Join(dir, "rootfs") },
		"hostname, joined uts": func(s *specs.Spec) {
			dropNS(s, specs.UTSNamespace)
			addNS(s, specs.UTSNamespace, "/proc/self/ns/uts")
		},
		"joined userns without mappings": func(s *specs.Spec) { addNS(s, specs.UserNamespace, "/proc/self/ns/user") },
		"time offsets": func(s *specs.Spec) {
			addNS(s, specs.TimeNamespace, "")
			s.Linux.TimeOffsets = offsets("monotonic", 5)
		},
		"no process (start needs one, create does not)": func(s *specs.Spec) { s.Process = nil; s.Linux.UIDMappings = nil },
		"zero oomScoreAdj": func(s *specs.Spec) { zero := 0; s.Process.OOMScoreAdj = &zero },
		"empty memory":     func(s *specs.Spec) { s.Linux.Resources.Memory = &specs.LinuxMemory{} },
		"rshared":          func(s *specs.Spec) { s.Linux.RootfsPropagation = "rshared" },
		"empty hooks":      func(s *specs.Spec) { s.Hooks = &specs.Hooks{} },
		"no mount namespace (the host's is inherited)": func(s *specs.Spec) { dropNS(s, specs.MountNamespace) },
		"no mount namespace, joined userns": func(s *specs.Spec) {
			dropNS(s, specs.MountNamespace)
			addNS(s, specs.UserNamespace, "/proc/self/ns/user")
		},
	} {
		s := Example()
		mutate(s)
		if err := Validate(s, dir); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// unsupportedCases sets each field of the unsupported table; the test checks
// that every row is covered.
var unsupportedCases = map[string]func(s *specs.Spec){
	"process.user.username":   func(s *specs.Spec) { s.Process.User.Username = "root" },
	"process.apparmorProfile": func(s *specs.Spec) { s.Process.ApparmorProfile = "docker-default" },
	"process.selinuxLabel":    func(s *specs.Spec) { s.Process.SelinuxLabel = "system_u:system_r:container_t:s0" },
	"linux.mountLabel":        func(s *specs.Spec) { s.Linux.MountLabel = "system_u:object_r:container_file_t:s0" },
	"linux.intelRdt":          func(s *specs.Spec) { s.Linux.IntelRdt = &specs.LinuxIntelRdt{ClosID: "x"} },
	"linux.netDevices":        func(s *specs.Spec) { s.Linux.NetDevices = map[string]specs.LinuxNetDevice{"eth0": {}} },
}

func TestUnsupportedNamesTheMember(t *testing.T) {
	s := Example()
	s.Linux.IntelRdt = &specs.LinuxIntelRdt{ClosID: "c1"}
	err := Validate(s, bundleDir(t))
	if err == nil || err.Error() != "linux.intelRdt.closID: not supported by berth" {
		t.Fatalf("got %v", err)
	}
}

func TestUnsupported(t *testing.T) {
	dir := bundleDir(t)
	for _, row := range unsupported {
		t.Run(row.path, func(t *testing.T) {
			mutate, ok := unsupportedCases[row.path]
			if !ok {
				t.Fatal("no test case for this row")
			}
			s := Example()
			mutate(s)
			want := strings.Replace(row.path, "mounts[]", "mounts[2]", 1)
			err := Validate(s, dir)
			// A struct-valued field is named down to the member that is set.
			msg := "not supported by berth"
			if row.why != nil {
				msg = row.why()
			}
			if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.HasSuffix(err.Error(), ": "+msg) {
				t.Fatalf("got %v, want %s[.member]: %s", err, want, msg)
			}
			if !errors.Is(err, errors.ErrUnsupported) {
				t.Fatal("not errors.ErrUnsupported")
			}
		})
	}
	if len(unsupportedCases) != len(unsupported) {
		t.Errorf("%d cases for %d rows", len(unsupportedCases), len(unsupported))
	}
}

func TestFeatures(t *testing.T) {
	f := Features()
	if f.OCIVersionMin != "1.0.0" || f.OCIVersionMax != specs.Version {
		t.Errorf("versions %s..%s", f.OCIVersionMin, f.OCIVersionMax)
	}
	if len(f.Hooks) != 6 {
		t.Errorf("hooks = %#v, want all six kinds", f.Hooks)
	}
	l := f.Linux
	if len(l.Namespaces) != 8 || len(l.Capabilities) != 41 || len(f.MountOptions) != 61 {
		t.Errorf("%d namespaces, %d capabilities, %d mount options", len(l.Namespaces), len(l.Capabilities), len(f.MountOptions))
	}
	for name, got := range map[string]*bool{
		"cgroup v1": l.Cgroup.V1, "cgroup v2": l.Cgroup.V2, "systemd": l.Cgroup.Systemd,
		"seccomp": l.Seccomp.Enabled, "apparmor": l.Apparmor.Enabled, "selinux": l.Selinux.Enabled,
		"intelRdt": l.IntelRdt.Enabled, "idmap": l.MountExtensions.IDMap.Enabled, "netDevices": l.NetDevices.Enabled,
	} {
		if want := name == "cgroup v1" || name == "cgroup v2" || name == "systemd" || name == "seccomp" || name == "idmap"; got == nil || *got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
}

func dropNS(s *specs.Spec, t specs.LinuxNamespaceType) {
	var out []specs.LinuxNamespace
	for _, ns := range s.Linux.Namespaces {
		if ns.Type != t {
			out = append(out, ns)
		}
	}
	s.Linux.Namespaces = out
}

func addNS(s *specs.Spec, t specs.LinuxNamespaceType, path string) {
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: t, Path: path})
}

func idmap(container, host, size uint32) []specs.LinuxIDMapping {
	return []specs.LinuxIDMapping{{ContainerID: container, HostID: host, Size: size}}
}

func offsets(clock string, ns uint32) map[string]specs.LinuxTimeOffset {
	return map[string]specs.LinuxTimeOffset{clock: {Secs: 10, Nanosecs: ns}}
}
