package appmesh

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Operation is one App Mesh API operation and its REST binding.
type Operation struct {
	Name    string
	Method  string
	URI     string // e.g. /v20190125/meshes/{meshName}/virtualGateways
	Payload string // the output member that is the whole response body, if any
	// NewInput returns a fresh input shape to decode the request into.
	NewInput func() Input
}

// Input is an operation's input shape.
type Input interface {
	// Bind fills the members bound to the URI and query string.
	Bind(get func(location, name string) *string) error
	// Validate checks the model's constraints (required, lengths, ranges,
	// enums, patterns, unions) and returns a *Error naming the first bad field.
	Validate() error
	// IdempotencyToken is the clientToken, idempotency token, nil for operations without one.
	IdempotencyToken() *string
}

// Timestamp is a time sent as epoch seconds with a fractional part, the
// rest-json default (e.g. 1563809909.282).
type Timestamp struct{ time.Time }

func (t Timestamp) MarshalJSON() ([]byte, error) {
	ms := t.UnixMilli()
	return []byte(fmt.Sprintf("%d.%03d", ms/1000, ms%1000)), nil
}

func (t *Timestamp) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		s, err := strconv.Unquote(string(b))
		if err != nil {
			return err
		}
		parsed, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return err
		}
		t.Time = parsed
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Errorf("timestamp %s is not epoch seconds", b)
	}
	t.Time = time.UnixMilli(int64(math.Round(f * 1000))).UTC()
	return nil
}

// NewTimestamp returns t as a *Timestamp (millisecond precision, UTC).
func NewTimestamp(t time.Time) *Timestamp { return &Timestamp{t.UTC().Truncate(time.Millisecond)} }

const noBound = math.MinInt64

// validator keeps the first violation it is told about, so the client gets
// one clear message naming one field, as App Mesh answered.
type validator struct{ err error }

func (v *validator) fail(path, format string, args ...any) {
	if v.err == nil {
		v.err = BadRequest("%s %s", fieldName(path), fmt.Sprintf(format, args...))
	}
}

func fieldName(path string) string { return strings.TrimPrefix(path, ".") }

func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

func (v *validator) missing(path string) { v.fail(path, "is required") }

func (v *validator) length(path, s string, min, max int64) {
	n := int64(utf8.RuneCountInString(s))
	switch {
	case min != noBound && n < min:
		v.fail(path, "must be at least %d characters long", min)
	case max != noBound && n > max:
		v.fail(path, "must be at most %d characters long", max)
	}
}

func (v *validator) rangeOf(path string, n, min, max int64) {
	switch {
	case min != noBound && max != noBound && (n < min || n > max):
		v.fail(path, "must be between %d and %d, got %d", min, max, n)
	case min != noBound && n < min:
		v.fail(path, "must be at least %d, got %d", min, n)
	case max != noBound && n > max:
		v.fail(path, "must be at most %d, got %d", max, n)
	}
}

func (v *validator) count(path string, n int, min, max int64) {
	switch {
	case min != noBound && int64(n) < min:
		v.fail(path, "must have at least %d items", min)
	case max != noBound && int64(n) > max:
		v.fail(path, "must have at most %d items", max)
	}
}

func (v *validator) enum(path, s string, allowed []string) {
	for _, a := range allowed {
		if s == a {
			return
		}
	}
	v.fail(path, "must be one of %s, got %q", strings.Join(allowed, ", "), s)
}

func (v *validator) pattern(path, s string, re *regexp.Regexp) {
	if !re.MatchString(s) {
		v.fail(path, "must match %s", re)
	}
}

// union checks that exactly one member of a model union is set.
func (v *validator) union(path string, members []string, set ...bool) {
	n := 0
	for _, s := range set {
		if s {
			n++
		}
	}
	if n != 1 {
		v.fail(path, "must set exactly one of %s", strings.Join(members, ", "))
	}
}

// parseInt reads an integer query parameter; absent stays nil.
func parseInt(name string, s *string) (*int64, error) {
	if s == nil {
		return nil, nil
	}
	n, err := strconv.ParseInt(*s, 10, 64)
	if err != nil {
		return nil, BadRequest("%s must be an integer, got %q", name, *s)
	}
	return &n, nil
}
