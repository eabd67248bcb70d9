package checkpoint

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/checkpoint-restore/go-criu/v7/rpc"
	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/proto"
)

// swrk is one `criu swrk` run: the process and our end of its socket.
type swrk struct {
	cmd  *exec.Cmd
	conn *net.UnixConn
	// killed is set once cancel killed criu.
	killed atomic.Bool
	done   chan struct{}
}

// swrkIO is what the criu process is given besides its socket.
type swrkIO struct {
	// Stdio of criu; on restore, pipes among them are inherited by the
	// restored tree (InheritFd "pipe:[...]" -> 0, 1, 2).
	Stdin, Stdout, Stderr *os.File
	// Extra are criu's fds 4, 5... (3 is the socket).
	Extra []*os.File
}

// startSwrk starts `criu swrk 3`.
func startSwrk(io *swrkIO) (*swrk, error) {
	path, err := exec.LookPath("criu")
	if err != nil {
		return nil, fmt.Errorf("%w: criu not found on PATH (scripts/install-criu.sh installs CRIU 4)", ErrNoCriu)
	}
	fds, err := unix.Socketpair(unix.AF_LOCAL, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("criu socket: %w", err)
	}
	client := os.NewFile(uintptr(fds[0]), "criu-client")
	server := os.NewFile(uintptr(fds[1]), "criu-server")
	defer server.Close()
	fc, err := net.FileConn(client)
	client.Close()
	if err != nil {
		return nil, fmt.Errorf("criu socket: %w", err)
	}
	cmd := exec.Command(path, "swrk", "3")
	if io != nil {
		cmd.Stdin, cmd.Stdout, cmd.Stderr = io.Stdin, io.Stdout, io.Stderr
		cmd.ExtraFiles = append([]*os.File{server}, io.Extra...)
	} else {
		cmd.ExtraFiles = []*os.File{server}
	}
	if err := cmd.Start(); err != nil {
		fc.Close()
		return nil, fmt.Errorf("start criu: %w", err)
	}
	return &swrk{cmd: cmd, conn: fc.(*net.UnixConn), done: make(chan struct{})}, nil
}

// killOn kills criu when cancel is closed before close is called: its
// socket then ends and the call in progress returns.
func (s *swrk) killOn(cancel <-chan struct{}) {
	if cancel == nil {
		return
	}
	go func() {
		select {
		case <-cancel:
			s.killed.Store(true)
			killTree(s.cmd.Process.Pid)
			// The call in progress must not wait for a child of
			// criu's that still holds the other end.
			s.conn.Close()
		case <-s.done:
		}
	}()
}

// interrupted turns the error of a call that cancel cut short into one
// wrapping ErrInterrupted.
func (s *swrk) interrupted(op string, err error) error {
	if err == nil || !s.killed.Load() {
		return err
	}
	return fmt.Errorf("criu %s: %w", op, ErrInterrupted)
}

// Pid is the criu process's pid (restore puts it in the container's
// cgroups before sending the request, so the restored tree is born there).
func (s *swrk) Pid() int { return s.cmd.Process.Pid }

// close ends the conversation and reaps criu; its exit status only matters
// when the answer was not read.
func (s *swrk) close() error {
	close(s.done)
	s.conn.Close()
	return s.cmd.Wait()
}

// notifyFunc handles one notification; oob carries its fds (orphan-pts-master).
type notifyFunc func(n *rpc.CriuNotify, oob []byte) error

// call sends req and answers notifications until the reply of req's type.
// A failed reply is returned as *rpcError; the caller adds the log.
func (s *swrk) call(req *rpc.CriuReq, notify notifyFunc) (*rpc.CriuResp, error) {
	data, err := proto.Marshal(req)
	if err != nil {
		return nil, err
	}
	if _, err := s.conn.Write(data); err != nil {
		return nil, fmt.Errorf("send request to criu: %w", err)
	}
	buf := make([]byte, 10*4096)
	oob := make([]byte, 4096)
	for {
		n, oobn, _, _, err := s.conn.ReadMsgUnix(buf, oob)
		if err != nil {
			return nil, fmt.Errorf("read from criu: %w", err)
		}
		if n == 0 {
			return nil, errors.New("criu closed the connection without an answer")
		}
		resp := new(rpc.CriuResp)
		if err := proto.Unmarshal(buf[:n], resp); err != nil {
			return nil, fmt.Errorf("criu answer: %w", err)
		}
		if !resp.GetSuccess() {
			return resp, &rpcError{typ: resp.GetType(), errno: resp.GetCrErrno(), msg: resp.GetCrErrmsg()}
		}
		if resp.GetType() != rpc.CriuReqType_NOTIFY {
			return resp, nil
		}
		if notify != nil {
			if err := notify(resp.GetNotify(), oob[:oobn]); err != nil {
				return nil, err
			}
		}
		t := rpc.CriuReqType_NOTIFY
		ack, _ := proto.Marshal(&rpc.CriuReq{Type: &t, NotifySuccess: proto.Bool(true)})
		if _, err := s.conn.Write(ack); err != nil {
			return nil, fmt.Errorf("answer criu notification: %w", err)
		}
	}
}

// rpcError is CRIU's failed answer.
type rpcError struct {
	typ   rpc.CriuReqType
	errno int32
	msg   string
}

func (e *rpcError) Error() string {
	s := fmt.Sprintf("criu %s failed", e.typ)
	if e.msg != "" {
		s += ": " + e.msg
	}
	if e.errno != 0 {
		s += fmt.Sprintf(" (%v)", unix.Errno(e.errno))
	}
	return s
}

// simpleCall is a request with no options worth a log: version, features.
func simpleCall(req *rpc.CriuReq) (*rpc.CriuResp, error) {
	s, err := startSwrk(nil)
	if err != nil {
		return nil, err
	}
	resp, err := s.call(req, nil)
	cerr := s.close()
	if err != nil {
		return nil, err
	}
	if cerr != nil {
		return nil, fmt.Errorf("criu swrk: %w", cerr)
	}
	return resp, nil
}

// killTree SIGKILLs pid and its descendants (criu forks helpers, and the
// tasks it restores start as its children, which all hold criu's socket).
// Each is stopped before its children are read, so none forks or is
// reparented while the tree is walked.
func killTree(pid int) {
	seen := map[int]bool{}
	for queue := []int{pid}; len(queue) > 0; queue = queue[1:] {
		p := queue[0]
		if seen[p] {
			continue
		}
		seen[p] = true
		_ = unix.Kill(p, unix.SIGSTOP)
		queue = append(queue, childrenOf(p)...)
	}
	for p := range seen {
		_ = unix.Kill(p, unix.SIGKILL)
	}
}

// childrenOf lists the children of every thread of pid.
func childrenOf(pid int) []int {
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	var out []int
	for _, t := range tasks {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", pid, t.Name()))
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}
