package cgroups

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The cgroup v2 device controller is a BPF_PROG_TYPE_CGROUP_DEVICE program
// attached to the cgroup. The kernel runs it on every open and mknod of a
// device node with a struct bpf_cgroup_dev_ctx:
//
//	u32 access_type  // (access << 16) | type; type 1 block, 2 char;
//	                 // access bits 1 mknod, 2 read, 4 write
//	u32 major, minor
//
// and allows the operation when it returns 1.
//
// Semantics follow the v1 lists berth writes: everything denied, then the
// rules in order, a later rule overriding an earlier one. The program tests
// the rules last to first and returns at the first that matches; none
// matching is deny. An allow rule matches when it grants every access bit
// asked for; a deny rule matches when it refuses any of them (so "deny c
// 1:3 w" also refuses an O_RDWR open, as v1 does).

// devRule is one device rule in the program's terms; -1 is a wildcard.
type devRule struct {
	typ          int32 // -1 (a), 1 (b), 2 (c)
	major, minor int64
	access       int32 // bits of bpfAccess
	allow        bool
}

const (
	bpfDevBlock = 1
	bpfDevChar  = 2
	bpfMknod    = 1
	bpfRead     = 2
	bpfWrite    = 4
	bpfAll      = bpfMknod | bpfRead | bpfWrite
)

// toDevRules validates rules and converts them; errors name the index.
func toDevRules(rules []specs.LinuxDeviceCgroup) ([]devRule, error) {
	out := make([]devRule, 0, len(rules))
	for i, d := range rules {
		if _, err := formatDeviceRule(d); err != nil { // the v1 checks
			return nil, fmt.Errorf("[%d].%w", i, err)
		}
		r := devRule{typ: -1, major: -1, minor: -1, allow: d.Allow}
		switch d.Type {
		case "b":
			r.typ = bpfDevBlock
		case "c":
			r.typ = bpfDevChar
		}
		if d.Major != nil {
			r.major = *d.Major
		}
		if d.Minor != nil {
			r.minor = *d.Minor
		}
		for _, ch := range d.Access {
			r.access |= map[rune]int32{'m': bpfMknod, 'r': bpfRead, 'w': bpfWrite}[ch]
		}
		if r.major > 1<<31-1 || r.minor > 1<<31-1 {
			return nil, fmt.Errorf("[%d]: device number does not fit in 32 bits", i)
		}
		out = append(out, r)
	}
	return out, nil
}

// unconditional is true for a rule that matches every request.
func (r devRule) unconditional() bool {
	return r.typ == -1 && r.major == -1 && r.minor == -1 && r.access == bpfAll
}

// matches is the Go model of one rule's test in the program, for tests
// and documentation.
func (r devRule) matches(typ int32, major, minor int64, access int32) bool {
	if (r.typ != -1 && r.typ != typ) || (r.major != -1 && r.major != major) || (r.minor != -1 && r.minor != minor) {
		return false
	}
	if r.allow {
		return access&^r.access == 0
	}
	return access&r.access != 0
}

// decide is the Go model of the whole program.
func decide(rules []devRule, typ int32, major, minor int64, access int32) bool {
	for i := len(rules) - 1; i >= 0; i-- {
		if rules[i].matches(typ, major, minor, access) {
			return rules[i].allow
		}
	}
	return false
}

// deviceProgram assembles the filter. Registers: R2 type, R3 access, R4
// major, R5 minor; R1 is scratch once the context is read. Rules before
// the last unconditional one can never be reached and are left out (the
// verifier refuses unreachable code), as is the default deny after it.
func deviceProgram(rules []devRule) asm.Instructions {
	insns := asm.Instructions{
		asm.LoadMem(asm.R2, asm.R1, 0, asm.Word),
		asm.And.Imm32(asm.R2, 0xffff),
		asm.LoadMem(asm.R3, asm.R1, 0, asm.Word),
		asm.RSh.Imm32(asm.R3, 16),
		asm.LoadMem(asm.R4, asm.R1, 4, asm.Word),
		asm.LoadMem(asm.R5, asm.R1, 8, asm.Word),
	}
	next := ""
	for i := len(rules) - 1; i >= 0; i-- {
		r := rules[i]
		block := ruleBlock(r, "rule"+strconv.Itoa(i-1))
		if next != "" {
			block[0] = block[0].WithSymbol(next)
		}
		insns = append(insns, block...)
		next = "rule" + strconv.Itoa(i-1)
		if r.unconditional() {
			return insns
		}
	}
	deny := asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()}
	if next != "" {
		deny[0] = deny[0].WithSymbol(next)
	}
	return append(insns, deny...)
}

// ruleBlock tests one rule, jumping to skip when it does not match and
// returning its verdict when it does.
func ruleBlock(r devRule, skip string) asm.Instructions {
	var b asm.Instructions
	if r.typ != -1 {
		b = append(b, asm.JNE.Imm(asm.R2, r.typ, skip))
	}
	if r.access != bpfAll { // rwm matches every request, allowed or denied
		b = append(b, asm.Mov.Reg32(asm.R1, asm.R3))
		if r.allow { // every bit asked for is granted: (access & ^rule) == 0
			b = append(b, asm.And.Imm32(asm.R1, ^r.access&bpfAll), asm.JNE.Imm(asm.R1, 0, skip))
		} else { // any bit asked for is refused: (access & rule) != 0
			b = append(b, asm.And.Imm32(asm.R1, r.access), asm.JEq.Imm(asm.R1, 0, skip))
		}
	}
	if r.major != -1 {
		b = append(b, asm.JNE.Imm(asm.R4, int32(r.major), skip))
	}
	if r.minor != -1 {
		b = append(b, asm.JNE.Imm(asm.R5, int32(r.minor), skip))
	}
	verdict := int32(0)
	if r.allow {
		verdict = 1
	}
	return append(b, asm.Mov.Imm(asm.R0, verdict), asm.Return())
}

// setDeviceFilter loads the program for rules and attaches it to the
// cgroup dir with BPF_F_ALLOW_MULTI, then detaches the device programs
// attached there before (an earlier Set's): the new one is in place before
// the old go, so no access slips through in between. The attachment lives
// as long as the cgroup; no pin or link is needed.
func setDeviceFilter(dir string, rules []specs.LinuxDeviceCgroup) error {
	dr, err := toDevRules(rules)
	if err != nil {
		return err
	}
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Type:         ebpf.CGroupDevice,
		License:      "Apache-2.0",
		Instructions: deviceProgram(dr),
	})
	if err != nil {
		return fmt.Errorf("load the device filter: %w", err)
	}
	defer prog.Close()
	fd, err := openFile(dir, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return fmt.Errorf("open cgroup %s: %w", dir, err)
	}
	defer unix.Close(fd)
	old, err := link.QueryPrograms(link.QueryOptions{Target: fd, Attach: ebpf.AttachCGroupDevice})
	if err != nil {
		return fmt.Errorf("cgroup %s: query device programs: %w", dir, err)
	}
	if err := link.RawAttachProgram(link.RawAttachProgramOptions{
		Target: fd, Program: prog, Attach: ebpf.AttachCGroupDevice, Flags: unix.BPF_F_ALLOW_MULTI,
	}); err != nil {
		return fmt.Errorf("cgroup %s: attach the device filter: %w", dir, err)
	}
	var errs []error
	for _, p := range old.Programs {
		errs = append(errs, detachProgram(fd, p.ID))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("cgroup %s: detach the previous device filter: %w", dir, err)
	}
	return nil
}

func detachProgram(cgfd int, id ebpf.ProgramID) error {
	p, err := ebpf.NewProgramFromID(id)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return err
	}
	defer p.Close()
	err = link.RawDetachProgram(link.RawDetachProgramOptions{Target: cgfd, Program: p, Attach: ebpf.AttachCGroupDevice})
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	return err
}
