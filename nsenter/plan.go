package nsenter

import (
	"encoding/binary"
	"fmt"
)

// Operations of the init plan (plan.h has what each does and its fields).
const (
	OpRoot         = 1
	OpMount        = 2
	OpMknod        = 3
	OpSymlink      = 4
	OpPivot        = 5
	OpSysctl       = 6
	OpReadonly     = 7
	OpMask         = 8
	OpFinish       = 9
	OpHostname     = 10
	OpDomainname   = 11
	OpKeyring      = 12
	OpRlimit       = 13
	OpMkcwd        = 14
	OpNoNewPrivs   = 15
	OpAffinityAll  = 16
	OpSeccomp      = 17
	OpUser         = 18
	OpPrepareExec  = 19
	OpExec         = 20
	OpConsole      = 21
	OpHooks        = 22
	OpChdir        = 23
	OpClose        = 24
	MountDir       = 0
	MountFile      = 1
	ExecHome       = 1
	ExecListenPid  = 2
	attrPlan       = 4
	planFrameReady = 6
)

// Plan is an init plan being encoded: the container's setup as primitive
// operations that the C stub executes in order, so that no Go runtime
// starts in the container. Each operation starts with Op and is followed by
// its fields, in plan.h's order, through the typed appenders.
type Plan struct {
	buf   []byte
	start int // offset of the open operation's length field
}

// Op starts operation op; label names the config path it comes from, the
// prefix of its errors.
func (p *Plan) Op(op uint32, label string) *Plan {
	p.end()
	p.buf = binary.NativeEndian.AppendUint32(p.buf, op)
	p.start = len(p.buf)
	p.buf = binary.NativeEndian.AppendUint32(p.buf, 0)
	return p.Str(label)
}

// end fills in the length of the open operation.
func (p *Plan) end() {
	if len(p.buf) > 0 {
		binary.NativeEndian.PutUint32(p.buf[p.start:], uint32(len(p.buf)-p.start-4))
	}
}

// U32 appends a u32 field.
func (p *Plan) U32(v uint32) *Plan {
	p.buf = binary.NativeEndian.AppendUint32(p.buf, v)
	return p
}

// U64 appends a u64 field.
func (p *Plan) U64(v uint64) *Plan {
	p.buf = binary.NativeEndian.AppendUint64(p.buf, v)
	return p
}

// Bool appends a u32 field, 1 for true.
func (p *Plan) Bool(v bool) *Plan {
	if v {
		return p.U32(1)
	}
	return p.U32(0)
}

// Str appends a str field (length, bytes, NUL).
func (p *Plan) Str(s string) *Plan {
	p.U32(uint32(len(s)))
	p.buf = append(append(p.buf, s...), 0)
	return p
}

// Strs appends a strs field.
func (p *Plan) Strs(ss []string) *Plan {
	p.U32(uint32(len(ss)))
	for _, s := range ss {
		p.Str(s)
	}
	return p
}

// Bytes appends a bytes field.
func (p *Plan) Bytes(b []byte) *Plan {
	p.U32(uint32(len(b)))
	p.buf = append(p.buf, b...)
	return p
}

// U32s appends a u32s field.
func (p *Plan) U32s(vs []uint32) *Plan { return appendArray(p, vs, p.U32) }

// U64s appends a u64s field.
func (p *Plan) U64s(vs []uint64) *Plan { return appendArray(p, vs, p.U64) }

// appendArray appends an array field: its length, then each value.
func appendArray[T any](p *Plan, vs []T, put func(T) *Plan) *Plan {
	p.U32(uint32(len(vs)))
	for _, v := range vs {
		put(v)
	}
	return p
}

// Encoded returns the encoded plan.
func (p *Plan) Encoded() []byte {
	p.end()
	return p.buf
}

// PlanOps lists the operations of an encoded plan, checking its framing
// (for tests and debugging).
func PlanOps(buf []byte) ([]uint32, error) {
	var ops []uint32
	for off := 0; off < len(buf); {
		if len(buf)-off < 8 {
			return nil, fmt.Errorf("plan: truncated header at %d", off)
		}
		op := binary.NativeEndian.Uint32(buf[off:])
		n := int(binary.NativeEndian.Uint32(buf[off+4:]))
		if n > len(buf)-off-8 {
			return nil, fmt.Errorf("plan: op %d at %d: %d bytes, %d left", op, off, n, len(buf)-off-8)
		}
		ops = append(ops, op)
		off += 8 + n
	}
	return ops, nil
}
