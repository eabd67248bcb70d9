// Package caps names Linux capabilities and applies a process's capability
// sets (bounding, effective, permitted, inheritable, ambient) to the calling
// thread of the container init.
//
// The name table is fixed at build time (CAP_CHOWN .. CAP_CHECKPOINT_RESTORE);
// the running kernel may know fewer. Names the kernel does not know (above
// Last) are skipped by Apply; Unavailable lists them so the runtime's parent
// process can warn before the container is created, as runc does.
package caps

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// names maps each capability number to its OCI name; the index is the number.
var names = [...]string{
	unix.CAP_CHOWN:              "CAP_CHOWN",
	unix.CAP_DAC_OVERRIDE:       "CAP_DAC_OVERRIDE",
	unix.CAP_DAC_READ_SEARCH:    "CAP_DAC_READ_SEARCH",
	unix.CAP_FOWNER:             "CAP_FOWNER",
	unix.CAP_FSETID:             "CAP_FSETID",
	unix.CAP_KILL:               "CAP_KILL",
	unix.CAP_SETGID:             "CAP_SETGID",
	unix.CAP_SETUID:             "CAP_SETUID",
	unix.CAP_SETPCAP:            "CAP_SETPCAP",
	unix.CAP_LINUX_IMMUTABLE:    "CAP_LINUX_IMMUTABLE",
	unix.CAP_NET_BIND_SERVICE:   "CAP_NET_BIND_SERVICE",
	unix.CAP_NET_BROADCAST:      "CAP_NET_BROADCAST",
	unix.CAP_NET_ADMIN:          "CAP_NET_ADMIN",
	unix.CAP_NET_RAW:            "CAP_NET_RAW",
	unix.CAP_IPC_LOCK:           "CAP_IPC_LOCK",
	unix.CAP_IPC_OWNER:          "CAP_IPC_OWNER",
	unix.CAP_SYS_MODULE:         "CAP_SYS_MODULE",
	unix.CAP_SYS_RAWIO:          "CAP_SYS_RAWIO",
	unix.CAP_SYS_CHROOT:         "CAP_SYS_CHROOT",
	unix.CAP_SYS_PTRACE:         "CAP_SYS_PTRACE",
	unix.CAP_SYS_PACCT:          "CAP_SYS_PACCT",
	unix.CAP_SYS_ADMIN:          "CAP_SYS_ADMIN",
	unix.CAP_SYS_BOOT:           "CAP_SYS_BOOT",
	unix.CAP_SYS_NICE:           "CAP_SYS_NICE",
	unix.CAP_SYS_RESOURCE:       "CAP_SYS_RESOURCE",
	unix.CAP_SYS_TIME:           "CAP_SYS_TIME",
	unix.CAP_SYS_TTY_CONFIG:     "CAP_SYS_TTY_CONFIG",
	unix.CAP_MKNOD:              "CAP_MKNOD",
	unix.CAP_LEASE:              "CAP_LEASE",
	unix.CAP_AUDIT_WRITE:        "CAP_AUDIT_WRITE",
	unix.CAP_AUDIT_CONTROL:      "CAP_AUDIT_CONTROL",
	unix.CAP_SETFCAP:            "CAP_SETFCAP",
	unix.CAP_MAC_OVERRIDE:       "CAP_MAC_OVERRIDE",
	unix.CAP_MAC_ADMIN:          "CAP_MAC_ADMIN",
	unix.CAP_SYSLOG:             "CAP_SYSLOG",
	unix.CAP_WAKE_ALARM:         "CAP_WAKE_ALARM",
	unix.CAP_BLOCK_SUSPEND:      "CAP_BLOCK_SUSPEND",
	unix.CAP_AUDIT_READ:         "CAP_AUDIT_READ",
	unix.CAP_PERFMON:            "CAP_PERFMON",
	unix.CAP_BPF:                "CAP_BPF",
	unix.CAP_CHECKPOINT_RESTORE: "CAP_CHECKPOINT_RESTORE",
}

// byName is the reverse of names.
var byName = func() map[string]int {
	m := make(map[string]int, len(names))
	for n, name := range names {
		m[name] = n
	}
	return m
}()

// Parse returns the number of the capability called name, e.g. 21 for
// "CAP_SYS_ADMIN". Names are matched exactly (upper case, with the CAP_
// prefix), as in config.json.
func Parse(name string) (int, error) {
	n, ok := byName[name]
	if !ok {
		return 0, fmt.Errorf("%q is not a capability", name)
	}
	return n, nil
}

// Names returns every capability name berth knows, in number order.
func Names() []string {
	return append([]string(nil), names[:]...)
}

// Last returns the highest capability number the running kernel knows. It
// reads /proc/sys/kernel/cap_last_cap once and caches the result; when that
// file cannot be read (no /proc yet) it probes the bounding set instead.
func Last() int {
	return lastCap()
}

var lastCap = sync.OnceValue(func() int {
	if b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			return min(n, 63) // masks here are 64 bits
		}
	}
	// PR_CAPBSET_READ fails with EINVAL for a number the kernel does not know.
	n := 0
	for n < 63 {
		if _, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(n+1), 0, 0, 0); err != nil {
			break
		}
		n++
	}
	return n
})

// Unavailable returns the names in any set of c that the running kernel does
// not know (number above Last). Apply skips them; the caller decides whether
// to warn. Names berth does not know at all are not listed (Parse rejects them).
func Unavailable(c *specs.LinuxCapabilities) []string {
	if c == nil {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for _, set := range [][]string{c.Bounding, c.Effective, c.Permitted, c.Inheritable, c.Ambient} {
		for _, name := range set {
			if n, err := Parse(name); err == nil && n > Last() && !seen[name] {
				seen[name] = true
				out = append(out, name)
			}
		}
	}
	return out
}

// NotHeld names the capabilities c asks for (in any set) that are missing
// from the calling process's own bounding set: no process it starts can
// get them (a host may withhold some, e.g. CAP_SYS_RESOURCE). Names the
// kernel does not know are left to Unavailable.
func NotHeld(c *specs.LinuxCapabilities) []string {
	if c == nil {
		return nil
	}
	bnd, err := ownBounding()
	if err != nil {
		return nil
	}
	last := Last()
	var missing []string
	seen := map[string]bool{}
	for _, set := range [][]string{c.Bounding, c.Effective, c.Permitted, c.Inheritable, c.Ambient} {
		for _, name := range set {
			n, err := Parse(name)
			if err != nil || n > last || seen[name] || bnd&(1<<uint(n)) != 0 {
				continue
			}
			seen[name] = true
			missing = append(missing, name)
		}
	}
	return missing
}

// ownBounding reads CapBnd of /proc/self/status.
func ownBounding() (uint64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "CapBnd:"); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	return 0, errors.New("no CapBnd in /proc/self/status")
}
