// Package sync is the wire protocol between the runtime parent (P) and the
// container init (the C stub in nsenter/ first, then the Go init). Both speak
// over one SOCK_STREAM socketpair.
//
// Every message is a frame: a 4-byte type, a 4-byte payload length (both in
// host byte order, since both ends run on the same machine) and the payload.
// nsenter/nsenter.c reads and writes the same frames; TestConstants checks
// that the numbers below match the C header.
//
//	dir      type           payload            when
//	P->C     Bootstrap      nsenter attributes first frame; read by the C stub
//	P->G     Config         init config JSON   sent right after Bootstrap
//	C->P     UsermapReq     -                  only for a new user namespace
//	P->C     UsermapAck     -                  after uid_map/gid_map written
//	C->P     Pid            u32 host pid       the pid of the container init
//	G->P     Hooks          -                  mounts done, before pivot_root:
//	                                           run prestart/createRuntime
//	P->G     HooksDone      hook state JSON    they ran; the init runs its own
//	G->P     SeccompFd      - (then the fd)    the notify listener, by SCM_RIGHTS
//	P->G     SeccompDone    -                  the agent has it
//	G->P     Ready          -                  setup done, init waits on exec.fifo
//	P->G     Run            -                  only when the spec needs it (hooks)
//	any      Error          u32 errno + text   the sender gives up
//
// C is the C stub, G the Go init; both are the same process or its child.
// With an init plan (the bootstrap's plan attribute, nsenter/plan.h) there
// is no Go init: the parent sends no Config, and the stub itself sends
// Hooks (its OP_HOOKS, dropping HooksDone's state: only the Go init runs
// hooks of its own) and Ready (or Error) as it runs the plan, then waits
// on exec.fifo and execs. The frames the parent expects are the same.
// The parent computes the expected order up front (Sequence) and rejects any
// frame that is not next.
//
// `berth exec` speaks the same protocol with an empty Plan (the stub only
// joins namespaces): Bootstrap, Config (an exec config), Pid, Ready. Then G
// execs the process with its end of the socket close-on-exec: the parent
// reads EOF once execve succeeded, or an Error frame if it failed. With an
// exec plan in the bootstrap there is no Config and the stub does what G
// would, Ready and the exec included.
package sync

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"syscall"
)

// Type names a frame.
type Type uint32

// Frame types; keep in sync with nsenter/nsenter.h.
const (
	Bootstrap   Type = 1
	UsermapReq  Type = 2
	UsermapAck  Type = 3
	Pid         Type = 4
	Config      Type = 5
	Ready       Type = 6
	Run         Type = 7
	Error       Type = 8
	Hooks       Type = 9
	HooksDone   Type = 10
	SeccompFd   Type = 11
	SeccompDone Type = 12
)

// MaxPayload bounds a frame so a corrupt length cannot make us allocate GiBs.
const MaxPayload = 16 << 20

var names = map[Type]string{
	Bootstrap: "bootstrap", UsermapReq: "usermap-request", UsermapAck: "usermap-ack",
	Pid: "pid", Config: "config", Ready: "ready", Run: "run", Error: "error",
	Hooks: "hooks", HooksDone: "hooks-done", SeccompFd: "seccomp-fd", SeccompDone: "seccomp-done",
}

func (t Type) String() string {
	if n, ok := names[t]; ok {
		return n
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// Write sends one frame.
func Write(w io.Writer, t Type, payload []byte) error {
	buf := make([]byte, 8+len(payload))
	binary.NativeEndian.PutUint32(buf[0:4], uint32(t))
	binary.NativeEndian.PutUint32(buf[4:8], uint32(len(payload)))
	copy(buf[8:], payload)
	if _, err := w.Write(buf); err != nil {
		return fmt.Errorf("send %s: %w", t, err)
	}
	return nil
}

// Read receives one frame.
func Read(r io.Reader) (Type, []byte, error) {
	var hdr [8]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	t := Type(binary.NativeEndian.Uint32(hdr[0:4]))
	n := binary.NativeEndian.Uint32(hdr[4:8])
	if n > MaxPayload {
		return 0, nil, fmt.Errorf("frame %s: payload of %d bytes is too large", t, n)
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		return 0, nil, fmt.Errorf("frame %s: %w", t, err)
	}
	return t, payload, nil
}

// Expect reads one frame and checks it is of type want. An Error frame is
// decoded into the error it carries; EOF means the peer went away.
func Expect(r io.Reader, want Type) ([]byte, error) {
	t, p, err := Read(r)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("waiting for %s: %w", want, ErrPeerGone)
		}
		return nil, fmt.Errorf("waiting for %s: %w", want, err)
	}
	if t == Error {
		return nil, DecodeError(p)
	}
	if t != want {
		return nil, fmt.Errorf("protocol: got %s, want %s", t, want)
	}
	return p, nil
}

// ErrPeerGone is returned when the other end closed the socket.
var ErrPeerGone = errors.New("the other end closed the sync socket")

// RemoteError is an error reported by the peer; Errno survives the trip so
// callers can use errors.Is(err, unix.EPERM).
type RemoteError struct {
	Errno syscall.Errno
	Msg   string
}

func (e *RemoteError) Error() string {
	if e.Errno != 0 {
		return e.Msg + ": " + e.Errno.Error()
	}
	return e.Msg
}

// Unwrap exposes the errno.
func (e *RemoteError) Unwrap() error {
	if e.Errno == 0 {
		return nil
	}
	return e.Errno
}

// EncodeError builds an Error frame payload from err, keeping its errno.
func EncodeError(err error) []byte {
	var errno syscall.Errno
	errors.As(err, &errno)
	msg := err.Error()
	if errno != 0 {
		// The errno travels separately; do not say it twice.
		if s := ": " + errno.Error(); len(msg) > len(s) && msg[len(msg)-len(s):] == s {
			msg = msg[:len(msg)-len(s)]
		}
	}
	buf := make([]byte, 4+len(msg))
	binary.NativeEndian.PutUint32(buf, uint32(errno))
	copy(buf[4:], msg)
	return buf
}

// DecodeError turns an Error frame payload into a *RemoteError.
func DecodeError(p []byte) error {
	if len(p) < 4 {
		return &RemoteError{Msg: "malformed error frame"}
	}
	return &RemoteError{Errno: syscall.Errno(binary.NativeEndian.Uint32(p)), Msg: string(p[4:])}
}

// WriteError sends err as an Error frame (best effort: the caller is exiting).
func WriteError(w io.Writer, err error) {
	_ = Write(w, Error, EncodeError(err))
}
