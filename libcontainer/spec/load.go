package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ConfigName is the name of the configuration file in a bundle.
const ConfigName = "config.json"

// Load reads <bundle>/config.json, normalizes it (see Normalize) and
// validates it (see Validate). Unknown properties are ignored, as the OCI
// spec requires; malformed JSON and wrongly typed values are one-line errors
// prefixed with "config.json: " that give the line and column, or the JSON
// path and the value. Every error about a field wraps a *FieldError.
func Load(bundle string) (*specs.Spec, error) {
	s, _, err := LoadRaw(bundle)
	return s, err
}

// LoadRaw is Load that also returns the file's bytes, so that a caller who
// must pass the config on (to the container init, to the state dir) can do
// so without encoding it again: encoding/json's first encode of the Spec
// type graph costs more than the whole decode.
func LoadRaw(bundle string) (*specs.Spec, []byte, error) {
	data, err := os.ReadFile(filepath.Join(bundle, ConfigName))
	if err != nil {
		return nil, nil, err
	}
	s, err := decode(data)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", ConfigName, err)
	}
	Normalize(s)
	if err := Validate(s, bundle); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", ConfigName, err)
	}
	return s, data, nil
}

// Normalize rewrites the forms berth accepts but does not want to handle
// twice. Today: a relative mounts[i].destination is deprecated but allowed
// by the spec ("relative to /"); runc warns and accepts it. berth accepts it
// silently and makes it absolute here, so later stages only see absolute
// destinations.
func Normalize(s *specs.Spec) {
	for i := range s.Mounts {
		m := &s.Mounts[i]
		if m.Destination != "" && !path.IsAbs(m.Destination) {
			m.Destination = path.Join("/", m.Destination)
		}
	}
}

// decodeOpts make the fast decoder accept what encoding/json accepts: names
// in any case, a repeated name (the last one wins), invalid UTF-8.
var decodeOpts = jsonv2.JoinOptions(jsonv2.MatchCaseInsensitiveNames(true),
	jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))

// decode parses one JSON object and nothing after it.
//
// It decodes with json v2 first: encoding/json builds an encoder for every
// type reachable from specs.Spec while it decodes (~0.6 ms of the 12 ms a
// `run` costs), v2 only what the data reaches (~0.25 ms). Any failure is
// decoded again by encoding/json, whose errors decodeError words, so the
// messages (and what is accepted) stay those of encoding/json.
func decode(data []byte) (*specs.Spec, error) {
	if s := new(specs.Spec); jsonv2.Unmarshal(data, s, decodeOpts) == nil {
		return s, nil
	}
	return decodeV1(data)
}

// Decode parses a config.json already known to be valid (the state dir's
// snapshot) the fast way decode does; it neither normalizes nor validates.
func Decode(data []byte) (*specs.Spec, error) {
	return decode(data)
}

// decodeV1 is decode with encoding/json.
func decodeV1(data []byte) (*specs.Spec, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	s := new(specs.Spec)
	if err := dec.Decode(s); err != nil {
		return nil, decodeError(data, err)
	}
	end := skipSpace(data, dec.InputOffset())
	if end == int64(len(data)) {
		return s, nil
	}
	line, col := position(data, end)
	return nil, fmt.Errorf("invalid JSON at line %d column %d: data after the top-level object", line, col)
}

// decodeError turns an encoding/json error into a one-line message.
func decodeError(data []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		line, col := position(data, syn.Offset-1)
		return fmt.Errorf("invalid JSON at line %d column %d: %s", line, col, syn.Error())
	case errors.Is(err, io.EOF) && len(bytes.TrimSpace(data)) == 0:
		return errors.New("invalid JSON: the file is empty")
	case errors.Is(err, io.ErrUnexpectedEOF):
		line, col := position(data, int64(len(data)))
		return fmt.Errorf("invalid JSON at line %d column %d: unexpected end of input", line, col)
	case errors.As(err, &typ):
		p, value, ok := locate(data, typ.Offset)
		if !ok { // cannot happen for well-formed input; keep json's own words
			p, value = typ.Field, typ.Value
		}
		return fieldErr(p, "%s is not %s", value, jsonType(typ.Type))
	}
	return err
}

// jsonType names what a Go type expects, in the words of JSON.
func jsonType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Int, reflect.Uint, reflect.Uint8,
		reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a" + article(t.Kind().String()) + " " + t.Kind().String()
	}
	return "a " + t.String()
}

// article gives "n" before "int64" and friends ("a uint32", "an int64").
func article(word string) string {
	if strings.HasPrefix(word, "int") {
		return "n"
	}
	return ""
}

// position converts a byte offset into a 1-based line and column.
func position(data []byte, off int64) (line, col int) {
	off = max(0, min(off, int64(len(data))))
	before := data[:off]
	line = bytes.Count(before, []byte{'\n'}) + 1
	col = int(off) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}

// skipSpace returns the offset of the first non-blank byte at or after off.
func skipSpace(data []byte, off int64) int64 {
	for off < int64(len(data)) && bytes.IndexByte([]byte(" \t\r\n"), data[off]) >= 0 {
		off++
	}
	return off
}
