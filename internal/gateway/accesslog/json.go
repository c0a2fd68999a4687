package accesslog

import (
	"errors"
	"fmt"
	"sync"
	"unicode/utf8"

	"github.com/meshgate/meshgate/internal/ir"
)

type jsonField struct {
	key   string // `"key":`, escaped once at compile time
	parts []part
}

// CompileJSON compiles App Mesh's JSON format: each value is a format
// string. The line is one JSON object with the keys in the given order
// and a trailing newline, typed as Envoy's v3 json_format is (see the
// package documentation).
func CompileJSON(fields []ir.JSONField) (*Format, error) {
	if len(fields) == 0 {
		return nil, errors.New("access log format: json has no fields")
	}
	f := &Format{json: true, fields: make([]jsonField, 0, len(fields))}
	seen := make(map[string]bool, len(fields))
	for _, kv := range fields {
		if seen[kv.Key] {
			return nil, fmt.Errorf("access log format: json key %q appears twice", kv.Key)
		}
		seen[kv.Key] = true
		parts, err := parseParts(kv.Value)
		if err != nil {
			return nil, fmt.Errorf("json key %q: %w", kv.Key, err)
		}
		key := appendJSONString(nil, kv.Key)
		f.fields = append(f.fields, jsonField{key: string(append(key, ':')), parts: parts})
	}
	return f, nil
}

func (f *Format) appendJSON(dst []byte, e *Entry) []byte {
	dst = append(dst, '{')
	for i := range f.fields {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, f.fields[i].key...)
		dst = appendJSONValue(dst, f.fields[i].parts, e)
	}
	return append(dst, '}', '\n')
}

// appendJSONValue renders one value: a lone operator keeps its type (a
// number, or null when missing); anything else is a string with "-" for
// missing operators, as Envoy's typed json_format does.
func appendJSONValue(dst []byte, parts []part, e *Entry) []byte {
	start := len(dst)
	if len(parts) == 1 && parts[0].kind != opLiteral {
		p := &parts[0]
		var ok bool
		if p.number {
			if dst, ok = p.appendValue(dst, e); !ok {
				dst = append(dst[:start], "null"...)
			}
			return dst
		}
		dst = append(dst, '"')
		if dst, ok = p.appendValue(dst, e); !ok {
			if p.dashInJSON {
				return append(dst, '-', '"')
			}
			return append(dst[:start], "null"...)
		}
		return append(escapeTail(dst, start+1), '"')
	}
	dst = append(dst, '"')
	for i := range parts {
		var ok bool
		if dst, ok = parts[i].appendValue(dst, e); !ok {
			dst = append(dst, '-')
		}
	}
	return append(escapeTail(dst, start+1), '"')
}

// scratch holds the raw text of a value while it is escaped; pooled so
// the (rare) escaping path does not allocate either.
var scratch = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// escapeTail JSON-escapes dst[from:] in place.
func escapeTail(dst []byte, from int) []byte {
	if !needsEscape(dst[from:]) {
		return dst
	}
	bp := scratch.Get().(*[]byte)
	raw := append((*bp)[:0], dst[from:]...)
	dst = appendJSONChars(dst[:from], raw)
	if cap(raw) <= 64<<10 {
		*bp = raw
		scratch.Put(bp)
	}
	return dst
}

func needsEscape(b []byte) bool {
	ascii := true
	for _, c := range b {
		if c < 0x20 || c == '"' || c == '\\' {
			return true
		}
		if c >= utf8.RuneSelf {
			ascii = false
		}
	}
	return !ascii && !utf8.Valid(b)
}

func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = appendJSONChars(dst, []byte(s))
	return append(dst, '"')
}

const hexDigits = "0123456789abcdef"

// appendJSONChars escapes quotes, backslashes and control characters and
// replaces invalid UTF-8 with U+FFFD, so every line is valid JSON.
func appendJSONChars(dst, b []byte) []byte {
	for i := 0; i < len(b); {
		c := b[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, `\ufffd`...)
			} else {
				dst = append(dst, b[i:i+size]...)
			}
			i += size
			continue
		}
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c == '\t':
			dst = append(dst, '\\', 't')
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		default:
			dst = append(dst, c)
		}
		i++
	}
	return dst
}
