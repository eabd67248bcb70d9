package checkpoint

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/checkpoint-restore/go-criu/v7/rpc"
	"google.golang.org/protobuf/proto"
)

// MinVersion is the oldest CRIU berth drives: 3.15 has the notifications
// and external namespaces berth relies on. Kernels 6.x need 4.0 or newer in
// practice (the vDSO layout); Check tells that from `criu check`.
const MinVersion = 31500

// Version asks CRIU its version over RPC: major*10000 + minor*100 + sublevel.
func Version() (int, error) {
	t := rpc.CriuReqType_VERSION
	resp, err := simpleCall(&rpc.CriuReq{Type: &t})
	if err != nil {
		return 0, fmt.Errorf("%w: version request: %v", ErrNoCriu, err)
	}
	v := resp.GetVersion()
	n := int(v.GetMajorNumber()*10000 + v.GetMinorNumber()*100 + v.GetSublevel())
	return n, nil
}

// versionString prints a Version number the way CRIU does.
func versionString(n int) string {
	return fmt.Sprintf("%d.%d.%d", n/10000, n/100%100, n%100)
}

// Check is the preflight: criu is on PATH, at least MinVersion, and
// `criu check` passes on this kernel. The error says which of these failed
// and quotes CRIU's own complaint.
func Check() (int, error) {
	v, err := Version()
	if err != nil {
		return 0, err
	}
	if v < MinVersion {
		return v, fmt.Errorf("%w: criu %s is older than %s", ErrNoCriu, versionString(v), versionString(MinVersion))
	}
	path, _ := exec.LookPath("criu")
	out, err := exec.Command(path, "check").CombinedOutput()
	if err != nil {
		lines := errorLines(bufio.NewScanner(bytes.NewReader(out)))
		msg := strings.Join(lines, "; ")
		if msg == "" {
			msg = strings.TrimSpace(string(out))
		}
		return v, fmt.Errorf("%w: criu %s (%s) fails `criu check` on this kernel: %s (scripts/install-criu.sh installs CRIU 4)",
			ErrNoCriu, versionString(v), path, msg)
	}
	return v, nil
}

// Feature is an optional CRIU capability an operation needs.
type Feature int

// The features berth asks CRIU about before using them.
const (
	// MemTrack is memory dirty tracking (the kernel's soft-dirty bits):
	// needed by --pre-dump and by a dump with --parent-path.
	MemTrack Feature = iota
	// LazyPages is userfaultfd-based lazy restore: --lazy-pages.
	LazyPages
)

func (f Feature) String() string {
	switch f {
	case MemTrack:
		return "memory dirty tracking (mem_dirty_track: soft-dirty bits, kernel CONFIG_MEM_SOFT_DIRTY)"
	case LazyPages:
		return "lazy pages (uffd: userfaultfd with non-cooperative events)"
	}
	return fmt.Sprintf("feature %d", int(f))
}

// CheckFeatures asks CRIU (FEATURE_CHECK) whether each feature works with
// this CRIU and kernel; the error names those that do not, and what needs
// them (need).
func CheckFeatures(need string, fs ...Feature) error {
	if len(fs) == 0 {
		return nil
	}
	want := &rpc.CriuFeatures{}
	for _, f := range fs {
		switch f {
		case MemTrack:
			want.MemTrack = proto.Bool(true)
		case LazyPages:
			want.LazyPages = proto.Bool(true)
		}
	}
	t := rpc.CriuReqType_FEATURE_CHECK
	resp, err := simpleCall(&rpc.CriuReq{Type: &t, Features: want})
	if err != nil {
		return fmt.Errorf("%w: feature check: %v", ErrNoCriu, err)
	}
	got := resp.GetFeatures()
	var missing []string
	for _, f := range fs {
		ok := true
		switch f {
		case MemTrack:
			ok = got.GetMemTrack()
		case LazyPages:
			ok = got.GetLazyPages()
		}
		if !ok {
			missing = append(missing, f.String())
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s needs %w: %s", need, ErrMissingFeature, strings.Join(missing, ", "))
	}
	return nil
}

// lazyPipeSize is the pipe size CRIU's lazy page server asks for
// (F_SETPIPE_SZ of PIPE_MAX_SIZE pages: 819, which the kernel rounds up to
// 1024 pages). CRIU ignores that call's failure and then splices into fd 0:
// "page-pipe: splice: -1: Bad file descriptor", "Lazy pages transfer
// FAILED".
const lazyPipeSize = 4 << 20

// capSysResource is CAP_SYS_RESOURCE's bit: with it a pipe may exceed
// fs.pipe-max-size.
const capSysResource = 24

// lazyPipePreflight tells whether CRIU's page server can size its pipes:
// it needs CAP_SYS_RESOURCE or fs.pipe-max-size of at least lazyPipeSize.
func lazyPipePreflight() error {
	if hasCap(capSysResource) {
		return nil
	}
	b, err := os.ReadFile("/proc/sys/fs/pipe-max-size")
	if err != nil {
		return nil // cannot tell: let CRIU try
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || n >= lazyPipeSize {
		return nil
	}
	return fmt.Errorf("--lazy-pages needs %w: pipes of %d bytes for CRIU's page server, and this process lacks CAP_SYS_RESOURCE while fs.pipe-max-size is %d (sysctl -w fs.pipe-max-size=%d)",
		ErrMissingFeature, lazyPipeSize, n, lazyPipeSize)
}

// hasCap reports whether capability bit c is in this process's effective
// set.
func hasCap(c uint) bool {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return false
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "CapEff:"); ok {
			m, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return err == nil && m&(1<<c) != 0
		}
	}
	return false
}
