package cgroups

import (
	"reflect"
	"strings"
	"testing"
)

// hybridMountinfo is this project's build host: v1 controllers, one per
// mount, plus cgroup2 at /sys/fs/cgroup/unified.
const hybridMountinfo = `22 1 259:1 / / rw,relatime shared:1 - ext4 /dev/root rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset,clone_children
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
50 22 0:40 / /mnt/with\040space rw - cgroup cgroup rw,pids
`

const hybridCgroup = `9:name=systemd:/user.slice
8:pids:/
4:memory:/process_api/abc
3:cpuset:/
1:cpu,cpuacct:/
7:blkio:/
0::/user.slice
`

const v2Mountinfo = `22 1 259:1 / / rw - ext4 /dev/root rw
30 22 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate
`

// dockerMountinfo is inside a container without a cgroup namespace: the
// hierarchy's root shown at the mount point is the container's cgroup.
const dockerMountinfo = `100 90 0:32 /docker/ctr /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory
`

func parseFake(t *testing.T, mi, cg string) ([]mount, []ownCgroup) {
	t.Helper()
	mounts, err := parseMountinfo(strings.NewReader(mi))
	if err != nil {
		t.Fatal(err)
	}
	own, err := parseOwnCgroups(strings.NewReader(cg))
	if err != nil {
		t.Fatal(err)
	}
	return mounts, own
}

func TestParseMountinfo(t *testing.T) {
	mounts, _ := parseFake(t, hybridMountinfo, "")
	if len(mounts) != 6 {
		t.Fatalf("got %d cgroup mounts, want 6: %+v", len(mounts), mounts)
	}
	last := mounts[5]
	if last.point != "/mnt/with space" || last.v2 || !reflect.DeepEqual(last.opts, []string{"rw", "pids"}) {
		t.Errorf("escaped mount parsed as %+v", last)
	}
	if !mounts[4].v2 || mounts[4].point != "/sys/fs/cgroup/unified" {
		t.Errorf("cgroup2 mount parsed as %+v", mounts[4])
	}
}

func TestResolve(t *testing.T) {
	tests := []struct {
		name, mi, cg, path string
		want               map[string]string
	}{
		{
			name: "default is <id> under own cgroup",
			mi:   hybridMountinfo, cg: hybridCgroup, path: "",
			want: map[string]string{
				"cpu":          "/sys/fs/cgroup/cpu,cpuacct/ctr1",
				"cpuacct":      "/sys/fs/cgroup/cpu,cpuacct/ctr1",
				"cpuset":       "/sys/fs/cgroup/cpuset/ctr1",
				"memory":       "/sys/fs/cgroup/memory/process_api/abc/ctr1",
				"name=systemd": "/sys/fs/cgroup/systemd/user.slice/ctr1",
				"pids":         "/mnt/with space/ctr1",
				Unified:        "/sys/fs/cgroup/unified/user.slice/ctr1",
			},
		},
		{
			name: "absolute is under every mount point",
			mi:   hybridMountinfo, cg: hybridCgroup, path: "/a/./b/../c//",
			want: map[string]string{
				"cpu":          "/sys/fs/cgroup/cpu,cpuacct/a/c",
				"cpuacct":      "/sys/fs/cgroup/cpu,cpuacct/a/c",
				"cpuset":       "/sys/fs/cgroup/cpuset/a/c",
				"memory":       "/sys/fs/cgroup/memory/a/c",
				"name=systemd": "/sys/fs/cgroup/systemd/a/c",
				"pids":         "/mnt/with space/a/c",
				Unified:        "/sys/fs/cgroup/unified/a/c",
			},
		},
		{
			name: "relative under own cgroup",
			mi:   hybridMountinfo, cg: hybridCgroup, path: "x/y",
			want: map[string]string{
				"cpu":          "/sys/fs/cgroup/cpu,cpuacct/x/y",
				"cpuacct":      "/sys/fs/cgroup/cpu,cpuacct/x/y",
				"cpuset":       "/sys/fs/cgroup/cpuset/x/y",
				"memory":       "/sys/fs/cgroup/memory/process_api/abc/x/y",
				"name=systemd": "/sys/fs/cgroup/systemd/user.slice/x/y",
				"pids":         "/mnt/with space/x/y",
				Unified:        "/sys/fs/cgroup/unified/user.slice/x/y",
			},
		},
		{
			name: "pure v2 relative is under the parent of own cgroup",
			mi:   v2Mountinfo, cg: "0::/user.slice/session-1.scope\n", path: "",
			want: map[string]string{Unified: "/sys/fs/cgroup/user.slice/ctr1"},
		},
		{
			name: "pure v2 absolute",
			mi:   v2Mountinfo, cg: "0::/user.slice/session-1.scope\n", path: "/berth/ctr",
			want: map[string]string{Unified: "/sys/fs/cgroup/berth/ctr"},
		},
		{
			name: "mount root is the own cgroup",
			mi:   dockerMountinfo, cg: "4:memory:/docker/ctr\n", path: "sub",
			want: map[string]string{"memory": "/sys/fs/cgroup/memory/sub"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mounts, own := parseFake(t, tc.mi, tc.cg)
			got, err := resolve(tc.path, "ctr1", mounts, own)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %v\nwant %v", got, tc.want)
			}
		})
	}
}

func TestResolveRejects(t *testing.T) {
	mounts, own := parseFake(t, hybridMountinfo, hybridCgroup)
	tests := []struct{ path, id, want string }{
		{"../..", "c", `linux.cgroupsPath: "../.." escapes the cgroup hierarchy`},
		{"/../x", "c", `linux.cgroupsPath: "/../x" escapes the cgroup hierarchy`},
		{"a/../../b", "c", `linux.cgroupsPath: "a/../../b" escapes the cgroup hierarchy`},
		{"..", "c", `linux.cgroupsPath: ".." escapes the cgroup hierarchy`},
		{"/", "c", `linux.cgroupsPath: "/" names no cgroup below its parent`},
		{"a/..", "c", `linux.cgroupsPath: "a/.." names no cgroup below its parent`},
		{"", "..", `container id: ".." escapes the cgroup hierarchy`},
		{"", "", `container id: "" names no cgroup below its parent`},
	}
	for _, tc := range tests {
		_, err := resolve(tc.path, tc.id, mounts, own)
		if err == nil || err.Error() != tc.want {
			t.Errorf("resolve(%q, %q) = %v, want %q", tc.path, tc.id, err, tc.want)
		}
	}
}

func TestResolveOutsideMountRoot(t *testing.T) {
	mounts, own := parseFake(t, dockerMountinfo, "4:memory:/elsewhere\n")
	if _, err := resolve("x", "c", mounts, own); err == nil {
		t.Fatal("own cgroup outside the mount root: want error")
	}
	// An absolute path does not need the own cgroup (runc semantics).
	if _, err := resolve("/x", "c", mounts, own); err != nil {
		t.Fatal(err)
	}
}

func TestResolveNothingMounted(t *testing.T) {
	mounts, own := parseFake(t, "1 0 8:1 / / rw - ext4 /dev/sda rw\n", hybridCgroup)
	if _, err := resolve("", "c", mounts, own); err == nil {
		t.Fatal("want error when no hierarchy is mounted")
	}
}

func TestLoadRoundTrip(t *testing.T) {
	in := map[string]string{"cpu": "/a/cpu,cpuacct/x", "cpuacct": "/a/cpu,cpuacct/x", Unified: "/u/x"}
	m := Load(in)
	in["cpu"] = "changed"
	got := m.Paths()
	if got["cpu"] != "/a/cpu,cpuacct/x" || len(got) != 3 {
		t.Fatalf("Load did not copy: %v", got)
	}
	if dirs := m.(*manager).dirs; len(dirs) != 2 {
		t.Fatalf("co-mounted controllers not merged: %v", dirs)
	}
}
