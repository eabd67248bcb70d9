package sync

// Step is one expected frame from the child and, optionally, the parent's
// answer to it.
type Step struct {
	// From is the frame the parent waits for.
	From Type
	// Reply is the frame the parent sends back after handling it (0: none).
	Reply Type
}

// Plan describes what the container needs from the handshake.
type Plan struct {
	// NewUserNS: the stub asks the parent to write the id maps.
	NewUserNS bool
	// WaitRun: the init waits for Run after Ready.
	WaitRun bool
	// Hooks: the init stops before pivot_root for the parent's hooks
	// (prestart, createRuntime) and to get the state for its own.
	Hooks bool
	// SeccompNotify: the init sends the seccomp notify listener to pass on
	// to the agent.
	SeccompNotify bool
}

// Sequence computes, before anything is read, the frames the parent must
// receive from the child during create, in order.
func Sequence(p Plan) []Step {
	var s []Step
	if p.NewUserNS {
		s = append(s, Step{From: UsermapReq, Reply: UsermapAck})
	}
	s = append(s, Step{From: Pid})
	if p.Hooks {
		s = append(s, Step{From: Hooks, Reply: HooksDone})
	}
	if p.SeccompNotify {
		s = append(s, Step{From: SeccompFd, Reply: SeccompDone})
	}
	ready := Step{From: Ready}
	if p.WaitRun {
		ready.Reply = Run
	}
	return append(s, ready)
}
