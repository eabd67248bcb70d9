package nsenter

import (
	"encoding/binary"
	"strconv"
	"testing"

	"github.com/berthrt/berth/libcontainer/sync"
)

// TestCConstants checks that nsenter.h and the Go side agree.
func TestCConstants(t *testing.T) {
	defs := cDefines(t, "nsenter.h")
	want := map[string]int64{
		"FRAME_BOOTSTRAP": int64(sync.Bootstrap), "FRAME_USERMAP_REQ": int64(sync.UsermapReq),
		"FRAME_USERMAP_ACK": int64(sync.UsermapAck), "FRAME_PID": int64(sync.Pid),
		"FRAME_ERROR": int64(sync.Error), "FRAME_HOOKS": int64(sync.Hooks),
		"FRAME_HOOKS_DONE": int64(sync.HooksDone), "ATTR_CLONE_FLAGS": attrCloneFlags,
		"ATTR_NS_PATH": attrNSPath, "ATTR_TIMENS_OFFSETS": attrTimensOffsets,
		"NS_PATHS_MAX": NSPathsMax,
	}
	for name, v := range want {
		raw, ok := defs[name]
		if !ok {
			t.Errorf("%s missing from nsenter.h", name)
			continue
		}
		got, err := strconv.ParseInt(raw, 0, 64)
		if err != nil || got != v {
			t.Errorf("%s = %q in C, %d in Go", name, raw, v)
		}
	}
	if defs["BERTH_SYNC_ENV"] != strconv.Quote(SyncEnv) {
		t.Errorf("BERTH_SYNC_ENV = %s in C, %q in Go", defs["BERTH_SYNC_ENV"], SyncEnv)
	}
	if defs["BOOTSTRAP_MAX"] != "(64" || BootstrapMax != 64*1024 {
		t.Errorf("BOOTSTRAP_MAX differs")
	}
}

func TestEncode(t *testing.T) {
	b := Bootstrap{
		CloneFlags:    Flag("pid") | Flag("mount"),
		Join:          []NSPath{{Flag: Flag("network"), Path: "/proc/1/ns/net"}},
		TimensOffsets: "monotonic 1 0\n",
	}
	buf, err := b.Encode()
	if err != nil {
		t.Fatal(err)
	}
	type attr struct {
		typ uint32
		val []byte
	}
	var got []attr
	for off := 0; off < len(buf); {
		typ := binary.NativeEndian.Uint32(buf[off:])
		n := int(binary.NativeEndian.Uint32(buf[off+4:]))
		got = append(got, attr{typ, buf[off+8 : off+8+n]})
		off += 8 + n
	}
	if len(got) != 3 {
		t.Fatalf("got %d attributes, want 3", len(got))
	}
	if f := binary.NativeEndian.Uint32(got[0].val); got[0].typ != attrCloneFlags || f != b.CloneFlags {
		t.Errorf("clone flags attr = %d/%#x", got[0].typ, f)
	}
	if got[1].typ != attrNSPath || binary.NativeEndian.Uint32(got[1].val) != Flag("network") ||
		string(got[1].val[4:]) != "/proc/1/ns/net\x00" {
		t.Errorf("ns path attr = %d/%q", got[1].typ, got[1].val)
	}
	if got[2].typ != attrTimensOffsets || string(got[2].val) != "monotonic 1 0\n\x00" {
		t.Errorf("timens attr = %q", got[2].val)
	}
}

func TestEncodeLimits(t *testing.T) {
	b := Bootstrap{Join: make([]NSPath, NSPathsMax+1)}
	if _, err := b.Encode(); err == nil {
		t.Error("too many paths accepted")
	}
	if Flag("foo") != 0 || Flag("time") == 0 {
		t.Error("Flag mapping wrong")
	}
}
