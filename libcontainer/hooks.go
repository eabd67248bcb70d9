package libcontainer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
)

// Where each kind of OCI hook runs (runtime.md, config.md):
//
//	prestart, createRuntime  the parent, runtime namespaces, during create,
//	                         once the init has mounted everything and
//	                         before it pivots (the init waits for them)
//	createContainer          the init, container namespaces, before pivot
//	startContainer           the init, after pivot, when start has opened
//	                         exec.fifo and before the user process runs
//	poststart                the start command, after the process started
//	poststop                 the delete command, after the container is gone
//
// A failing hook of the first four kinds fails its operation (which then
// undoes itself); poststart and poststop failures are warnings.

// hookState is the OCI state a hook reads on stdin.
func hookState(id, bundle string, pid int, status Status, ann map[string]string) []byte {
	b, _ := json.Marshal(specs.State{
		Version: specs.Version, ID: id, Status: specs.ContainerState(status),
		Pid: pid, Bundle: bundle, Annotations: ann,
	})
	return b
}

// withStatus returns a copy of a hook state with another status.
func withStatus(state []byte, status Status) []byte {
	var s specs.State
	if err := json.Unmarshal(state, &s); err != nil {
		return state
	}
	s.Status = specs.ContainerState(status)
	b, _ := json.Marshal(s)
	return b
}

// runHooks runs the hooks of one kind in order and stops at the first
// failure, which names the hook: hooks.createRuntime[1] (/usr/bin/x): ...
func runHooks(kind string, hooks []specs.Hook, state []byte) error {
	for i, h := range hooks {
		if err := runHook(h, state); err != nil {
			return fmt.Errorf("hooks.%s[%d] (%s): %w", kind, i, h.Path, err)
		}
	}
	return nil
}

// warnHooks runs hooks whose failure must not fail the command: each one
// that fails is a warning, and the others still run (runtime.md).
func warnHooks(kind string, hooks []specs.Hook, state []byte) {
	for i, h := range hooks {
		if err := runHook(h, state); err != nil {
			logrus.Warnf("hooks.%s[%d] (%s): %v", kind, i, h.Path, err)
		}
	}
}

// hookWaitDelay bounds how long a hook's output pipes are waited for after
// it exits (a daemon it started may keep them open).
const hookWaitDelay = time.Second

// runHook runs one hook with its args and env and the state on stdin. A hook
// running past its timeout is killed.
func runHook(h specs.Hook, state []byte) error {
	args := h.Args
	if len(args) == 0 {
		args = []string{h.Path}
	}
	var out bytes.Buffer
	cmd := &exec.Cmd{Path: h.Path, Args: args, Env: h.Env, Stdin: bytes.NewReader(state),
		Stdout: &out, Stderr: &out, WaitDelay: hookWaitDelay}
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var timeout <-chan time.Time
	if h.Timeout != nil {
		timer := time.NewTimer(time.Duration(*h.Timeout) * time.Second)
		defer timer.Stop()
		timeout = timer.C
	}
	select {
	case err := <-done:
		return hookError(err, &out)
	case <-timeout:
		_ = cmd.Process.Kill()
		<-done
		return fmt.Errorf("timed out after %ds and was killed", *h.Timeout)
	}
}

func hookError(err error, out *bytes.Buffer) error {
	if err == nil {
		return nil
	}
	msg := strings.TrimSpace(out.String())
	if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
		msg = msg[i+1:]
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) && msg != "" {
		return fmt.Errorf("%v: %s", err, msg)
	}
	return err
}

// hooksOf returns the config's hooks, never nil.
func hooksOf(s *specs.Spec) *specs.Hooks {
	if s == nil || s.Hooks == nil {
		return &specs.Hooks{}
	}
	return s.Hooks
}

// initRunsHooks reports whether the init runs hooks itself
// (createContainer, startContainer): only the Go init does.
func initRunsHooks(s *specs.Spec) bool {
	h := hooksOf(s)
	return len(h.CreateContainer)+len(h.StartContainer) > 0
}

// needsHookSync reports whether create needs the init to stop before its
// pivot: for the parent's hooks, or to get the state for its own.
func needsHookSync(s *specs.Spec) bool {
	h := hooksOf(s)
	return len(h.Prestart)+len(h.CreateRuntime)+len(h.CreateContainer)+len(h.StartContainer) > 0
}
