package accesslog

import (
	"errors"
	"fmt"
	"net/textproto"
	"os"
	"strconv"
	"strings"

	"github.com/meshgate/meshgate/internal/ir"
)

// DefaultFormat is Envoy's access-log format when none is configured
// (SubstitutionFormatUtils::DEFAULT_FORMAT).
const DefaultFormat = `[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" ` +
	`%RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% ` +
	`%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" ` +
	`"%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"` + "\n"

// Format is a compiled access-log format, text or JSON. It is immutable
// and safe for concurrent use.
type Format struct {
	parts  []part      // text format
	fields []jsonField // JSON format, when json is set
	json   bool
}

// FormatError is a format string Envoy would reject.
type FormatError struct {
	Format   string // the whole format string
	Pos      int    // byte offset of the operator
	Operator string // the operator text as written
	Reason   string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("access log format: %s at position %d (%q): %s", e.Operator, e.Pos, e.Format, e.Reason)
}

// Compile parses an Envoy format string: literal text with %OPERATOR%,
// %OPERATOR(params)% and %OPERATOR(params):length% command operators, and
// %% for a literal percent sign.
func Compile(format string) (*Format, error) {
	parts, err := parseParts(format)
	if err != nil {
		return nil, err
	}
	return &Format{parts: parts}, nil
}

// CompileConfig compiles a gateway's access-log setting: its text format
// (with a final newline added when missing), its JSON format, or Envoy's
// default when neither is set. A nil setting (no access log) gives a nil
// Format, which renders nothing.
func CompileConfig(l *ir.AccessLog) (*Format, error) {
	switch {
	case l == nil:
		return nil, nil
	case l.Text != "" && len(l.JSON) > 0:
		return nil, errors.New("access log format: text and json are mutually exclusive")
	case l.Text != "":
		// As the Envoy translation does: one request, one line.
		text := l.Text
		if !strings.HasSuffix(text, "\n") {
			text += "\n"
		}
		return Compile(text)
	case len(l.JSON) > 0:
		return CompileJSON(l.JSON)
	}
	return Compile(DefaultFormat)
}

// pseudo names the request and response values Envoy keeps as headers.
type pseudo uint8

const (
	plainHeader pseudo = iota
	pseudoPath
	pseudoMethod
	pseudoAuthority
	pseudoScheme
	pseudoStatus
	originalPath // X-ENVOY-ORIGINAL-PATH: Entry.OriginalPath, else the header
)

type headerRef struct {
	canon  string // key in an http.Header
	pseudo pseudo
}

// part is a literal or one compiled command operator.
type part struct {
	kind   opKind
	number bool // typed JSON renders a number
	// dashInJSON: typed JSON renders a missing value as "-" rather than
	// null (PROTOCOL and UPSTREAM_PROTOCOL in Envoy).
	dashInJSON bool
	lit        string // opLiteral text; opConstant value
	missing    bool   // opConstant without a value
	hdr, alt   headerRef
	hasAlt     bool
	maxLen     int // -1: no truncation
	tf         *timeFormat
	grpc       grpcFormat
}

func parseParts(s string) ([]part, error) {
	var parts []part
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			parts = append(parts, part{kind: opLiteral, lit: lit.String(), maxLen: -1})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); {
		if s[i] != '%' {
			j := strings.IndexByte(s[i:], '%')
			if j < 0 {
				j = len(s) - i
			}
			lit.WriteString(s[i : i+j])
			i += j
			continue
		}
		if i+1 < len(s) && s[i+1] == '%' {
			lit.WriteByte('%')
			i += 2
			continue
		}
		p, n, err := parseOperator(s, i)
		if err != nil {
			return nil, err
		}
		flush()
		parts = append(parts, p)
		i += n
	}
	flush()
	return parts, nil
}

func isNameChar(c byte) bool { return c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' }

// parseOperator parses the operator starting at s[start] == '%' and
// returns it with its length in bytes. The grammar is Envoy's:
// %[A-Z0-9_]+(\([^)]*\))?(:[0-9]+)?%.
func parseOperator(s string, start int) (part, int, error) {
	fail := func(end int, reason string, args ...any) (part, int, error) {
		if end > len(s) {
			end = len(s)
		}
		if end-start > 64 {
			end = start + 64
		}
		return part{}, 0, &FormatError{Format: s, Pos: start, Operator: s[start:end], Reason: fmt.Sprintf(reason, args...)}
	}
	j := start + 1
	for j < len(s) && isNameChar(s[j]) {
		j++
	}
	name := s[start+1 : j]
	if name == "" {
		return fail(j+1, "'%%' must start a command operator such as %%START_TIME%% (write %%%% for a literal '%%')")
	}
	params := ""
	if j < len(s) && s[j] == '(' {
		k := strings.IndexByte(s[j+1:], ')')
		if k < 0 {
			return fail(len(s), "unterminated parameters: missing ')'")
		}
		params = s[j+1 : j+1+k]
		j += k + 2
	}
	maxLen := -1
	if j < len(s) && s[j] == ':' {
		k := j + 1
		for k < len(s) && s[k] >= '0' && s[k] <= '9' {
			k++
		}
		if k == j+1 {
			end := strings.IndexByte(s[j:], '%')
			if end < 0 {
				end = len(s) - j
			}
			return fail(j+end+1, "bad length %q: must be a non-negative integer", s[j+1:j+end])
		}
		n, err := strconv.Atoi(s[j+1 : k])
		if err != nil {
			return fail(k+1, "bad length %q: out of range", s[j+1:k])
		}
		maxLen = n
		j = k
	}
	if j >= len(s) {
		return fail(len(s), "unterminated command operator: missing closing '%%'")
	}
	if s[j] != '%' {
		return fail(j+1, "unexpected %q in command operator: expected closing '%%'", s[j])
	}
	j++
	text := s[start:j]
	failOp := func(reason string, args ...any) (part, int, error) {
		return part{}, 0, &FormatError{Format: s, Pos: start, Operator: text, Reason: fmt.Sprintf(reason, args...)}
	}

	spec, ok := operators[name]
	if !ok {
		return failOp("unknown command operator %s", name)
	}
	switch {
	case spec.syntax == commandOnly && (params != "" || maxLen >= 0):
		return failOp("%s takes no parameters or length", name)
	case spec.syntax&paramsRequired != 0 && params == "":
		return failOp("%s requires parameters", name)
	case spec.syntax&lengthAllowed == 0 && maxLen >= 0:
		return failOp("%s does not allow a length", name)
	}

	p := part{kind: spec.kind, number: spec.number, maxLen: maxLen}
	switch spec.kind {
	case opReq, opReqWithoutQuery, opResp, opTrailer:
		main, alt, hasAlt, err := parseHeaders(params, spec.kind)
		if err != nil {
			return failOp("%v", err)
		}
		p.hdr, p.alt, p.hasAlt = main, alt, hasAlt
	case opStartTime, opEmitTime, opDownstreamPeerCertVStart, opDownstreamPeerCertVEnd:
		tf, err := compileTimeFormat(params, strings.HasSuffix(name, "_LOCAL"))
		if err != nil {
			return failOp("%v", err)
		}
		p.tf = tf
	case opGrpcStatus:
		g, err := parseGrpcFormat(params)
		if err != nil {
			return failOp("%v", err)
		}
		if name == "GRPC_STATUS_NUMBER" {
			g = grpcNumber
		}
		p.grpc = g
		p.number = g == grpcNumber
	case opProtocol, opUpstreamProtocol:
		p.dashInJSON = true
	case opConstant:
		// Envoy reads both once, when the format is built.
		if name == "HOSTNAME" {
			h, err := os.Hostname()
			p.lit, p.missing = h, err != nil || h == ""
		} else {
			v, ok := os.LookupEnv(params)
			p.lit, p.missing = truncate(v, maxLen), !ok
		}
	}
	return p, j - start, nil
}

// parseHeaders parses "X" or "X?Y" (a header and its fallback).
func parseHeaders(params string, kind opKind) (main, alt headerRef, hasAlt bool, err error) {
	if strings.ContainsAny(params, "\r\n\x00") {
		return main, alt, false, errors.New("header name contains a newline or NUL")
	}
	names := strings.Split(params, "?")
	if len(names) > 2 {
		return main, alt, false, fmt.Errorf("more than one alternative header in %q", params)
	}
	for i, n := range names {
		if n == "" {
			return main, alt, false, fmt.Errorf("empty header name in %q", params)
		}
		ref := headerRef{canon: textproto.CanonicalMIMEHeaderKey(n)}
		switch strings.ToLower(n) {
		case ":path":
			ref.pseudo = pseudoPath
		case ":method":
			ref.pseudo = pseudoMethod
		case ":authority", "host":
			ref.pseudo = pseudoAuthority
		case ":scheme":
			ref.pseudo = pseudoScheme
		case ":status":
			ref.pseudo = pseudoStatus
		case "x-envoy-original-path":
			ref.pseudo = originalPath
		}
		// Request pseudo-headers only exist on requests and :status only
		// on responses; elsewhere they are plain (and absent) names.
		if kind == opResp || kind == opTrailer {
			if ref.pseudo != pseudoStatus || kind == opTrailer {
				ref.pseudo = plainHeader
			}
		} else if ref.pseudo == pseudoStatus {
			ref.pseudo = plainHeader
		}
		if i == 0 {
			main = ref
		} else {
			alt, hasAlt = ref, true
		}
	}
	return main, alt, hasAlt, nil
}

func truncate(s string, maxLen int) string {
	if maxLen >= 0 && len(s) > maxLen {
		return s[:maxLen]
	}
	return s
}
