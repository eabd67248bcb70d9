package spec

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// A sysctl is accepted only when it belongs to a kernel namespace the
// container owns, as runc does: otherwise writing it would change the host.
// IPC sysctls need an ipc namespace, net.* a network namespace, the uts
// ones a uts namespace; a namespace joined by path must not be berth's own
// (the "host" one). Everything else is global and refused.

// sysctlNamespace returns the namespace a sysctl belongs to, or "" for a
// global one. key is in dotted form.
func sysctlNamespace(key string) specs.LinuxNamespaceType {
	switch {
	case strings.HasPrefix(key, "kernel.msg"), strings.HasPrefix(key, "kernel.sem"),
		strings.HasPrefix(key, "kernel.shm"), strings.HasPrefix(key, "fs.mqueue."):
		return specs.IPCNamespace
	case strings.HasPrefix(key, "net."):
		return specs.NetworkNamespace
	case key == "kernel.hostname" || key == "kernel.domainname":
		return specs.UTSNamespace
	}
	return ""
}

// nsProcName is the name of a namespace type under /proc/<pid>/ns.
var nsProcName = map[specs.LinuxNamespaceType]string{
	specs.IPCNamespace: "ipc", specs.NetworkNamespace: "net", specs.UTSNamespace: "uts",
}

// checkSysctl checks every key of linux.sysctl (in sorted order, so the
// error is the same on every run).
func checkSysctl(s *specs.Spec) error {
	sysctl := linux(s).Sysctl
	for _, key := range slices.Sorted(maps.Keys(sysctl)) {
		p := fmt.Sprintf("linux.sysctl[%q]", key)
		if _, err := SysctlPath(key); err != nil {
			return fieldErr(p, "%v", err)
		}
		dotted := key
		if strings.Contains(key, "/") {
			dotted = strings.ReplaceAll(key, "/", ".")
		}
		t := sysctlNamespace(dotted)
		if t == "" {
			return fieldErr(p, "not a namespaced sysctl (writing it would change the host)")
		}
		if err := ownsNamespace(s, t); err != "" {
			return fieldErr(p, "%s", err)
		}
		if dotted == "kernel.hostname" && s.Hostname != "" || dotted == "kernel.domainname" && s.Domainname != "" {
			return fieldErr(p, "conflicts with the %s field", strings.TrimPrefix(dotted, "kernel."))
		}
	}
	return nil
}

// ownsNamespace says why the container does not own a namespace of type t
// ("" when it does).
func ownsNamespace(s *specs.Spec, t specs.LinuxNamespaceType) string {
	ns := Namespace(s, t)
	if ns == nil {
		return fmt.Sprintf("needs its own %s namespace, and linux.namespaces has none", t)
	}
	if ns.Path != "" && sameFile(ns.Path, "/proc/self/ns/"+nsProcName[t]) {
		return fmt.Sprintf("the %s namespace joined (%s) is berth's own, the host's", t, ns.Path)
	}
	return ""
}

func sameFile(a, b string) bool {
	var sa, sb syscall.Stat_t
	return syscall.Stat(a, &sa) == nil && syscall.Stat(b, &sb) == nil && sa.Dev == sb.Dev && sa.Ino == sb.Ino
}

// SysctlPath returns the path of a sysctl under /proc/sys. Like sysctl(8),
// it takes dots as separators ("net.ipv4.ip_forward"), or slashes when the
// key has any, so that a name with a dot in it can be written
// ("net/ipv4/conf/eth0.100/forwarding"). The result is relative and has no
// "." or ".." component.
func SysctlPath(key string) (string, error) {
	sep := "."
	if strings.Contains(key, "/") {
		sep = "/"
	}
	parts := strings.Split(key, sep)
	for _, part := range parts {
		if part == "" || part == "." || part == ".." || strings.ContainsRune(part, 0) || strings.Contains(part, "/") && sep == "." {
			return "", fmt.Errorf("not a sysctl name")
		}
	}
	return strings.Join(parts, string(os.PathSeparator)), nil
}
