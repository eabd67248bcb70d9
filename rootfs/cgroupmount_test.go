package rootfs

import (
	"testing"

	"github.com/moby/sys/mountinfo"
)

func TestMatchControllers(t *testing.T) {
	own := map[string]string{
		"":             "/",
		"cpu,cpuacct":  "/a",
		"memory":       "/b",
		"name=systemd": "/c",
	}
	tests := []struct {
		vfs, want string
		ok        bool
	}{
		{"rw,cpu,cpuacct", "cpu,cpuacct", true},
		{"rw,cpuacct,cpu", "cpu,cpuacct", true},
		{"rw,memory", "memory", true},
		{"rw,xattr,name=systemd", "name=systemd", true},
		{"rw,cpu", "", false},
		{"rw,pids", "", false},
	}
	for _, tt := range tests {
		got, ok := matchControllers(own, tt.vfs)
		if got != tt.want || ok != tt.ok {
			t.Errorf("matchControllers(%q) = %q, %v; want %q, %v", tt.vfs, got, ok, tt.want, tt.ok)
		}
	}
}

func TestHierarchySource(t *testing.T) {
	tests := []struct {
		root, cg, want string
	}{
		{"/", "/user.slice/x", "/sys/fs/cgroup/memory/user.slice/x"},
		{"/docker/abc", "/docker/abc/sub", "/sys/fs/cgroup/memory/sub"},
		{"/docker/abc", "/docker/abc", "/sys/fs/cgroup/memory"},
		{"/docker/abc", "/elsewhere", "/sys/fs/cgroup/memory"},
	}
	for _, tt := range tests {
		mi := &mountinfo.Info{Mountpoint: "/sys/fs/cgroup/memory", Root: tt.root}
		if got := hierarchySource(mi, tt.cg); got != tt.want {
			t.Errorf("hierarchySource(root %s, %s) = %s, want %s", tt.root, tt.cg, got, tt.want)
		}
	}
}
