package sync

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"syscall"
	"testing"
)

func TestFrameRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, Config, []byte(`{"id":"x"}`)); err != nil {
		t.Fatal(err)
	}
	if err := Write(&buf, Ready, nil); err != nil {
		t.Fatal(err)
	}
	p, err := Expect(&buf, Config)
	if err != nil || string(p) != `{"id":"x"}` {
		t.Fatalf("Expect(Config) = %q, %v", p, err)
	}
	if _, err := Expect(&buf, Ready); err != nil {
		t.Fatal(err)
	}
	if _, err := Expect(&buf, Ready); !errors.Is(err, ErrPeerGone) {
		t.Fatalf("read past the end: %v, want ErrPeerGone", err)
	}
}

func TestExpectRejectsUnexpected(t *testing.T) {
	var buf bytes.Buffer
	_ = Write(&buf, Ready, nil)
	_, err := Expect(&buf, Pid)
	if err == nil || !strings.Contains(err.Error(), "got ready, want pid") {
		t.Fatalf("err = %v", err)
	}
}

func TestErrorKeepsErrno(t *testing.T) {
	var buf bytes.Buffer
	WriteError(&buf, &wrapped{"mount /proc", syscall.EPERM})
	_, err := Expect(&buf, Ready)
	if !errors.Is(err, syscall.EPERM) {
		t.Fatalf("errno lost: %v", err)
	}
	if err.Error() != "mount /proc: operation not permitted" {
		t.Fatalf("message = %q", err.Error())
	}
	var re *RemoteError
	if !errors.As(err, &re) || re.Msg != "mount /proc" {
		t.Fatalf("not a RemoteError: %#v", err)
	}
}

type wrapped struct {
	msg string
	err error
}

func (w *wrapped) Error() string { return w.msg + ": " + w.err.Error() }
func (w *wrapped) Unwrap() error { return w.err }

func TestErrorWithoutErrno(t *testing.T) {
	err := DecodeError(EncodeError(errors.New("plain")))
	if err.Error() != "plain" || errors.Unwrap(err) != nil {
		t.Fatalf("got %v", err)
	}
	if DecodeError([]byte{1}).Error() != "malformed error frame" {
		t.Fatal("short error frame accepted")
	}
}

func TestOversizedFrame(t *testing.T) {
	hdr := []byte{byte(Config), 0, 0, 0, 0xff, 0xff, 0xff, 0x7f}
	if _, _, err := Read(bytes.NewReader(hdr)); err == nil {
		t.Fatal("2 GiB frame accepted")
	}
}

func TestSequence(t *testing.T) {
	cases := []struct {
		plan Plan
		want []Step
	}{
		{Plan{}, []Step{{From: Pid}, {From: Ready}}},
		{Plan{NewUserNS: true}, []Step{{From: UsermapReq, Reply: UsermapAck}, {From: Pid}, {From: Ready}}},
		{Plan{WaitRun: true}, []Step{{From: Pid}, {From: Ready, Reply: Run}}},
	}
	for _, c := range cases {
		if got := Sequence(c.plan); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Sequence(%+v) = %v, want %v", c.plan, got, c.want)
		}
	}
}

func TestTypeString(t *testing.T) {
	if Bootstrap.String() != "bootstrap" || Type(99).String() != "type(99)" {
		t.Fatal("names wrong")
	}
}
