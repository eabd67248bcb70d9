package nsenter

import (
	"bufio"
	"encoding/binary"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestPlanConstants checks that plan.h and plan.go agree.
func TestPlanConstants(t *testing.T) {
	defs := cDefines(t, "plan.h")
	want := map[string]int64{
		"OP_ROOT": OpRoot, "OP_MOUNT": OpMount, "OP_MKNOD": OpMknod, "OP_SYMLINK": OpSymlink,
		"OP_PIVOT": OpPivot, "OP_SYSCTL": OpSysctl, "OP_READONLY": OpReadonly, "OP_MASK": OpMask,
		"OP_FINISH": OpFinish, "OP_HOSTNAME": OpHostname, "OP_DOMAINNAME": OpDomainname,
		"OP_KEYRING": OpKeyring, "OP_RLIMIT": OpRlimit, "OP_MKCWD": OpMkcwd,
		"OP_NO_NEW_PRIVS": OpNoNewPrivs, "OP_AFFINITY_ALL": OpAffinityAll, "OP_SECCOMP": OpSeccomp,
		"OP_USER": OpUser, "OP_PREPARE_EXEC": OpPrepareExec, "OP_EXEC": OpExec, "OP_CONSOLE": OpConsole, "OP_HOOKS": OpHooks, "OP_CHDIR": OpChdir, "OP_CLOSE": OpClose,
		"MOUNT_DIR": MountDir, "MOUNT_FILE": MountFile, "EXEC_HOME": ExecHome,
		"EXEC_LISTEN_PID": ExecListenPid, "FRAME_READY": planFrameReady,
	}
	for name, v := range want {
		raw, ok := defs[name]
		if !ok {
			t.Errorf("%s missing from plan.h", name)
			continue
		}
		if got, err := strconv.ParseInt(raw, 0, 64); err != nil || got != v {
			t.Errorf("%s = %q in C, %d in Go", name, raw, v)
		}
	}
	if raw := cDefines(t, "nsenter.h")["ATTR_PLAN"]; raw != strconv.Itoa(attrPlan) {
		t.Errorf("ATTR_PLAN = %q in C, %d in Go", raw, attrPlan)
	}
}

// cDefines reads the first word of each #define of a header.
func cDefines(t *testing.T, file string) map[string]string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	defs := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 3 && fields[0] == "#define" {
			defs[fields[1]] = fields[2]
		}
	}
	return defs
}

// TestPlanEncoding checks the field layout plan.h describes.
func TestPlanEncoding(t *testing.T) {
	var p Plan
	p.Op(OpHostname, "hostname").Str("box")
	p.Op(OpUser, "user").U32(7).U32s([]uint32{1, 2}).U64(1 << 40).Strs([]string{"a"}).Bytes([]byte{9})
	buf := p.Encoded()
	ops, err := PlanOps(buf)
	if err != nil || len(ops) != 2 || ops[0] != OpHostname || ops[1] != OpUser {
		t.Fatalf("ops %v, %v", ops, err)
	}
	u32 := func(off int) uint32 { return binary.NativeEndian.Uint32(buf[off:]) }
	// op 1: header, label "hostname" (4+8+1), name "box" (4+3+1)
	if u32(0) != OpHostname || u32(4) != 13+8 {
		t.Fatalf("op 1 header %d %d", u32(0), u32(4))
	}
	if string(buf[12:20]) != "hostname" || buf[20] != 0 || u32(21) != 3 || string(buf[25:28]) != "box" || buf[28] != 0 {
		t.Fatalf("op 1 fields % x", buf[8:29])
	}
	o := 29
	if u32(o) != OpUser {
		t.Fatalf("op 2 at %d: %d", o, u32(o))
	}
	f := o + 8 + 4 + 4 + 1 // after the label "user"
	if u32(f) != 7 || u32(f+4) != 2 || u32(f+8) != 1 || u32(f+12) != 2 ||
		binary.NativeEndian.Uint64(buf[f+16:]) != 1<<40 || u32(f+24) != 1 || u32(f+28) != 1 ||
		buf[f+32] != 'a' || buf[f+33] != 0 || u32(f+34) != 1 || buf[f+38] != 9 || len(buf) != f+39 {
		t.Fatalf("op 2 fields % x", buf[f:])
	}
	if int(u32(o+4)) != len(buf)-o-8 {
		t.Fatalf("op 2 length %d, want %d", u32(o+4), len(buf)-o-8)
	}
	if _, err := PlanOps(buf[:len(buf)-1]); err == nil {
		t.Fatal("truncated plan accepted")
	}
}
