// Package nsenter holds the C stub that creates and joins the container's
// namespaces before the Go runtime starts (see nsenter.c), and a pure-Go
// encoder of the bootstrap message the stub reads. Importing the package
// (blank, from main) links the stub in as a constructor; it does nothing
// unless the process was started as a container init (SyncEnv set).
package nsenter

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"
)

// SyncEnv names the environment variable that holds the sync socket's fd
// number in a container init.
const SyncEnv = "_BERTH_SYNC"

// Attribute types of the bootstrap message (nsenter.h).
const (
	attrCloneFlags    = 1
	attrNSPath        = 2
	attrTimensOffsets = 3
)

// BootstrapMax is the largest bootstrap message the stub accepts.
const BootstrapMax = 64 * 1024

// NSPathsMax is how many namespaces can be joined by path.
const NSPathsMax = 16

// NSPath is a namespace to join: its CLONE_NEW* flag and a path to it.
type NSPath struct {
	Flag uint32
	Path string
}

// Bootstrap is what the stub needs to know.
type Bootstrap struct {
	// CloneFlags are the CLONE_NEW* namespaces to create.
	CloneFlags uint32
	// Join are namespaces to enter by path; the stub joins user first.
	Join []NSPath
	// TimensOffsets is written to /proc/self/timens_offsets of a new time
	// namespace ("monotonic 5 0\nboottime 1 0\n").
	TimensOffsets string
	// Plan is an encoded init plan (Plan.Encoded): the stub then sets the
	// container up and execs its process itself.
	Plan []byte
}

// Encode serializes b as the payload of a Bootstrap frame.
func (b *Bootstrap) Encode() ([]byte, error) {
	if len(b.Join) > NSPathsMax {
		return nil, fmt.Errorf("nsenter: %d namespace paths, at most %d", len(b.Join), NSPathsMax)
	}
	var buf []byte
	flags := make([]byte, 4)
	binary.NativeEndian.PutUint32(flags, b.CloneFlags)
	buf = appendAttr(buf, attrCloneFlags, flags)
	for _, p := range b.Join {
		v := make([]byte, 4, 5+len(p.Path))
		binary.NativeEndian.PutUint32(v, p.Flag)
		v = append(append(v, p.Path...), 0)
		buf = appendAttr(buf, attrNSPath, v)
	}
	if b.TimensOffsets != "" {
		buf = appendAttr(buf, attrTimensOffsets, append([]byte(b.TimensOffsets), 0))
	}
	if len(b.Plan) > 0 {
		buf = appendAttr(buf, attrPlan, b.Plan)
	}
	if len(buf) > BootstrapMax {
		return nil, fmt.Errorf("nsenter: bootstrap message of %d bytes, at most %d", len(buf), BootstrapMax)
	}
	return buf, nil
}

func appendAttr(buf []byte, typ uint32, val []byte) []byte {
	var hdr [8]byte
	binary.NativeEndian.PutUint32(hdr[0:4], typ)
	binary.NativeEndian.PutUint32(hdr[4:8], uint32(len(val)))
	return append(append(buf, hdr[:]...), val...)
}

// Flag maps an OCI namespace type to its CLONE_NEW* flag (0 if unknown).
func Flag(nsType string) uint32 {
	switch nsType {
	case "user":
		return unix.CLONE_NEWUSER
	case "mount":
		return unix.CLONE_NEWNS
	case "network":
		return unix.CLONE_NEWNET
	case "pid":
		return unix.CLONE_NEWPID
	case "ipc":
		return unix.CLONE_NEWIPC
	case "uts":
		return unix.CLONE_NEWUTS
	case "cgroup":
		return unix.CLONE_NEWCGROUP
	case "time":
		return unix.CLONE_NEWTIME
	}
	return 0
}
