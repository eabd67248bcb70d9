package checkpoint

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrNoCriu is wrapped when criu is missing or unusable on this host.
var ErrNoCriu = errors.New("criu is not usable")

// ErrMissingFeature is wrapped when CRIU or the kernel lacks a feature the
// requested operation needs.
var ErrMissingFeature = errors.New("a CRIU feature this host lacks")

// ErrInterrupted is wrapped when Options.Cancel stopped the operation.
var ErrInterrupted = errors.New("interrupted: criu was killed")

// Error is a failed CRIU run: what was asked, CRIU's answer, the `Error`
// lines of its log and where the whole log is.
type Error struct {
	Op    string // "dump", "pre-dump", "restore"
	Err   error  // CRIU's RPC answer, or how criu ended
	Lines []string
	Log   string
	// Hint explains a known CRIU failure (what to install or pass); "".
	Hint string
}

func (e *Error) Error() string {
	var b strings.Builder
	var re *rpcError
	if len(e.Lines) > 0 && errors.As(e.Err, &re) {
		// CRIU's message is its log's first error: quoted below.
		fmt.Fprintf(&b, "criu %s failed", e.Op)
		if re.errno != 0 {
			fmt.Fprintf(&b, " (%v)", unix.Errno(re.errno))
		}
	} else {
		fmt.Fprintf(&b, "criu %s: %v", e.Op, e.Err)
	}
	for _, l := range e.Lines {
		b.WriteString("\n  ")
		b.WriteString(l)
	}
	if e.Hint != "" {
		fmt.Fprintf(&b, "\n  hint: %s", e.Hint)
	}
	if e.Log != "" {
		fmt.Fprintf(&b, "\n  (full log: %s)", e.Log)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// maxErrorLines caps the quoted lines: the first errors are the cause, the
// later ones mostly the unwinding.
const maxErrorLines = 8

// newError reads CRIU's log in dir and quotes its "Error (" lines.
func newError(op string, err error, dir, file string) *Error {
	e := &Error{Op: op, Err: err}
	path := filepath.Join(dir, file)
	f, ferr := os.Open(path)
	if ferr != nil {
		return e
	}
	defer f.Close()
	e.Log = path
	e.Lines = errorLines(bufio.NewScanner(f))
	e.Hint = hintFor(e.Lines)
	return e
}

// hints explain CRIU failures whose cause is not in CRIU's words: a log
// line containing the key gets the value as a hint.
var hints = []struct{ key, hint string }{
	{"sockets: Can't get 1:16", "kernels >= 6.16 refuse SO_PASSCRED on non-unix sockets; CRIU >= 4.2 knows (scripts/install-criu.sh installs it)"},
}

func hintFor(lines []string) string {
	for _, h := range hints {
		for _, l := range lines {
			if strings.Contains(l, h.key) {
				return h.hint
			}
		}
	}
	return ""
}

// benign are CRIU "Error" lines that do not make an operation fail: probes
// of what an unprivileged or container host lacks.
var benign = []string{
	"Can't setup RLIMIT_NOFILE for self",
	"tun: Unable to create tun",
}

// errorLines returns the "Error (file:line): ..." lines of a CRIU log,
// without the timestamp and pid prefix CRIU puts before them.
func errorLines(s *bufio.Scanner) []string {
	s.Buffer(make([]byte, 64*1024), 1024*1024)
	var out []string
	for s.Scan() {
		line := s.Text()
		i := strings.Index(line, "Error (")
		if i < 0 || isBenign(line) {
			continue
		}
		if len(out) == maxErrorLines {
			out = append(out, "...")
			break
		}
		out = append(out, strings.TrimSpace(line[i:]))
	}
	return out
}

func isBenign(line string) bool {
	for _, b := range benign {
		if strings.Contains(line, b) {
			return true
		}
	}
	return false
}
