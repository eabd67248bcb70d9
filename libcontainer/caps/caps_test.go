package caps

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

const childEnv = "BERTH_CAPS_TEST_CHILD"

// TestMain turns the test binary into the child process of the Apply tests
// when childEnv is set: capability changes are per thread and irreversible,
// so they run in a fresh process, never in the test process itself.
func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		runtime.LockOSThread()
		if err := child(mode); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func child(mode string) error {
	switch mode {
	case "drop-all":
		if err := Apply(nil); err != nil {
			return err
		}
	case "default":
		set := []string{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"}
		c := &specs.LinuxCapabilities{Bounding: set, Effective: set, Permitted: set}
		if err := Apply(c); err != nil {
			return err
		}
	case "nobody":
		return nobody()
	case "bad-ambient":
		c := &specs.LinuxCapabilities{Bounding: []string{"CAP_KILL"}, Ambient: []string{"CAP_KILL"}}
		if err := Apply(c); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown mode %q", mode)
	}
	b, err := os.ReadFile("/proc/thread-self/status")
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(b)
	return err
}

// nobody follows the init's order: keepcaps, switch to uid/gid 65534, Apply,
// then exec a program that prints its own status (ambient survives exec).
func nobody() error {
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
		return err
	}
	if err := syscall.Setresgid(65534, 65534, 65534); err != nil {
		return err
	}
	if err := syscall.Setresuid(65534, 65534, 65534); err != nil {
		return err
	}
	one := []string{"CAP_NET_BIND_SERVICE"}
	c := &specs.LinuxCapabilities{
		Bounding:  []string{"CAP_NET_BIND_SERVICE", "CAP_KILL"},
		Effective: one, Permitted: one, Inheritable: one, Ambient: one,
	}
	if err := Apply(c); err != nil {
		return err
	}
	return syscall.Exec("/bin/cat", []string{"cat", "/proc/self/status"}, nil)
}

// runChild re-execs the test binary in the given mode and returns the Cap*
// lines of the status it printed.
func runChild(t *testing.T, mode string) (map[string]uint64, error) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	got := map[string]uint64{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.HasPrefix(k, "Cap") {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				t.Fatalf("parse %q: %v", sc.Text(), err)
			}
			got[k] = n
		}
	}
	return got, nil
}

func bits(ns ...int) uint64 {
	var m uint64
	for _, n := range ns {
		m |= 1 << uint(n)
	}
	return m
}

func TestApply(t *testing.T) {
	def := bits(unix.CAP_AUDIT_WRITE, unix.CAP_KILL, unix.CAP_NET_BIND_SERVICE)
	nbs := bits(unix.CAP_NET_BIND_SERVICE)
	for _, tc := range []struct {
		mode string
		want map[string]uint64
	}{
		{"drop-all", map[string]uint64{"CapInh": 0, "CapPrm": 0, "CapEff": 0, "CapBnd": 0, "CapAmb": 0}},
		{"default", map[string]uint64{"CapInh": 0, "CapPrm": def, "CapEff": def, "CapBnd": def, "CapAmb": 0}},
		{"nobody", map[string]uint64{
			"CapInh": nbs, "CapPrm": nbs, "CapEff": nbs, "CapAmb": nbs,
			"CapBnd": nbs | bits(unix.CAP_KILL),
		}},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			got, err := runChild(t, tc.mode)
			if err != nil {
				t.Fatal(err)
			}
			for k, w := range tc.want {
				if g, ok := got[k]; !ok || g != w {
					t.Errorf("%s = %016x, want %016x", k, g, w)
				}
			}
		})
	}
}

// An ambient capability that is not permitted and inheritable is skipped
// (runc does the same), and AmbientSkipped names it for the warning.
func TestApplyAmbientSkipped(t *testing.T) {
	out, err := runChild(t, "bad-ambient")
	if err != nil {
		t.Fatal(err)
	}
	if amb, ok := out["CapAmb"]; !ok || amb != 0 {
		t.Fatalf("ambient raised anyway: %v", out)
	}
	c := &specs.LinuxCapabilities{Permitted: []string{"CAP_KILL"}, Ambient: []string{"CAP_KILL", "CAP_CHOWN"}}
	if sk := AmbientSkipped(c); len(sk) != 2 {
		t.Fatalf("AmbientSkipped = %v", sk)
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name string
		want int
	}{
		{"CAP_CHOWN", 0},
		{"CAP_SYS_ADMIN", 21},
		{"CAP_AUDIT_READ", 37},
		{"CAP_CHECKPOINT_RESTORE", 40},
	} {
		if got, err := Parse(tc.name); err != nil || got != tc.want {
			t.Errorf("Parse(%q) = %d, %v; want %d", tc.name, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "CAP_FOO", "cap_chown", "CHOWN", " CAP_CHOWN"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) succeeded", bad)
		} else if want := strconv.Quote(bad) + " is not a capability"; err.Error() != want {
			t.Errorf("Parse(%q) error %q, want %q", bad, err, want)
		}
	}
}

func TestNames(t *testing.T) {
	ns := Names()
	if len(ns) != 41 || ns[0] != "CAP_CHOWN" || ns[40] != "CAP_CHECKPOINT_RESTORE" {
		t.Fatalf("Names() = %v", ns)
	}
	for i, name := range ns {
		if name == "" {
			t.Errorf("capability %d has no name", i)
		}
		if n, err := Parse(name); err != nil || n != i {
			t.Errorf("Parse(Names()[%d] = %q) = %d, %v", i, name, n, err)
		}
	}
	ns[0] = "changed"
	if Names()[0] != "CAP_CHOWN" {
		t.Error("Names returns the package's own slice")
	}
}

func TestLast(t *testing.T) {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		t.Skip(err)
	}
	want, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if got := Last(); got != want {
		t.Fatalf("Last() = %d, want %d", got, want)
	}
}

func TestUnavailable(t *testing.T) {
	c := &specs.LinuxCapabilities{
		Bounding: Names(), Effective: Names(), Ambient: []string{"CAP_FOO"},
	}
	var want []string
	for n := Last() + 1; n < len(names); n++ {
		want = append(want, names[n])
	}
	got := Unavailable(c)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Unavailable = %v, want %v", got, want)
	}
	if Unavailable(nil) != nil {
		t.Fatal("Unavailable(nil) != nil")
	}
}

func TestApplyUnknownName(t *testing.T) {
	// Fails while parsing, before touching the thread's capabilities.
	err := Apply(&specs.LinuxCapabilities{Effective: []string{"CAP_FOO"}})
	if err == nil || err.Error() != `"CAP_FOO" is not a capability` {
		t.Fatalf("err = %v", err)
	}
}

func TestNotHeld(t *testing.T) {
	bnd, err := ownBounding()
	if err != nil {
		t.Fatal(err)
	}
	var held, lacking []string
	for _, name := range Names() {
		n, _ := Parse(name)
		if n > Last() {
			continue
		}
		if bnd&(1<<uint(n)) != 0 {
			held = append(held, name)
		} else {
			lacking = append(lacking, name)
		}
	}
	if got := NotHeld(&specs.LinuxCapabilities{Bounding: held, Permitted: held}); len(got) != 0 {
		t.Errorf("NotHeld(held caps) = %v", got)
	}
	got := NotHeld(&specs.LinuxCapabilities{Bounding: Names(), Effective: Names()})
	if len(got) != len(lacking) {
		t.Errorf("NotHeld(all) = %v, want %v", got, lacking)
	}
	if NotHeld(nil) != nil {
		t.Error("NotHeld(nil) != nil")
	}
}
