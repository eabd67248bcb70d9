package spec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// encoding/json reports a wrongly typed value with a dotted path that has no
// array indices ("linux.namespaces.type") and only a description of the
// value ("string"). locate re-reads the document token by token to find the
// value that ends at the error's offset, and returns its full path
// ("linux.namespaces[1].type") and its text ("\"abc\"", "-1", "[...]").

// frame is one open object or array on the way down to a value.
type frame struct {
	array   bool
	index   int    // current element, for an array
	key     string // current member, for an object
	wantKey bool   // the next token of an object is a key
}

// locate finds the value whose last token ends at byte offset off (for an
// object or array, its opening bracket ends there).
func locate(data []byte, off int64) (path, value string, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", "", false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if d, isDelim := tok.(json.Delim); isDelim && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			advance(stack)
			continue
		}
		if top != nil && top.wantKey {
			top.key, top.wantKey = fmt.Sprint(tok), false
			continue
		}
		if dec.InputOffset() == off {
			return pathOf(stack), render(tok), true
		}
		if d, isDelim := tok.(json.Delim); isDelim {
			stack = append(stack, &frame{array: d == '[', wantKey: d == '{'})
			continue
		}
		advance(stack)
	}
}

// advance moves the innermost frame past the value just read.
func advance(stack []*frame) {
	if len(stack) == 0 {
		return
	}
	top := stack[len(stack)-1]
	if top.array {
		top.index++
	} else {
		top.wantKey = true
	}
}

// pathOf renders the stack as a JSON path: a.b[2].c
func pathOf(stack []*frame) string {
	var b strings.Builder
	for _, f := range stack {
		if f.array {
			fmt.Fprintf(&b, "[%d]", f.index)
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(f.key)
	}
	return b.String()
}

// render prints a token as it would appear in JSON; containers are elided.
func render(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '[' {
			return "[...]"
		}
		return "{...}"
	case string:
		return strconv.Quote(v)
	case nil:
		return "null"
	}
	return fmt.Sprint(tok)
}
