package cgroups

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// AllowedDevices returns the rules Set appends after the configured ones,
// as runc's AllowedDevices does (specconv): mknod of any char or block
// device, /dev/null, random, full, tty, zero, urandom, /dev/pts/* (136:*)
// and /dev/ptmx (5:2). runc dropped /dev/console (5:1) and tun (10:200)
// from this list; a console is a pts, covered by 136:*. Appended last, they
// cannot be denied by the config, as with runc.
func AllowedDevices() []specs.LinuxDeviceCgroup {
	c := func(major, minor int64, access string) specs.LinuxDeviceCgroup {
		r := specs.LinuxDeviceCgroup{Allow: true, Type: "c", Access: access}
		if major >= 0 {
			r.Major = &major
		}
		if minor >= 0 {
			r.Minor = &minor
		}
		return r
	}
	return []specs.LinuxDeviceCgroup{
		c(-1, -1, "m"),
		{Allow: true, Type: "b", Access: "m"},
		c(1, 3, "rwm"),    // null
		c(1, 8, "rwm"),    // random
		c(1, 7, "rwm"),    // full
		c(5, 0, "rwm"),    // tty
		c(1, 5, "rwm"),    // zero
		c(1, 9, "rwm"),    // urandom
		c(136, -1, "rwm"), // pts
		c(5, 2, "rwm"),    // ptmx
	}
}

// deviceLine is one write to devices.allow or devices.deny.
type deviceLine struct {
	allow bool
	rule  string
}

// deviceRules turns rules into cgroup v1 lines, validating all of them
// before anything is written. field names the JSON list for errors.
func deviceRules(field string, rules []specs.LinuxDeviceCgroup) ([]deviceLine, error) {
	var out []deviceLine
	for i, d := range rules {
		lines, err := formatDeviceRule(d)
		if err != nil {
			return nil, fmt.Errorf("%s[%d].%w", field, i, err)
		}
		for _, l := range lines {
			out = append(out, deviceLine{allow: d.Allow, rule: l})
		}
	}
	return out, nil
}

// formatDeviceRule renders one rule in the kernel's "type major:minor
// access" form. Type "" means "a", as in runc. The kernel reads only the
// letter of an "a" rule and grants or refuses everything, so "a" is written
// alone only for all devices with all of rwm; a narrower "a" rule becomes a
// "c" and a "b" rule with the same numbers and access. Errors start with the
// JSON field name so the caller can prefix the list path.
func formatDeviceRule(d specs.LinuxDeviceCgroup) ([]string, error) {
	access, err := checkAccess(d.Access)
	if err != nil {
		return nil, err
	}
	major, err := devNumber("major", d.Major)
	if err != nil {
		return nil, err
	}
	minor, err := devNumber("minor", d.Minor)
	if err != nil {
		return nil, err
	}
	switch d.Type {
	case "c", "b":
		return []string{d.Type + " " + major + ":" + minor + " " + access}, nil
	case "", "a":
		if major == "*" && minor == "*" && len(access) == 3 {
			return []string{"a"}, nil
		}
		num := " " + major + ":" + minor + " " + access
		return []string{"c" + num, "b" + num}, nil
	}
	return nil, fmt.Errorf("type: %q is not one of a, b, c", d.Type)
}

func checkAccess(a string) (string, error) {
	if a == "" {
		return "", errors.New("access: must not be empty (some of r, w, m)")
	}
	seen := 0
	for _, ch := range a {
		bit := strings.IndexRune("rwm", ch)
		if bit < 0 || seen&(1<<bit) != 0 {
			return "", fmt.Errorf("access: %q is not a set of r, w, m", a)
		}
		seen |= 1 << bit
	}
	return a, nil
}

// devNumber renders a device number; nil or -1 (runc's wildcard) is "*".
func devNumber(field string, n *int64) (string, error) {
	if n == nil || *n == -1 {
		return "*", nil
	}
	if *n < 0 {
		return "", fmt.Errorf("%s: %d is below 0", field, *n)
	}
	return strconv.FormatInt(*n, 10), nil
}

// writeDevices denies everything, then writes lines in order. On a running
// container this briefly denies all devices; runc avoids that by diffing
// against devices.list, which `update` will need.
func writeDevices(dir string, lines []deviceLine) error {
	allow, err := openFile(dir+"/devices.allow", unix.O_WRONLY)
	if err != nil {
		return fmt.Errorf("cgroup %s: open devices.allow: %w", dir, err)
	}
	defer unix.Close(allow)
	deny, err := openFile(dir+"/devices.deny", unix.O_WRONLY)
	if err != nil {
		return fmt.Errorf("cgroup %s: open devices.deny: %w", dir, err)
	}
	defer unix.Close(deny)
	for _, l := range append([]deviceLine{{allow: false, rule: "a"}}, lines...) {
		fd, file := deny, "devices.deny"
		if l.allow {
			fd, file = allow, "devices.allow"
		}
		if err := writeString(fd, l.rule); err != nil {
			return fmt.Errorf("cgroup %s: write %s %q: %w", dir, file, l.rule, err)
		}
	}
	return nil
}
