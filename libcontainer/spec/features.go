package spec

import (
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"

	"github.com/berthrt/berth/libcontainer/caps"
	"github.com/berthrt/berth/libcontainer/seccomp"
)

// hookNames are the hook kinds of the runtime-spec, in lifecycle order.
var hookNames = []string{"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}

// mountOptions are the mounts[].options berth's rootfs understands (the
// others are passed to mount(2) as filesystem data).
var mountOptions = []string{
	"defaults", "ro", "rw", "suid", "nosuid", "dev", "nodev", "exec", "noexec",
	"sync", "async", "dirsync", "remount", "mand", "nomand",
	"atime", "noatime", "diratime", "nodiratime", "relatime", "norelatime",
	"strictatime", "nostrictatime", "bind", "rbind",
	"private", "rprivate", "shared", "rshared", "slave", "rslave", "unbindable", "runbindable",
	"silent", "loud", "lazytime", "nolazytime", "iversion", "noiversion", "nosymfollow",
	"rro", "rrw", "rnosuid", "rsuid", "rnodev", "rdev", "rnoexec", "rexec",
	"rnodiratime", "rdiratime", "rrelatime", "rnorelatime", "rnoatime", "ratime",
	"rstrictatime", "rnostrictatime", "rnosymfollow", "rsymfollow",
	"idmap", "ridmap", "tmpcopyup",
}

// Features returns what `berth features` prints: exactly what berth
// implements today. Everything that has a row in the unsupported table is
// reported as absent or disabled, so the two cannot disagree. Annotations
// (e.g. the berth version) are left for the caller to add.
func Features() *features.Features {
	var hooks []string
	for _, h := range hookNames {
		if supported("hooks." + h) {
			hooks = append(hooks, h)
		}
	}
	if hooks == nil {
		hooks = []string{} // none: an empty list, not "unknown"
	}
	var nss []string
	for _, t := range namespaceTypes {
		nss = append(nss, string(t))
	}
	return &features.Features{
		OCIVersionMin: "1.0.0",
		OCIVersionMax: specs.Version,
		Hooks:         hooks,
		MountOptions:  slices.Clone(mountOptions),
		Linux: &features.Linux{
			Namespaces:   nss,
			Capabilities: caps.Names(),
			Cgroup: &features.Cgroup{
				V1: ptr(true), V2: ptr(true), Systemd: ptr(true), SystemdUser: ptr(false),
				Rdma: ptr(supported("linux.resources.rdma")),
			},
			Seccomp:         seccomp.Features(),
			Apparmor:        &features.Apparmor{Enabled: ptr(supported("process.apparmorProfile"))},
			Selinux:         &features.Selinux{Enabled: ptr(supported("process.selinuxLabel") && supported("linux.mountLabel"))},
			IntelRdt:        &features.IntelRdt{Enabled: ptr(supported("linux.intelRdt"))},
			MountExtensions: &features.MountExtensions{IDMap: &features.IDMap{Enabled: ptr(true)}},
			NetDevices:      &features.NetDevices{Enabled: ptr(supported("linux.netDevices"))},
		},
	}
}

func ptr[T any](v T) *T { return &v }
