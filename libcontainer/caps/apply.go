package caps

import (
	"errors"
	"fmt"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Capability sets are per thread. Everything here acts on the calling thread
// only, so the caller must hold runtime.LockOSThread from before Apply until
// it execs the user process from that same thread (execve keeps the calling
// thread's credentials).

// Apply sets the calling thread's capabilities to c; nil c drops everything.
// The container init calls it as the last credential step, on its locked
// thread, after setresgid/setresuid. When the uid changes from 0, the caller
// must set PR_SET_KEEPCAPS before the switch (and may clear it after):
// otherwise the kernel empties the permitted set and nothing can be kept.
//
// Steps, in the order the kernel requires:
//  1. Raise effective to the whole permitted set: the uid switch cleared the
//     effective set, and the next two steps need CAP_SETPCAP in it.
//  2. Drop from the bounding set every capability not in c.Bounding
//     (PR_CAPBSET_DROP needs CAP_SETPCAP effective, so before step 3).
//  3. capset effective, permitted and inheritable.
//  4. Ambient: clear all, then raise each of c.Ambient that is permitted and
//     inheritable (the kernel refuses the others; as runc does, they are
//     skipped, and AmbientSkipped names them for a warning).
//
// Capabilities known to berth but not to the running kernel (see Unavailable)
// are skipped. An unknown name is an error naming it.
func Apply(c *specs.LinuxCapabilities) error {
	want, err := Masks(c)
	if err != nil {
		return err
	}
	if err := raiseEffective(); err != nil {
		return err
	}
	if err := dropBounding(want[0]); err != nil {
		return err
	}
	if err := capset(want[1], want[2], want[3]); err != nil {
		return fmt.Errorf("set effective/permitted/inheritable capabilities: %w", err)
	}
	return setAmbient(want[4] & want[2] & want[3])
}

// Masks are the bit masks of c's bounding, effective, permitted,
// inheritable and ambient sets, in that order, as Apply computes them
// (names the kernel lacks skipped, ambient not limited yet). An init that
// is not Go applies them (nsenter/plan.h OP_USER).
func Masks(c *specs.LinuxCapabilities) ([5]uint64, error) {
	var want [5]uint64
	if c == nil {
		return want, nil
	}
	for i, set := range [][]string{c.Bounding, c.Effective, c.Permitted, c.Inheritable, c.Ambient} {
		m, err := mask(set)
		if err != nil {
			return want, err
		}
		want[i] = m
	}
	return want, nil
}

// AmbientSkipped names the ambient capabilities of c that Apply will not
// raise because they are not in both the permitted and inheritable sets.
func AmbientSkipped(c *specs.LinuxCapabilities) []string {
	if c == nil {
		return nil
	}
	perm, inh := map[string]bool{}, map[string]bool{}
	for _, n := range c.Permitted {
		perm[n] = true
	}
	for _, n := range c.Inheritable {
		inh[n] = true
	}
	var skipped []string
	for _, n := range c.Ambient {
		if !perm[n] || !inh[n] {
			skipped = append(skipped, n)
		}
	}
	return skipped
}

// DropBounding drops from the calling thread's bounding set every capability
// not named in keep. It needs CAP_SETPCAP in the effective set, so call it
// before anything that clears that set (a uid switch from 0, or a capset
// without CAP_SETPCAP). Apply does this itself; DropBounding is for callers
// that only want the bounding set changed.
func DropBounding(keep []string) error {
	m, err := mask(keep)
	if err != nil {
		return err
	}
	return dropBounding(m)
}

// mask turns names into a bit mask, skipping those above Last.
func mask(set []string) (uint64, error) {
	var m uint64
	for _, name := range set {
		n, err := Parse(name)
		if err != nil {
			return 0, err
		}
		if n <= Last() {
			m |= 1 << uint(n)
		}
	}
	return m, nil
}

// raiseEffective makes effective equal to permitted, keeping inheritable.
func raiseEffective() error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capget: %w", err)
	}
	for i := range data {
		data[i].Effective = data[i].Permitted
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("raise effective capabilities to permitted: %w", err)
	}
	return nil
}

// dropBounding drops each capability not in keep that is still in the
// bounding set. Already-dropped ones are skipped, because PR_CAPBSET_DROP
// asks for CAP_SETPCAP even when there is nothing to drop.
func dropBounding(keep uint64) error {
	for n := 0; n <= Last(); n++ {
		if keep&(1<<uint(n)) != 0 {
			continue
		}
		in, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(n), 0, 0, 0)
		if err != nil {
			return fmt.Errorf("read %s from the bounding set: %w", capName(n), err)
		}
		if in == 0 {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(n), 0, 0, 0); err != nil {
			return fmt.Errorf("drop %s from the bounding set: %w", capName(n), err)
		}
	}
	return nil
}

// capset sets the three sets with the v3 header (two 32-bit words each).
func capset(eff, perm, inh uint64) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	for i := range data {
		shift := uint(32 * i)
		data[i].Effective = uint32(eff >> shift)
		data[i].Permitted = uint32(perm >> shift)
		data[i].Inheritable = uint32(inh >> shift)
	}
	return unix.Capset(&hdr, &data[0])
}

// setAmbient clears the ambient set and raises each capability in m.
func setAmbient(m uint64) error {
	err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
	if err != nil {
		// A kernel without ambient capabilities (< 4.3) has none to clear.
		if m == 0 && errors.Is(err, unix.EINVAL) {
			return nil
		}
		return fmt.Errorf("clear ambient capabilities: %w", err)
	}
	for n := 0; n <= Last(); n++ {
		if m&(1<<uint(n)) == 0 {
			continue
		}
		if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, uintptr(n), 0, 0); err != nil {
			return fmt.Errorf("raise ambient capability %s: %w", capName(n), err)
		}
	}
	return nil
}

// capName names capability n, also one the kernel knows and berth does not.
func capName(n int) string {
	if n < len(names) {
		return names[n]
	}
	return "capability " + strconv.Itoa(n)
}
