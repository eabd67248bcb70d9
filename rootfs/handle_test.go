package rootfs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMkdirInParentStaysInRoot: the one-level fast path of mkdirAll
// resolves the parent inside the rootfs (an absolute or ".."-laden symlink
// in the rootfs cannot send it to the host) and never follows a symlink in
// the last component.
func TestMkdirInParentStaysInRoot(t *testing.T) {
	rootfs := t.TempDir()
	host := t.TempDir()
	for _, p := range []string{filepath.Join(rootfs, host), filepath.Join(rootfs, "sys/fs/cgroup")} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{"abs": host, "dots": "../../../../../../.." + host, "last": host}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(rootfs, name)); err != nil {
			t.Fatal(err)
		}
	}
	r, err := openRoot(rootfs)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()

	for _, dest := range []string{"/sys/fs/cgroup/cpu,cpuacct", "/abs/a", "dots/b", "/sys/fs/cgroup/cpu,cpuacct"} {
		h, err := r.mkdirInParent(dest)
		if err != nil {
			t.Fatalf("%s: %v", dest, err)
		}
		p, err := os.Readlink(fdPath(h))
		h.Close()
		if err != nil || !strings.HasPrefix(p, rootfs+"/") {
			t.Errorf("%s: made %q, outside the rootfs %s (%v)", dest, p, rootfs, err)
		}
	}
	if h, err := r.mkdirInParent("/last"); err == nil {
		p, _ := os.Readlink(fdPath(h))
		h.Close()
		t.Errorf("/last is a symlink to the host, yet a handle on %q came back", p)
	}
	if ents, _ := os.ReadDir(host); len(ents) != 0 {
		t.Errorf("the host directory was written: %v", ents)
	}
	if _, err := os.Stat(filepath.Join(rootfs, host, "a")); err != nil {
		t.Errorf("/abs/a not made inside the rootfs: %v", err)
	}
}
