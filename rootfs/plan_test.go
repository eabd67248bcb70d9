package rootfs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func planConfig(t *testing.T) *Config {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return &Config{
		Rootfs: dir,
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "ro", "mode=755"}},
			{Destination: "/etc/hosts", Type: "bind", Source: file, Options: []string{"ro", "rprivate"}},
			{Destination: "/data/", Type: "none", Source: dir, Options: []string{"rbind", "rro"}},
		},
		MaskedPaths:   []string{"/proc/kcore"},
		ReadonlyPaths: []string{"/proc/sys"},
		Readonly:      true,
	}
}

func TestPlanSteps(t *testing.T) {
	c := planConfig(t)
	setup, final, err := Plan(c, "/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	if setup[0].Kind != StepRoot || setup[0].Flags != unix.MS_SLAVE|unix.MS_REC {
		t.Errorf("first step %+v, want the root, rslave", setup[0])
	}
	proc, dev, hosts, data := setup[1], setup[2], setup[3], setup[4]
	if proc.Kind != StepMount || proc.Path != "/proc" || proc.FSType != "proc" || proc.Label != "rootfs: mounts[0] (proc on /proc)" {
		t.Errorf("proc step %+v", proc)
	}
	if dev.Flags != unix.MS_NOSUID || dev.Data != "mode=755" {
		t.Errorf("/dev must be mounted writable (Finalize makes it ro): %+v", dev)
	}
	if !hosts.File || hosts.Flags != unix.MS_BIND || !hosts.Remount || hosts.RemountFlags != unix.MS_RDONLY ||
		len(hosts.Propagation) != 1 || hosts.Propagation[0] != unix.MS_PRIVATE|unix.MS_REC {
		t.Errorf("file bind step %+v", hosts)
	}
	if data.File || data.Path != "/data" || data.Flags != unix.MS_BIND|unix.MS_REC || data.Remount ||
		data.RecSet != unix.MOUNT_ATTR_RDONLY {
		t.Errorf("rbind step %+v", data)
	}
	var nodes, links int
	for _, s := range setup[5:] {
		switch s.Kind {
		case StepMknod:
			nodes++
		case StepSymlink:
			links++
		}
	}
	if nodes != len(defaultDevices) || links < len(devSymlinks)+1 {
		t.Errorf("%d nodes, %d links in /dev", nodes, links)
	}
	if last := setup[len(setup)-1]; last.Kind != StepPivot || last.Flags != 0 {
		t.Errorf("last setup step %+v, want the pivot", last)
	}
	kinds := []StepKind{StepReadonly, StepMask, StepFinish, StepFinish}
	if len(final) != len(kinds) {
		t.Fatalf("final steps %+v", final)
	}
	for i, k := range kinds {
		if final[i].Kind != k {
			t.Errorf("final[%d] = %+v, want kind %d", i, final[i], k)
		}
	}
	if final[2].Path != "/dev" || final[3].Path != "/" || final[3].RemountFlags != unix.MS_RDONLY || !final[3].Remount {
		t.Errorf("read-only /dev and root: %+v %+v", final[2], final[3])
	}
}

// TestPlanCgroup: the cgroup mount becomes the layout Setup builds.
func TestPlanCgroup(t *testing.T) {
	c := planConfig(t)
	c.Mounts = []specs.Mount{{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup",
		Options: []string{"nosuid", "noexec", "nodev", "ro"}}}
	setup, _, err := Plan(c, "/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(hostCgroupRoot, &st); err != nil {
		t.Skip(err)
	}
	if st.Type == unix.CGROUP2_SUPER_MAGIC {
		if m := setup[1]; m.FSType != "cgroup2" || m.AltSource == "" {
			t.Errorf("cgroup2 step %+v", m)
		}
		return
	}
	own, err := ownCgroupsFrom("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	hs, err := v1HierarchiesOf(own)
	if err != nil {
		t.Fatal(err)
	}
	if tmpfs := setup[1]; tmpfs.FSType != "tmpfs" || tmpfs.Path != "/sys/fs/cgroup" {
		t.Errorf("first cgroup step %+v, want the tmpfs", tmpfs)
	}
	for i, hy := range hs {
		if s := setup[2+i]; s.Source != hy.source || s.Path != "/sys/fs/cgroup/"+hy.name || !s.Remount {
			t.Errorf("hierarchy %s: %+v", hy.name, s)
		}
	}
	var fin *Step
	for i := range setup {
		if setup[i].Kind == StepFinish {
			fin = &setup[i]
		}
	}
	if fin == nil || fin.Path != "/sys/fs/cgroup" || fin.RemountFlags&unix.MS_RDONLY == 0 {
		t.Errorf("the tmpfs is not made read-only last: %+v", fin)
	}
}

// TestPlanNeedsGoInit: what the steps cannot express is left to the Go init.
func TestPlanNeedsGoInit(t *testing.T) {
	for name, change := range map[string]func(c *Config){
		"no pivot":       func(c *Config) { c.NoPivot = true },
		"no mount ns":    func(c *Config) { c.HostMountNS = true },
		"tmpcopyup":      func(c *Config) { c.Mounts[1].Options = append(c.Mounts[1].Options, "tmpcopyup") },
		"idmap":          func(c *Config) { c.Mounts[2].Options = []string{"idmap"} },
		"into /proc":     func(c *Config) { c.Mounts[1].Destination = "/proc/sys/kernel" },
		"tmpfs on /proc": func(c *Config) { c.Mounts[0].Type = "tmpfs" },
		"missing source": func(c *Config) { c.Mounts[2].Source = "/nonexistent/file" },
	} {
		c := planConfig(t)
		change(c)
		if _, _, err := Plan(c, "/proc/self/cgroup"); !errors.Is(err, ErrNeedsGoInit) {
			t.Errorf("%s: got %v, want ErrNeedsGoInit", name, err)
		}
	}
	c := planConfig(t)
	c.Hooks = true // the stub stops for them before the pivot
	setup, _, err := Plan(c, "/proc/self/cgroup")
	if err != nil || setup[len(setup)-2].Kind != StepHook || setup[len(setup)-1].Kind != StepPivot {
		t.Errorf("hooks: %v; want a hook step right before the pivot", err)
	}
	c = planConfig(t)
	c.Mounts[1].Destination = "/proc/meminfo" // lxcfs may cover it
	if _, _, err := Plan(c, "/proc/self/cgroup"); err != nil {
		t.Errorf("mount on /proc/meminfo: %v", err)
	}
}

// TestCompileGoInitSteps: what only the Go init executes is still one list
// of steps, in Setup's order.
func TestCompileGoInitSteps(t *testing.T) {
	c := planConfig(t)
	c.InUserNS = true
	c.NoPivot = true
	c.Propagation = "rprivate"
	c.Hooks = true
	c.Devices = []specs.LinuxDevice{{Path: "/dev/fifo", Type: "p"}}
	c.Mounts[1].Options = append(c.Mounts[1].Options, "tmpcopyup")
	steps, err := compileSetup(c, "/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	if steps[0].Kind != StepRoot || steps[2].Label != "mounts[1] (tmpfs on /dev)" {
		t.Errorf("labels carry no executor prefix: %q, %q", steps[0].Label, steps[2].Label)
	}
	if dev := steps[2]; !dev.CopyUp || dev.Flags&unix.MS_RDONLY != 0 || dev.Remount {
		t.Errorf("tmpcopyup on /dev: %+v (mounted writable, and /dev stays so until Finalize)", dev)
	}
	var binds, fifos int
	for _, s := range steps {
		switch {
		case s.Kind == StepMount && s.Flags == unix.MS_BIND && s.Source == s.Path && strings.HasPrefix(s.Label, "default device"):
			binds++
		case s.Kind == StepMknod && s.Path == "/dev/fifo":
			fifos++
		}
	}
	if binds != len(defaultDevices) || fifos != 1 {
		t.Errorf("user namespace: %d binds, %d fifos; want a bind per default node and mknod of the fifo", binds, fifos)
	}
	hook, enter := steps[len(steps)-2], steps[len(steps)-1]
	if hook.Kind != StepHook || enter.Kind != StepMoveRoot || enter.Flags != unix.MS_PRIVATE|unix.MS_REC {
		t.Errorf("end: %+v, %+v; want the hook, then the move with rprivate", hook, enter)
	}

	c = planConfig(t)
	c.HostMountNS = true
	c.Propagation = "rshared"
	if steps, err = compileSetup(c, "/proc/self/cgroup"); err != nil {
		t.Fatal(err)
	}
	if first, last := steps[0], steps[len(steps)-1]; first.Kind != StepHostRoot || last.Kind != StepChroot || last.Flags != 0 {
		t.Errorf("no mount namespace: %+v ... %+v; want the host root check and a chroot, no propagation", first, last)
	}
	if _, err := compileSetup(&Config{Rootfs: c.Rootfs, Mounts: []specs.Mount{{Destination: "/proc/sys", Type: "tmpfs"}}},
		"/proc/self/cgroup"); err == nil || err.Error() != "mounts[0] (tmpfs on /proc/sys): /proc/sys is inside /proc, where mounts are not allowed" {
		t.Errorf("mount into /proc: %v", err)
	}
}
