package rootfs

import (
	"strings"

	"golang.org/x/sys/unix"
)

// mountOptions is a parsed mounts[].options list.
type mountOptions struct {
	// Flags are the MS_* flags to set (MS_BIND and MS_REC included).
	Flags uintptr
	// Cleared are the flags an option explicitly turned off ("rw", "suid",
	// ...). A remount never re-adds a cleared flag when it preserves the
	// flags the mount already had.
	Cleared uintptr
	// Propagation holds MS_SHARED/MS_SLAVE/... (with MS_REC), applied one by
	// one after the mount, in the order given.
	Propagation []uintptr
	// Data is every unknown option joined with ",", passed to the filesystem.
	Data string
}

// flagOption is one row of the mount(8) option table: an option either sets
// or clears a flag.
type flagOption struct {
	clear bool
	flag  uintptr
}

var flagOptions = map[string]flagOption{
	"ro":            {false, unix.MS_RDONLY},
	"rw":            {true, unix.MS_RDONLY},
	"nosuid":        {false, unix.MS_NOSUID},
	"suid":          {true, unix.MS_NOSUID},
	"nodev":         {false, unix.MS_NODEV},
	"dev":           {true, unix.MS_NODEV},
	"noexec":        {false, unix.MS_NOEXEC},
	"exec":          {true, unix.MS_NOEXEC},
	"sync":          {false, unix.MS_SYNCHRONOUS},
	"async":         {true, unix.MS_SYNCHRONOUS},
	"dirsync":       {false, unix.MS_DIRSYNC},
	"remount":       {false, unix.MS_REMOUNT},
	"mand":          {false, unix.MS_MANDLOCK},
	"nomand":        {true, unix.MS_MANDLOCK},
	"noatime":       {false, unix.MS_NOATIME},
	"atime":         {true, unix.MS_NOATIME},
	"nodiratime":    {false, unix.MS_NODIRATIME},
	"diratime":      {true, unix.MS_NODIRATIME},
	"relatime":      {false, unix.MS_RELATIME},
	"norelatime":    {true, unix.MS_RELATIME},
	"strictatime":   {false, unix.MS_STRICTATIME},
	"nostrictatime": {true, unix.MS_STRICTATIME},
	"lazytime":      {false, unix.MS_LAZYTIME},
	"nolazytime":    {true, unix.MS_LAZYTIME},
	"iversion":      {false, unix.MS_I_VERSION},
	"noiversion":    {true, unix.MS_I_VERSION},
	"nosymfollow":   {false, unix.MS_NOSYMFOLLOW},
	"silent":        {false, unix.MS_SILENT},
	"loud":          {true, unix.MS_SILENT},
	"defaults":      {false, 0},
	"bind":          {false, unix.MS_BIND},
	"rbind":         {false, unix.MS_BIND | unix.MS_REC},
}

var propagationOptions = map[string]uintptr{
	"private":     unix.MS_PRIVATE,
	"rprivate":    unix.MS_PRIVATE | unix.MS_REC,
	"shared":      unix.MS_SHARED,
	"rshared":     unix.MS_SHARED | unix.MS_REC,
	"slave":       unix.MS_SLAVE,
	"rslave":      unix.MS_SLAVE | unix.MS_REC,
	"unbindable":  unix.MS_UNBINDABLE,
	"runbindable": unix.MS_UNBINDABLE | unix.MS_REC,
}

// parseMountOptions turns an OCI options list into flags, propagation and
// data. Later options win over earlier ones ("ro,rw" is rw), as in mount(8).
// Unknown options are kept, in order, in Data.
func parseMountOptions(options []string) mountOptions {
	var o mountOptions
	var data []string
	for _, opt := range options {
		if f, ok := flagOptions[opt]; ok {
			if f.clear {
				o.Flags &^= f.flag
				o.Cleared |= f.flag
			} else {
				o.Flags |= f.flag
				o.Cleared &^= f.flag
			}
			continue
		}
		if p, ok := propagationOptions[opt]; ok {
			o.Propagation = append(o.Propagation, p)
			continue
		}
		data = append(data, opt)
	}
	o.Data = strings.Join(data, ",")
	return o
}

// parsePropagation parses linux.rootfsPropagation; "" is the runc default,
// rslave, so that no mount made in the container propagates to the host.
func parsePropagation(s string) (uintptr, bool) {
	if s == "" {
		return unix.MS_SLAVE | unix.MS_REC, true
	}
	p, ok := propagationOptions[s]
	return p, ok
}

// remountFlags are the per-mount flags a MS_REMOUNT|MS_BIND can change.
const remountFlags = unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC |
	unix.MS_NOATIME | unix.MS_NODIRATIME | unix.MS_RELATIME | unix.MS_STRICTATIME |
	unix.MS_NOSYMFOLLOW

// needsRemount reports whether a bind mount must be remounted to apply its
// options: MS_BIND ignores every other flag on the first call.
func (o mountOptions) needsRemount() bool {
	return o.Flags&remountFlags != 0
}
