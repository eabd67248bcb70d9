package libcontainer

import (
	"reflect"
	"testing"
)

func TestFilterNotify(t *testing.T) {
	for _, tc := range []struct {
		in    string
		want  []string
		ready bool
	}{
		{"READY=1", []string{"READY=1"}, true},
		{"STATUS=up\nREADY=1\n", []string{"STATUS=up", "READY=1"}, true},
		{"READY=0", []string{"READY=0"}, false},
		// The container's pid view and fd store mean nothing to the host.
		{"MAINPID=1\nFDSTORE=1\nNOTIFYACCESS=all\nBARRIER=1", nil, false},
		{"WATCHDOG=1\nbogus\n=x", []string{"WATCHDOG=1"}, false},
	} {
		got, ready := filterNotify([]byte(tc.in))
		if !reflect.DeepEqual(got, tc.want) || ready != tc.ready {
			t.Errorf("filterNotify(%q) = %q, %v; want %q, %v", tc.in, got, ready, tc.want, tc.ready)
		}
	}
}

func TestNotifyPathInContainer(t *testing.T) {
	for in, want := range map[string]string{
		"/run/systemd/notify":    "/run/systemd/notify",
		"/run//systemd/./notify": "/run/systemd/notify",
		"@/org/systemd/notify":   "/run/notify/notify.sock",
		"relative":               "/run/notify/notify.sock",
	} {
		if got := notifyPathInContainer(in); got != want {
			t.Errorf("notifyPathInContainer(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSetEnv(t *testing.T) {
	got := setEnv([]string{"A=1", "NOTIFY_SOCKET=/x", "NOTIFY_SOCKETS=y"}, "NOTIFY_SOCKET", "/z")
	want := []string{"A=1", "NOTIFY_SOCKETS=y", "NOTIFY_SOCKET=/z"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("setEnv = %q, want %q", got, want)
	}
}
