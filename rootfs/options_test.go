package rootfs

import (
	"reflect"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestParseMountOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    []string
		flags   uintptr
		cleared uintptr
		props   []uintptr
		data    string
	}{
		{name: "empty"},
		{name: "defaults", opts: []string{"defaults"}},
		{name: "ro", opts: []string{"ro"}, flags: unix.MS_RDONLY},
		{name: "ro then rw", opts: []string{"ro", "rw"}, cleared: unix.MS_RDONLY},
		{name: "rw then ro", opts: []string{"rw", "ro"}, flags: unix.MS_RDONLY},
		{
			name:  "runc sysfs",
			opts:  []string{"nosuid", "noexec", "nodev", "ro"},
			flags: unix.MS_NOSUID | unix.MS_NOEXEC | unix.MS_NODEV | unix.MS_RDONLY,
		},
		{
			name:  "runc /dev tmpfs",
			opts:  []string{"nosuid", "strictatime", "mode=755", "size=65536k"},
			flags: unix.MS_NOSUID | unix.MS_STRICTATIME,
			data:  "mode=755,size=65536k",
		},
		{
			name:  "runc devpts",
			opts:  []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"},
			flags: unix.MS_NOSUID | unix.MS_NOEXEC,
			data:  "newinstance,ptmxmode=0666,mode=0620,gid=5",
		},
		{name: "bind", opts: []string{"bind"}, flags: unix.MS_BIND},
		{name: "rbind ro", opts: []string{"rbind", "ro"}, flags: unix.MS_BIND | unix.MS_REC | unix.MS_RDONLY},
		{
			name:    "clearing options",
			opts:    []string{"suid", "dev", "exec", "async", "nomand", "atime", "diratime", "loud"},
			cleared: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_SYNCHRONOUS | unix.MS_MANDLOCK | unix.MS_NOATIME | unix.MS_NODIRATIME | unix.MS_SILENT,
		},
		{
			name:    "clearing atime variants",
			opts:    []string{"norelatime", "nostrictatime", "nolazytime", "noiversion"},
			cleared: unix.MS_RELATIME | unix.MS_STRICTATIME | unix.MS_LAZYTIME | unix.MS_I_VERSION,
		},
		{
			name:  "setting options",
			opts:  []string{"sync", "dirsync", "remount", "mand", "noatime", "nodiratime", "relatime", "lazytime", "iversion", "nosymfollow", "silent"},
			flags: unix.MS_SYNCHRONOUS | unix.MS_DIRSYNC | unix.MS_REMOUNT | unix.MS_MANDLOCK | unix.MS_NOATIME | unix.MS_NODIRATIME | unix.MS_RELATIME | unix.MS_LAZYTIME | unix.MS_I_VERSION | unix.MS_NOSYMFOLLOW | unix.MS_SILENT,
		},
		{name: "strictatime", opts: []string{"strictatime"}, flags: unix.MS_STRICTATIME},
		{
			name:  "propagation in order",
			opts:  []string{"rbind", "rprivate", "shared"},
			flags: unix.MS_BIND | unix.MS_REC,
			props: []uintptr{unix.MS_PRIVATE | unix.MS_REC, unix.MS_SHARED},
		},
		{
			name: "every propagation",
			opts: []string{"private", "rprivate", "shared", "rshared", "slave", "rslave", "unbindable", "runbindable"},
			props: []uintptr{
				unix.MS_PRIVATE, unix.MS_PRIVATE | unix.MS_REC,
				unix.MS_SHARED, unix.MS_SHARED | unix.MS_REC,
				unix.MS_SLAVE, unix.MS_SLAVE | unix.MS_REC,
				unix.MS_UNBINDABLE, unix.MS_UNBINDABLE | unix.MS_REC,
			},
		},
		{name: "unknown kept in order", opts: []string{"size=1m", "ro", "mode=1777", "uid=0"}, flags: unix.MS_RDONLY, data: "size=1m,mode=1777,uid=0"},
		{name: "case matters", opts: []string{"RO"}, data: "RO"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseMountOptions(tt.opts)
			want := mountOptions{Flags: tt.flags, Cleared: tt.cleared, Propagation: tt.props, Data: tt.data}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("parseMountOptions(%q)\n got %+v\nwant %+v", tt.opts, got, want)
			}
		})
	}
}

func TestParsePropagation(t *testing.T) {
	tests := []struct {
		in   string
		want uintptr
		ok   bool
	}{
		{"", unix.MS_SLAVE | unix.MS_REC, true},
		{"rslave", unix.MS_SLAVE | unix.MS_REC, true},
		{"slave", unix.MS_SLAVE, true},
		{"private", unix.MS_PRIVATE, true},
		{"rprivate", unix.MS_PRIVATE | unix.MS_REC, true},
		{"shared", unix.MS_SHARED, true},
		{"rshared", unix.MS_SHARED | unix.MS_REC, true},
		{"unbindable", unix.MS_UNBINDABLE, true},
		{"runbindable", unix.MS_UNBINDABLE | unix.MS_REC, true},
		{"bogus", 0, false},
	}
	for _, tt := range tests {
		got, ok := parsePropagation(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parsePropagation(%q) = %#x, %v; want %#x, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestNeedsRemount(t *testing.T) {
	for opts, want := range map[string]bool{
		"bind":        false,
		"rbind":       false,
		"ro":          true,
		"nosuid":      true,
		"mode=755":    false,
		"noatime":     true,
		"nosymfollow": true,
	} {
		if got := parseMountOptions([]string{"rbind", opts}).needsRemount(); got != want {
			t.Errorf("needsRemount(rbind,%s) = %v, want %v", opts, got, want)
		}
	}
}

func TestParseRecursiveOptions(t *testing.T) {
	const atime = unix.MOUNT_ATTR__ATIME
	tests := []struct {
		opts     []string
		set, clr uint64
	}{
		{[]string{"rro"}, unix.MOUNT_ATTR_RDONLY, 0},
		{[]string{"rro", "rrw"}, 0, unix.MOUNT_ATTR_RDONLY},
		{[]string{"rrw", "rro"}, unix.MOUNT_ATTR_RDONLY, 0},
		{[]string{"rnosuid", "rnodev", "rnoexec", "rnodiratime", "rnosymfollow"},
			unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC | unix.MOUNT_ATTR_NODIRATIME | unix.MOUNT_ATTR_NOSYMFOLLOW, 0},
		{[]string{"rsuid", "rdev", "rexec", "rdiratime", "rsymfollow"},
			0, unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC | unix.MOUNT_ATTR_NODIRATIME | unix.MOUNT_ATTR_NOSYMFOLLOW},
		// atime is an enum: the whole of __ATIME is always cleared, the
		// last mode wins.
		{[]string{"rnoatime"}, unix.MOUNT_ATTR_NOATIME, atime},
		{[]string{"rstrictatime"}, unix.MOUNT_ATTR_STRICTATIME, atime},
		{[]string{"rrelatime"}, unix.MOUNT_ATTR_RELATIME, atime},
		{[]string{"rnoatime", "ratime"}, unix.MOUNT_ATTR_RELATIME, atime},
		{[]string{"rnoatime", "rstrictatime"}, unix.MOUNT_ATTR_STRICTATIME, atime},
		{[]string{"rnorelatime"}, unix.MOUNT_ATTR_STRICTATIME, atime},
		{[]string{"rstrictatime", "rnostrictatime"}, unix.MOUNT_ATTR_RELATIME, atime},
		{[]string{"rnodiratime", "rnoatime"}, unix.MOUNT_ATTR_NODIRATIME | unix.MOUNT_ATTR_NOATIME, atime},
	}
	for _, tt := range tests {
		o := parseMountOptions(tt.opts)
		if o.Rec.Set != tt.set || o.Rec.Clr != tt.clr || o.Flags != 0 || o.Data != "" {
			t.Errorf("%v: set %#x clr %#x flags %#x data %q, want set %#x clr %#x",
				tt.opts, o.Rec.Set, o.Rec.Clr, o.Flags, o.Data, tt.set, tt.clr)
		}
	}
}

func TestParseExtensionOptions(t *testing.T) {
	o := parseMountOptions([]string{"rbind", "idmap", "ro"})
	if !o.IDMap || o.IDMapRec || o.Data != "" {
		t.Errorf("idmap: %+v", o)
	}
	o = parseMountOptions([]string{"ridmap"})
	if !o.IDMap || !o.IDMapRec {
		t.Errorf("ridmap: %+v", o)
	}
	o = parseMountOptions([]string{"tmpcopyup", "mode=755"})
	if !o.CopyUp || o.Data != "mode=755" {
		t.Errorf("tmpcopyup: %+v", o)
	}
	for _, opt := range []string{"rro", "ratime", "idmap", "tmpcopyup", "nosymfollow", "rslave"} {
		if !KnownOption(opt) {
			t.Errorf("KnownOption(%q) = false", opt)
		}
	}
	if KnownOption("size=1m") {
		t.Error("KnownOption(size=1m) = true")
	}
}

func TestIDMapped(t *testing.T) {
	for _, tt := range []struct {
		m    specs.Mount
		want bool
	}{
		{specs.Mount{Type: "bind", Options: []string{"rbind"}}, false},
		{specs.Mount{Type: "bind", Options: []string{"rbind", "idmap"}}, true},
		{specs.Mount{Type: "bind", UIDMappings: []specs.LinuxIDMapping{{Size: 1}}}, true},
	} {
		if got := IDMapped(tt.m); got != tt.want {
			t.Errorf("IDMapped(%+v) = %v", tt.m, got)
		}
	}
}
