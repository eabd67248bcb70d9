// Package checkpoint drives CRIU (criu(8), found on PATH) over its RPC
// interface (`criu swrk`) to checkpoint a container's process tree to an
// image directory and to restore it: dump, pre-dump, lazy pages, page
// server, feature and version checks. It turns CRIU's log into errors that
// quote CRIU's own `Error (...)` lines.
//
// It imports nothing of berth: libcontainer hands it the pid, the root, the
// cgroup paths, the external mounts, namespaces and descriptors it needs.
//
// The RPC conversation (one request, then notifications until the answer):
//
//	berth                          criu swrk (fd 3 = our socket)
//	DUMP/PRE_DUMP/RESTORE req  ->
//	                           <-  NOTIFY "post-dump", "setup-namespaces",
//	                               "post-restore" (pid), "orphan-pts-master"
//	                               (pty master as SCM_RIGHTS), "status-ready"
//	NOTIFY ack                 ->
//	                           <-  answer of the request's type (success or errno)
package checkpoint

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Options are the CRIU options shared by checkpoint and restore, named after
// runc's flags.
type Options struct {
	// ImagePath is the image directory (--image-path); made 0700 on dump.
	ImagePath string
	// WorkPath holds CRIU's log and work files (--work-path; default:
	// ImagePath).
	WorkPath string
	// ParentPath is the previous (pre-)dump's image directory, relative to
	// ImagePath or absolute (--parent-path).
	ParentPath string

	LeaveRunning    bool // --leave-running
	TCPEstablished  bool // --tcp-established
	TCPSkipInFlight bool // --tcp-skip-in-flight
	LinkRemap       bool // --link-remap
	ExtUnixSk       bool // --ext-unix-sk
	ShellJob        bool // --shell-job
	FileLocks       bool // --file-locks
	PreDump         bool // --pre-dump
	AutoDedup       bool // --auto-dedup
	LazyPages       bool // --lazy-pages
	// ManageCgroupsMode is soft, full, strict, ignore or "" (CRIU's default).
	ManageCgroupsMode string
	// EmptyNs is a CLONE_NEW* mask of namespaces whose content CRIU does
	// not dump or restore (--empty-ns).
	EmptyNs uint32
	// StatusFd is written "\0" once the lazy-pages server is ready; -1: none.
	StatusFd int
	// PageServer is "ADDRESS:PORT" of a page server to send pages to.
	PageServer string
	// ConfigFile is a CRIU configuration file (the org.criu.config
	// annotation); nil: none.
	ConfigFile *string
	// LsmProfile and LsmMountContext are for restore; this package passes
	// them on, libcontainer decides whether the host can honour them.
	LsmProfile, LsmMountContext string
	// Cancel, when closed, stops the operation: criu is killed (what it
	// was doing undone as far as this package can: a restore's cgroup
	// yard mounts) and the call returns an error wrapping ErrInterrupted.
	// nil: never.
	Cancel <-chan struct{}
}

// ExtMount is one mount CRIU must not dump or restore itself. On dump Key is
// the mount point in the container and Val the name stored in the image; on
// restore Key is that name and Val the host path to bind there.
type ExtMount struct {
	Key, Val string
}

// cgModes maps --manage-cgroups-mode to CRIU's values.
var cgModes = map[string]bool{"": true, "soft": true, "full": true, "strict": true, "ignore": true}

// Validate checks the options that can be judged before CRIU runs.
func (o *Options) Validate() error {
	if o.ImagePath == "" {
		return fmt.Errorf("--image-path: no image directory")
	}
	if !cgModes[o.ManageCgroupsMode] {
		return fmt.Errorf("--manage-cgroups-mode: %q is not one of soft, full, strict, ignore", o.ManageCgroupsMode)
	}
	if o.PageServer != "" {
		if _, _, err := splitPageServer(o.PageServer); err != nil {
			return err
		}
	}
	return nil
}

func splitPageServer(s string) (string, int32, error) {
	i := strings.LastIndex(s, ":")
	if i < 0 {
		return "", 0, fmt.Errorf("--page-server %q: want ADDRESS:PORT", s)
	}
	port, err := strconv.ParseUint(s[i+1:], 10, 16)
	if err != nil || port == 0 {
		return "", 0, fmt.Errorf("--page-server %q: bad port", s)
	}
	return strings.Trim(s[:i], "[]"), int32(port), nil
}

// logDir is where CRIU writes its log: the work dir if given, else the
// image dir.
func (o *Options) logDir() string {
	if o.WorkPath != "" {
		return o.WorkPath
	}
	return o.ImagePath
}

// openDirs opens (making them with mode 0700 when mk) the image and work
// directories for CRIU, which takes them as fds.
func (o *Options) openDirs(mk bool) (img, work *os.File, err error) {
	open := func(p string) (*os.File, error) {
		if mk {
			if err := os.MkdirAll(p, 0o700); err != nil {
				return nil, err
			}
		}
		return os.Open(p)
	}
	if img, err = open(o.ImagePath); err != nil {
		return nil, nil, fmt.Errorf("image directory: %w", err)
	}
	if o.WorkPath != "" {
		mk = true // a work dir is always made, as runc does
		if work, err = open(o.WorkPath); err != nil {
			img.Close()
			return nil, nil, fmt.Errorf("work directory: %w", err)
		}
	}
	return img, work, nil
}
