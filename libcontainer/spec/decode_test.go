package spec

import (
	"encoding/json"
	"reflect"
	"testing"

	jsonv2 "github.com/go-json-experiment/json"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestDecodeAgreesWithEncodingJSON: the fast decoder must give exactly what
// encoding/json gives for every config it accepts.
func TestDecodeAgreesWithEncodingJSON(t *testing.T) {
	ex, err := json.Marshal(Example())
	if err != nil {
		t.Fatal(err)
	}
	full := Example()
	full.Hostname, full.Domainname = "h", "d"
	full.Annotations = map[string]string{"a": "b"}
	full.Hooks = &specs.Hooks{Prestart: []specs.Hook{{Path: "/bin/true", Timeout: new(int)}}}
	limit := int64(-1)
	full.Linux.Resources = &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: &limit},
		Memory: &specs.LinuxMemory{Limit: &limit}, CPU: &specs.LinuxCPU{Cpus: "0-1"}}
	full.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: "SCMP_ACT_ALLOW",
		Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: "SCMP_ACT_ERRNO",
			Args: []specs.LinuxSeccompArg{{Index: 1, Value: 2, Op: "SCMP_CMP_EQ"}}}}}
	full.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"monotonic": {Secs: -3, Nanosecs: 5}}
	fb, err := json.Marshal(full)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{
		"example":            string(ex),
		"full":               string(fb),
		"any case":           `{"ociVersion":"1.0.0","Process":{"ARGS":["sh"],"cwd":"/"},"hostName":"x"}`,
		"repeated name":      `{"ociVersion":"1.0.0","hostname":"a","hostname":"b"}`,
		"invalid utf-8":      "{\"ociVersion\":\"1.0.0\",\"hostname\":\"a\xffb\"}",
		"nulls":              `{"ociVersion":"1.0.0","process":null,"mounts":null,"linux":{"sysctl":null,"namespaces":[{"type":"pid","path":null}]}}`,
		"unknown properties": `{"ociVersion":"1.0.0","x-vendor":{"deep":[1,2,{"a":null}]},"linux":{"future":true}}`,
		"big numbers":        `{"ociVersion":"1.0.0","linux":{"resources":{"memory":{"limit":9223372036854775807}}}}`,
	} {
		want, err1 := decodeV1([]byte(data))
		got, err2 := decode([]byte(data))
		if err1 != nil || err2 != nil {
			t.Errorf("%s: errors %v / %v", name, err1, err2)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: decoders differ:\n v2 %+v\n v1 %+v", name, got, want)
		}
		// and the fast path was the one taken
		if err := jsonv2.Unmarshal([]byte(data), new(specs.Spec), decodeOpts); err != nil {
			t.Errorf("%s: json v2 refused it (%v): decode fell back to encoding/json", name, err)
		}
	}
}
