package libcontainer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"golang.org/x/sys/unix"
)

// State is what state.json holds: enough to find and judge the container
// later. Its status is never stored; it is derived from the live process.
type State struct {
	OCIVersion  string            `json:"ociVersion"`
	ID          string            `json:"id"`
	InitPid     int               `json:"initPid"`
	InitStart   uint64            `json:"initStart"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Created     time.Time         `json:"created"`
	Owner       string            `json:"owner"`
	Annotations map[string]string `json:"annotations,omitempty"`
	CgroupPaths map[string]string `json:"cgroupPaths,omitempty"`
	// RootfsMount is the mount id of the private bind of the rootfs made
	// for a container without a mount namespace (hostmount.go); 0 otherwise.
	RootfsMount uint64 `json:"rootfsMount,omitempty"`
}

const (
	stateFile  = "state.json"
	configFile = "config.json"
	lockFile   = "lock"
	fifoFile   = "exec.fifo"
)

var idRE = regexp.MustCompile(`^[\w+\-.]+$`)

// ValidateID checks a container id the way runc does.
func ValidateID(id string) error {
	if id == "" || id == "." || id == ".." || !idRE.MatchString(id) {
		return fmt.Errorf("%w: %q", ErrInvalidID, id)
	}
	return nil
}

// stateDir returns <root>/<id> after checking id.
func stateDir(root, id string) (string, error) {
	if err := ValidateID(id); err != nil {
		return "", err
	}
	return filepath.Join(root, id), nil
}

// lockDir takes the container's flock: exclusive for changes, shared for
// reads. The caller closes the returned file to release it.
//
// The lock file is made with the state dir (makeStateDir) and never again:
// a reader that re-created it while delete removes the dir would leave the
// dir behind ("directory not empty").
func lockDir(dir string, exclusive bool) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, ErrNotExist
		}
		return nil, fmt.Errorf("open lock: %w", err)
	}
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX
	}
	for {
		err = unix.Flock(int(f.Fd()), how)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return f, nil
}

// writeFileAtomic writes data to a temp file in the same dir and renames it
// over path, so readers see the old or the new content, never a torn one.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func saveState(dir string, s *State) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, stateFile), b, 0o600); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	return nil
}

func loadState(dir string) (*State, error) {
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, ErrNotExist
		}
		return nil, fmt.Errorf("read state: %w", err)
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("parse %s: %w", filepath.Join(dir, stateFile), err)
	}
	return &s, nil
}

// WritePidFile writes pid to path atomically, as runc does.
func WritePidFile(path string, pid int) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	return writeFileAtomic(abs, []byte(fmt.Sprint(pid)), 0o644)
}
