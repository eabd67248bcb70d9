package checkpoint

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestErrorLinesQuotesErrorsWithoutPrefixOrNoise(t *testing.T) {
	log := `(00.000010) Version: 4.1.1
(00.000020) Error (criu/util.c:1533): rlimit: Can't setup RLIMIT_NOFILE for self: Operation not permitted
(00.000030) Warn  (criu/kerndat.c:1): something
(00.000040)      1: Error (criu/image.c:558): Magic doesn't match for inventory.img
`
	got := errorLines(bufio.NewScanner(strings.NewReader(log)))
	want := []string{"Error (criu/image.c:558): Magic doesn't match for inventory.img"}
	if len(got) != 1 || got[0] != want[0] {
		t.Fatalf("errorLines = %q, want %q", got, want)
	}
}

func TestErrorNamesLogAndLines(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "restore.log"), []byte("(0.1) Error (a.c:1): boom\n"), 0o600)
	e := newError("restore", &rpcError{msg: "boom", errno: 2}, dir, "restore.log")
	s := e.Error()
	for _, w := range []string{"criu restore failed", "Error (a.c:1): boom", "full log: " + filepath.Join(dir, "restore.log")} {
		if !strings.Contains(s, w) {
			t.Errorf("%q does not contain %q", s, w)
		}
	}
	var re *rpcError
	if !errors.As(e, &re) {
		t.Error("the RPC error does not unwrap")
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []struct {
		o    Options
		want string
	}{
		{Options{ImagePath: "/x", ManageCgroupsMode: "full"}, ""},
		{Options{}, "--image-path"},
		{Options{ImagePath: "/x", ManageCgroupsMode: "bogus"}, "--manage-cgroups-mode"},
		{Options{ImagePath: "/x", PageServer: "127.0.0.1"}, "ADDRESS:PORT"},
		{Options{ImagePath: "/x", PageServer: "127.0.0.1:0"}, "bad port"},
		{Options{ImagePath: "/x", PageServer: "[::1]:27277"}, ""},
	} {
		err := c.o.Validate()
		if (err == nil) != (c.want == "") || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%+v: Validate() = %v, want %q", c.o, err, c.want)
		}
	}
	if a, p, _ := splitPageServer("[::1]:27277"); a != "::1" || p != 27277 {
		t.Errorf("splitPageServer = %q %d", a, p)
	}
}

func TestErrorHintsAtKnownCauses(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "dump.log"), []byte("(0.1) Error (criu/sockets.c:628): sockets: Can't get 1:16 opt: Operation not supported\n"), 0o600)
	s := newError("dump", &rpcError{msg: "x"}, dir, "dump.log").Error()
	if !strings.Contains(s, "hint: kernels >= 6.16") || !strings.Contains(s, "CRIU >= 4.2") {
		t.Errorf("no hint in %q", s)
	}
}
