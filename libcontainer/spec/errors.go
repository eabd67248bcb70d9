// Package spec loads and validates an OCI bundle's config.json, and knows
// which parts of the runtime-spec berth implements (Features, and the table
// of refused fields in unsupported.go). Everything checkable before a
// container is created is checked here, so a bad config fails with one line
// naming the JSON path and nothing is left behind.
package spec

import (
	"errors"
	"fmt"
)

// FieldError is a config.json error tied to one JSON path, e.g.
// linux.namespaces[2].type. Its text is "<path>: <msg>".
type FieldError struct {
	// Path is the JSON path, with array indices: process.rlimits[0].type.
	Path string
	// Msg says what is wrong, quoting the offending value.
	Msg string

	kind error // returned by Unwrap: errors.ErrUnsupported, or nil
}

// Error returns "<path>: <msg>" (only msg for the top-level value).
func (e *FieldError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// Unwrap returns errors.ErrUnsupported for a field berth does not implement,
// so callers can tell "not supported" from "invalid" with errors.Is.
func (e *FieldError) Unwrap() error {
	return e.kind
}

// fieldErr builds a FieldError with a printf-style message.
func fieldErr(path, format string, args ...any) *FieldError {
	return &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// notSupported is the error for a field in the unsupported table.
func notSupported(path string) *FieldError {
	return &FieldError{Path: path, Msg: "not supported by berth", kind: errors.ErrUnsupported}
}

// idx renders path[i].
func idx(path string, i int) string {
	return fmt.Sprintf("%s[%d]", path, i)
}
