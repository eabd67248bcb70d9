package libcontainer

import (
	"encoding/json"
	"fmt"

	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// seccompState is what a seccomp agent receives with the listener fd
// (config-linux.md, "Seccomp notify"): the container's state, the agent's
// metadata, and the names of the fds sent with it.
func seccompState(id, bundle string, pid int, s *specs.Spec) []byte {
	b, _ := json.Marshal(specs.ContainerProcessState{
		Version:  specs.Version,
		Fds:      []string{specs.SeccompFdName},
		Pid:      pid,
		Metadata: s.Linux.Seccomp.ListenerMetadata,
		State: specs.State{
			Version: specs.Version, ID: id, Status: specs.StateCreating,
			Pid: pid, Bundle: bundle, Annotations: s.Annotations,
		},
	})
	return b
}

// sendToAgent connects to the agent's socket at path and sends it the state
// with the listener fd, in one message (SCM_RIGHTS).
func sendToAgent(path string, state []byte, listener *os.File) error {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("linux.seccomp.listenerPath: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		return fmt.Errorf("linux.seccomp.listenerPath: connect %s: %w", path, err)
	}
	rights := unix.UnixRights(int(listener.Fd()))
	if err := unix.Sendmsg(fd, state, rights, nil, 0); err != nil {
		return fmt.Errorf("linux.seccomp.listenerPath: send to %s: %w", path, err)
	}
	return nil
}
