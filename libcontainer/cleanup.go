package libcontainer

// cleanup is the one undo stack of an operation: each step that changes the
// host pushes its undo; on failure everything runs in reverse, on success
// the stack is released.
type cleanup struct {
	undo []func()
}

func (c *cleanup) push(f func()) { c.undo = append(c.undo, f) }

// run undoes everything pushed so far, newest first.
func (c *cleanup) run() {
	for i := len(c.undo) - 1; i >= 0; i-- {
		c.undo[i]()
	}
	c.undo = nil
}

// release forgets the stack: the operation succeeded.
func (c *cleanup) release() { c.undo = nil }
