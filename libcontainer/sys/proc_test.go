package sys

import (
	"os"
	"testing"
)

func TestParseStat(t *testing.T) {
	line := []byte("42 (a b) c)) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10 18446744073709551615")
	st, err := parseStat(line)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != 'S' || st.StartTime != 987654 {
		t.Errorf("got %c %d", st.State, st.StartTime)
	}
	if _, err := parseStat([]byte("1 (x) S 1")); err == nil {
		t.Error("short line accepted")
	}
}

func TestAlive(t *testing.T) {
	st, err := Stat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if !Alive(os.Getpid(), st.StartTime) {
		t.Error("self not alive")
	}
	if Alive(os.Getpid(), st.StartTime+1) {
		t.Error("wrong start time counted as alive")
	}
	if Alive(0, 0) || Alive(1<<22+7, 0) {
		t.Error("bogus pid alive")
	}
}

func TestRlimit(t *testing.T) {
	if r, ok := Rlimit("RLIMIT_NOFILE"); !ok || r != 7 {
		t.Errorf("RLIMIT_NOFILE = %d %v", r, ok)
	}
	if _, ok := Rlimit("RLIMIT_FOO"); ok {
		t.Error("unknown rlimit accepted")
	}
}
