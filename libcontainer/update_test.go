package libcontainer

import (
	"encoding/json"
	"reflect"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestMergeSet(t *testing.T) {
	var dst, src specs.LinuxResources
	json.Unmarshal([]byte(`{"memory": {"limit": 1, "swap": 2}, "cpu": {"cpus": "0"}, "pids": {"limit": 3}}`), &dst)
	json.Unmarshal([]byte(`{"memory": {"limit": 5}, "cpu": {"shares": 7}, "blockIO": {"weight": 100}}`), &src)
	mergeSet(reflect.ValueOf(&dst).Elem(), reflect.ValueOf(&src).Elem())
	got, _ := json.Marshal(dst)
	want := `{"memory":{"limit":5,"swap":2},"cpu":{"shares":7,"cpus":"0"},"pids":{"limit":3},"blockIO":{"weight":100}}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
