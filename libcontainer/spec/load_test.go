package spec

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeBundle makes a bundle with a rootfs and the given config.json.
func writeBundle(t *testing.T, config string) string {
	t.Helper()
	dir := bundleDir(t)
	if err := os.WriteFile(filepath.Join(dir, ConfigName), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func exampleJSON(t *testing.T) string {
	t.Helper()
	b, err := json.MarshalIndent(Example(), "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestLoadDecodeErrors(t *testing.T) {
	for _, tc := range []struct{ name, config, want string }{
		{"empty", "  \n", `config.json: invalid JSON: the file is empty`},
		{"syntax", "{\n  \"ociVersion\": \"1.0.0\",\n  \"process\": {,\n}",
			`config.json: invalid JSON at line 3 column 15: invalid character ',' looking for beginning of object key string`},
		{"trailing comma", "{\"a\": 1,\n}",
			`config.json: invalid JSON at line 2 column 1: invalid character '}' looking for beginning of object key string`},
		{"truncated", "{\n\"process\": {\"cwd\": \"/\"}\n",
			`config.json: invalid JSON at line 3 column 1: unexpected end of input`},
		{"trailing data", "{}\n {}", `config.json: invalid JSON at line 2 column 2: data after the top-level object`},
		{"trailing garbage", "{} x",
			`config.json: invalid JSON at line 1 column 4: data after the top-level object`},
		{"uid string", `{"process": {"user": {"uid": "abc"}}}`, `config.json: process.user.uid: "abc" is not a uint32`},
		{"uid negative", `{"process": {"user": {"uid": -1}}}`, `config.json: process.user.uid: -1 is not a uint32`},
		{"uid fraction", `{"process": {"user": {"gid": 1.5}}}`, `config.json: process.user.gid: 1.5 is not a uint32`},
		{"namespace index", `{"linux": {"namespaces": [{"type": "pid"}, {"type": 5}]}}`,
			`config.json: linux.namespaces[1].type: 5 is not a string`},
		{"nested index", `{"mounts": [{}, {}, {"options": ["ro", true]}]}`,
			`config.json: mounts[2].options[1]: true is not a string`},
		{"object expected", `{"process": "x"}`, `config.json: process: "x" is not an object`},
		{"array for object", `{"process": {"user": [1, 2]}}`, `config.json: process.user: [...] is not an object`},
		{"array expected", `{"process": {"args": "sh"}}`, `config.json: process.args: "sh" is not an array`},
		{"object for string", `{"hostname": {"a": 1}}`, `config.json: hostname: {...} is not a string`},
		{"boolean", `{"process": {"terminal": "yes"}}`, `config.json: process.terminal: "yes" is not a boolean`},
		{"map value", `{"linux": {"timeOffsets": {"monotonic": {"secs": "x"}}}}`,
			`config.json: linux.timeOffsets.monotonic.secs: "x" is not an int64`},
		{"after unknown keys", `{"x": {"y": [1, {"z": 2}]}, "ociVersion": 1}`, `config.json: ociVersion: 1 is not a string`},
		{"top level", `[1]`, `config.json: [...] is not an object`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(writeBundle(t, tc.config))
			if err == nil || err.Error() != tc.want {
				t.Fatalf("got  %v\nwant %s", err, tc.want)
			}
			if strings.Contains(tc.want, " is not ") {
				var fe *FieldError
				if !errors.As(err, &fe) {
					t.Fatalf("%T does not wrap a *FieldError", err)
				}
			}
		})
	}
}

func TestLoad(t *testing.T) {
	// Unknown properties are ignored at every level.
	config := strings.Replace(exampleJSON(t), `"ociVersion"`, `"futureField": {"a": [1]}, "ociVersion"`, 1)
	config = strings.Replace(config, `"cwd"`, `"futureProcessField": true, "cwd"`, 1)
	// A relative mount destination is made absolute.
	config = strings.Replace(config, `"destination": "/dev/mqueue"`, `"destination": "dev/mqueue"`, 1)
	s, err := Load(writeBundle(t, config))
	if err != nil {
		t.Fatal(err)
	}
	if s.Hostname != "berth" || s.Process.Args[0] != "sh" {
		t.Errorf("loaded %+v", s)
	}
	if d := s.Mounts[4].Destination; d != "/dev/mqueue" {
		t.Errorf("relative destination became %q", d)
	}
}

func TestLoadValidates(t *testing.T) {
	config := strings.Replace(exampleJSON(t), `"sh"`, ``, 1)
	_, err := Load(writeBundle(t, config))
	var fe *FieldError
	if err == nil || err.Error() != "config.json: process.args: must not be empty" || !errors.As(err, &fe) {
		t.Fatalf("err = %v", err)
	}
}

func TestLoadMissing(t *testing.T) {
	_, err := Load(t.TempDir())
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), ConfigName) {
		t.Fatalf("err = %v", err)
	}
}
