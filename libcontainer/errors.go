// Package libcontainer owns a container's lifecycle: the state directory, the
// parent side of create (starting the init and the sync handshake), the init
// itself (Init), and one file per operation (create, start, kill, delete...).
//
// Error contract: operations return errors wrapped once per layer; callers
// test the kind with errors.Is against the sentinel errors below.
package libcontainer

import "errors"

// Sentinel error kinds.
var (
	ErrNotExist     = errors.New("container does not exist")
	ErrExist        = errors.New("container with given ID already exists")
	ErrInvalidID    = errors.New("invalid container ID format")
	ErrWrongState   = errors.New("container is in the wrong state")
	ErrNotSupported = errors.New("not supported by berth")
)
