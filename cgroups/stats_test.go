package cgroups

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestParsePSI(t *testing.T) {
	got, err := parsePSI("some avg10=2.67 avg60=9.63 avg300=6.96 total=203676681\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=7\n")
	want := &PSIStats{Some: PSIData{2.67, 9.63, 6.96, 203676681}, Full: PSIData{Total: 7}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, %v", got, err)
	}
	if _, err := parsePSI("some avg10=x avg60=0 avg300=0 total=0"); err == nil {
		t.Error("bad number accepted")
	}
}

func TestBlkioEntries(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "f"), []byte("254:0 Read 16\n254:0 Write 32\nTotal 48\n"), 0o644)
	got, err := blkioEntries(dir, "f")
	want := []BlkioEntry{{254, 0, "Read", 16}, {254, 0, "Write", 32}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, %v", got, err)
	}
}

func TestPageSizeName(t *testing.T) {
	for kb, want := range map[uint64]string{2048: "2MB", 1048576: "1GB", 64: "64KB"} {
		if got := pageSizeName(kb); got != want {
			t.Errorf("%d: got %s, want %s", kb, got, want)
		}
	}
}

func TestStatsV1FakeTree(t *testing.T) {
	m, _ := fakeV1(t)
	for ctrl, files := range v1Files { // the fake files start empty
		for f := range files {
			os.WriteFile(filepath.Join(m.paths[ctrl], f), []byte("0\n"), 0o644)
		}
	}
	os.WriteFile(filepath.Join(m.paths["pids"], "pids.current"), []byte("3\n"), 0o644)
	os.WriteFile(filepath.Join(m.paths["pids"], "pids.max"), []byte("max\n"), 0o644)
	os.WriteFile(filepath.Join(m.paths["memory"], "memory.stat"), []byte("cache 4096\nrss 8192\n"), 0o644)
	os.WriteFile(filepath.Join(m.paths["memory"], "memory.oom_control"), []byte("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n"), 0o644)
	os.WriteFile(filepath.Join(m.paths["cpuset"], "cpuset.cpus"), []byte("0-1\n"), 0o644)
	os.WriteFile(filepath.Join(m.paths["cpuset"], "cpuset.mems"), []byte("0\n"), 0o644)
	s, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if s.Pids != (Pids{Current: 3}) || s.Memory.Cache != 4096 || s.Memory.Raw["rss"] != 8192 ||
		s.Memory.EventCount.OOMKill != 2 || !reflect.DeepEqual(s.CPUSet.CPUs, []uint16{0, 1}) {
		t.Errorf("got %+v", s)
	}
}
