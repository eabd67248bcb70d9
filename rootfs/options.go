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
	// Rec holds the recursive options (rro, rnosuid, ratime...), applied
	// with mount_setattr(AT_RECURSIVE) to the whole tree once it is mounted.
	Rec recAttr
	// IDMap is "idmap" or "ridmap" (IDMapRec) was given: the bind is
	// id-mapped (see idmap.go).
	IDMap, IDMapRec bool
	// CopyUp is the tmpcopyup extension: a tmpfs starts with a copy of
	// what the directory it covers held.
	CopyUp bool
}

// recAttr is a mount_setattr(2) request: attributes to set and to clear.
type recAttr struct {
	Set, Clr uint64
}

func (a recAttr) empty() bool { return a.Set == 0 && a.Clr == 0 }

// recFlagOptions are the recursive r* forms of the per-mount flags; like
// flagOptions, an option either sets or clears its attribute.
var recFlagOptions = map[string]struct {
	clear bool
	attr  uint64
}{
	"rro":          {false, unix.MOUNT_ATTR_RDONLY},
	"rrw":          {true, unix.MOUNT_ATTR_RDONLY},
	"rnosuid":      {false, unix.MOUNT_ATTR_NOSUID},
	"rsuid":        {true, unix.MOUNT_ATTR_NOSUID},
	"rnodev":       {false, unix.MOUNT_ATTR_NODEV},
	"rdev":         {true, unix.MOUNT_ATTR_NODEV},
	"rnoexec":      {false, unix.MOUNT_ATTR_NOEXEC},
	"rexec":        {true, unix.MOUNT_ATTR_NOEXEC},
	"rnodiratime":  {false, unix.MOUNT_ATTR_NODIRATIME},
	"rdiratime":    {true, unix.MOUNT_ATTR_NODIRATIME},
	"rnosymfollow": {false, unix.MOUNT_ATTR_NOSYMFOLLOW},
	"rsymfollow":   {true, unix.MOUNT_ATTR_NOSYMFOLLOW},
}

// recAtimeOptions are the recursive atime modes. The kernel takes the
// atime setting as one value of an enum (MOUNT_ATTR__ATIME must then be in
// attr_clr), so each option names the mode it leaves: the "no" forms of
// atime and strictatime fall back to relatime, the kernel default, and
// rnorelatime means full atime updates, strictatime.
var recAtimeOptions = map[string]uint64{
	"rrelatime":      unix.MOUNT_ATTR_RELATIME,
	"rnorelatime":    unix.MOUNT_ATTR_STRICTATIME,
	"rnoatime":       unix.MOUNT_ATTR_NOATIME,
	"ratime":         unix.MOUNT_ATTR_RELATIME,
	"rstrictatime":   unix.MOUNT_ATTR_STRICTATIME,
	"rnostrictatime": unix.MOUNT_ATTR_RELATIME,
}

// parseRecOption applies one recursive option to a; false if opt is none.
func parseRecOption(a *recAttr, opt string) bool {
	if f, ok := recFlagOptions[opt]; ok {
		if f.clear {
			a.Set &^= f.attr
			a.Clr |= f.attr
		} else {
			a.Set |= f.attr
			a.Clr &^= f.attr
		}
		return true
	}
	if mode, ok := recAtimeOptions[opt]; ok {
		a.Set = a.Set&^unix.MOUNT_ATTR__ATIME | mode
		a.Clr |= unix.MOUNT_ATTR__ATIME
		return true
	}
	return false
}

// KnownOption reports whether opt is one of the options berth itself
// interprets (the others are filesystem data): the flags of mount(8), their
// recursive forms, propagation, idmap/ridmap and tmpcopyup.
func KnownOption(opt string) bool {
	_, flag := flagOptions[opt]
	_, prop := propagationOptions[opt]
	_, rec := recFlagOptions[opt]
	_, atime := recAtimeOptions[opt]
	return flag || prop || rec || atime || opt == "idmap" || opt == "ridmap" || opt == "tmpcopyup"
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
		if parseRecOption(&o.Rec, opt) {
			continue
		}
		switch opt {
		case "idmap":
			o.IDMap = true
			continue
		case "ridmap":
			o.IDMap, o.IDMapRec = true, true
			continue
		case "tmpcopyup":
			o.CopyUp = true
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
