package h1server

import (
	"bufio"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"

	"github.com/meshgate/meshgate/internal/gateway/h1field"
	"github.com/meshgate/meshgate/internal/gateway/reqtarget"
	"golang.org/x/net/http/httpguts"
)

// statusError is a request the server answers itself, before any handler,
// with net/http's wording; the connection closes after it.
type statusError struct {
	code int
	text string // "" for net/http's bare 400 and 431
}

func (e *statusError) Error() string { return http.StatusText(e.code) + ": " + e.text }

var (
	errTooLarge      = &statusError{code: http.StatusRequestHeaderFieldsTooLarge}
	errMalformed     = &statusError{code: http.StatusBadRequest}
	errUnsupportedTE = &statusError{code: http.StatusNotImplemented}
	errVersion       = &statusError{http.StatusHTTPVersionNotSupported, "unsupported protocol version"}
	errExpectation   = &statusError{code: http.StatusExpectationFailed}
)

func badRequest(text string) *statusError { return &statusError{http.StatusBadRequest, text} }

// maxLeadingEmptyLines bounds the empty lines tolerated before a request
// line (RFC 9112 §2.2), so a stream of CRLFs does not keep a connection.
const maxLeadingEmptyLines = 8

// readHead reads a request line and its header block, through the
// empty line that ends it, into c.head. limit bounds the bytes read.
func (c *conn) readHead(limit int) error {
	c.head = c.head[:0]
	empty := 0
	for {
		line, err := c.br.ReadSlice('\n')
		if len(c.head)+len(line) > limit {
			return errTooLarge
		}
		if err != nil && err != bufio.ErrBufferFull {
			if err == io.EOF && len(c.head)+len(line) > 0 {
				return errMalformed // a truncated head, as net/http answers it
			}
			return err // a closed or timed-out connection: no answer
		}
		if len(c.head) == 0 && err == nil && (len(line) == 1 || len(line) == 2 && line[0] == '\r') {
			if empty++; empty > maxLeadingEmptyLines {
				return errMalformed
			}
			continue
		}
		c.head = append(c.head, line...)
		if err == nil && endsHead(c.head) {
			return nil
		}
	}
}

// endsHead reports whether b, ending in '\n', ends with an empty line.
func endsHead(b []byte) bool {
	n := len(b)
	return n >= 2 && b[n-2] == '\n' || n >= 3 && b[n-3] == '\n' && b[n-2] == '\r'
}

// request is what parsing a head found beyond the http.Request.
type request struct {
	problem     string // why the edge must refuse it (see Problem)
	chunked     bool
	length      int64 // Content-Length; -1 if chunked, 0 if no body
	close       bool  // the client asked for the connection to close
	continue100 bool
	has         fieldSet // fields the head has, among those framing reads
	// values holds the field values when they are few: the header map's
	// slices point into it.
	values [8]string
}

// fieldSet notes, while the fields are parsed, which of the few that
// framing reads are there: most requests have none of them but Host, and
// each would be a lookup (or a deletion) in the header map.
type fieldSet uint8

const (
	hasContentLength fieldSet = 1 << iota
	hasTransferEncoding
	hasExpect
	hasConnection
	hasTrailer
)

func fieldOf(key string) fieldSet {
	switch key {
	case "Content-Length":
		return hasContentLength
	case "Transfer-Encoding":
		return hasTransferEncoding
	case "Expect":
		return hasExpect
	case "Connection":
		return hasConnection
	case "Trailer":
		return hasTrailer
	}
	return 0
}

// parse reads c.head into r, its target into u. The head is copied into
// one string that every key and value of the request points into.
func (c *conn) parse(r *http.Request, u *url.URL, q *request) *statusError {
	s := string(c.head)
	line, rest := cutLine(s)
	method, rest1, ok1 := strings.Cut(line, " ")
	target, proto, ok2 := strings.Cut(rest1, " ")
	if !ok1 || !ok2 {
		return errMalformed
	}
	major, minor, ok := http.ParseHTTPVersion(proto)
	if !ok {
		return errMalformed
	}
	if !validMethod(method) {
		return errMalformed
	}
	r.Method, r.RequestURI, r.ProtoMajor, r.ProtoMinor = method, target, major, minor
	switch {
	case major == 1 && minor == 1:
		r.Proto = "HTTP/1.1"
	case major == 1 && minor == 0:
		r.Proto = "HTTP/1.0"
	case major == 1:
		r.Proto = proto
	default:
		return errVersion
	}
	// As net/http: CONNECT may name an authority ("host:port").
	justAuthority := method == "CONNECT" && !strings.HasPrefix(target, "/")
	rawurl := target
	if justAuthority {
		rawurl = "http://" + target
	}
	if reqtarget.Parse(rawurl, u) != nil {
		return errMalformed
	}
	if justAuthority {
		u.Scheme = ""
	}
	r.URL = u

	if err := c.parseHeader(r, q, rest); err != nil {
		return err
	}
	hosts := r.Header["Host"]
	switch {
	case len(hosts) == 0 && r.ProtoAtLeast(1, 1) && method != "CONNECT":
		return badRequest("missing required Host header")
	case len(hosts) > 1:
		return errMalformed
	case len(hosts) == 1 && !httpguts.ValidHostHeader(hosts[0]):
		return badRequest("malformed Host header")
	}
	r.Host = u.Host
	if r.Host == "" && len(hosts) == 1 {
		r.Host = hosts[0]
	}
	if q.problem == "" && u.Host != "" && len(hosts) == 1 && !strings.EqualFold(u.Host, hosts[0]) && !justAuthority {
		q.problem = "the request target's authority is not the Host"
	}
	delete(r.Header, "Host")
	return c.framing(r, q)
}

// parseHeader reads the header fields of a head (s after the request
// line) into r.Header.
func (c *conn) parseHeader(r *http.Request, q *request, s string) *statusError {
	n := strings.Count(s, "\n") // an upper bound of the fields, for one array of values
	vals := q.values[:0]
	if n > len(q.values) {
		vals = make([]string, 0, n)
	}
	h := make(http.Header, n)
	r.Header = h
	fields := 0
	for {
		line, rest := cutLine(s)
		s = rest
		if line == "" {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			// obs-fold: net/http joins it to the previous value; the edge
			// refuses it (request smuggling through a lenient front proxy).
			if fields == 0 {
				return errMalformed
			}
			q.problem = "obsolete line folding (obs-fold) in the header"
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return errMalformed
		}
		value = h1field.TrimOWS(value)
		if !validFieldName(name) {
			if n := strings.TrimRight(name, " "); n != name && validFieldName(n) {
				return badRequest("invalid header name") // net/http's words for "Name :"
			}
			return errMalformed
		}
		if !httpguts.ValidHeaderFieldValue(value) {
			return errMalformed
		}
		key := canonicalKey(name)
		fields++
		q.has |= fieldOf(key)
		if vv, ok := h[key]; ok {
			h[key] = append(vv, value)
			continue
		}
		vals = append(vals, value)
		h[key] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
	return nil
}

// framing decides how the request's body is delimited (RFC 9112 §6.3),
// as net/http's server does, noting the shapes the edge refuses.
func (c *conn) framing(r *http.Request, q *request) *statusError {
	h := r.Header
	var cls, tes []string
	if q.has&hasContentLength != 0 {
		cls = h["Content-Length"]
	}
	if q.has&hasTransferEncoding != 0 {
		tes = h["Transfer-Encoding"]
	}
	switch {
	case q.problem != "":
	case len(tes) > 0 && len(cls) > 0:
		q.problem = "both Transfer-Encoding and Content-Length"
	case len(cls) > 1:
		q.problem = "several Content-Length headers"
	}
	q.close = wantsClose(r, q.has&hasConnection != 0)
	r.Close = q.close
	if q.problem != "" {
		return nil // refused by the edge, its body never read
	}
	if tes != nil {
		delete(h, "Transfer-Encoding")
	}
	if r.ProtoMajor == 1 && r.ProtoMinor == 0 {
		tes = nil // HTTP/1.0 has no transfer codings; net/http ignores them
	}
	if len(tes) > 0 {
		if len(tes) != 1 || !strings.EqualFold(tes[0], "chunked") {
			return errUnsupportedTE
		}
		q.chunked, q.length = true, -1
		r.TransferEncoding = []string{"chunked"}
		r.ContentLength = -1
		delete(h, "Content-Length")
	} else if len(cls) > 0 {
		for _, v := range cls[1:] {
			if v != cls[0] {
				return errMalformed
			}
		}
		n, err := strconv.ParseUint(cls[0], 10, 63) // digits only, as net/http
		if err != nil {
			return errMalformed
		}
		q.length = int64(n)
		r.ContentLength = q.length
	}
	if q.has&hasExpect != 0 {
		e := h["Expect"]
		if len(e) == 1 && strings.EqualFold(e[0], "100-continue") {
			q.continue100 = r.ProtoAtLeast(1, 1) && q.length != 0
		} else {
			return errExpectation
		}
	}
	if q.chunked {
		if q.has&hasTrailer != 0 {
			t, ok := declaredTrailers(h["Trailer"])
			if !ok {
				return errMalformed // a framing field announced as a trailer
			}
			r.Trailer = t
			delete(h, "Trailer") // as net/http: it is in r.Trailer now
		}
		// What already arrived of the body is checked now, so that a
		// malformed body is refused before anything is forwarded.
		if b, _ := c.br.Peek(c.br.Buffered()); !validChunked(b) {
			q.problem = "malformed chunked body"
		}
	}
	return nil
}

// wantsClose reports whether the client asked for the connection to
// close after the request (HTTP/1.0 closes unless it asks to keep
// alive); connection: the request has a Connection field.
func wantsClose(r *http.Request, connection bool) bool {
	var c []string
	if connection {
		c = r.Header["Connection"]
	}
	if r.ProtoMajor == 1 && r.ProtoMinor == 0 {
		return !httpguts.HeaderValuesContainsToken(c, "keep-alive")
	}
	return httpguts.HeaderValuesContainsToken(c, "close")
}

// declaredTrailers is the trailer map a "Trailer" header announces, as
// net/http fills Request.Trailer before the body is read; ok is false
// when it announces a framing field (RFC 9110 §6.5.1), which net/http
// refuses.
func declaredTrailers(names []string) (t http.Header, ok bool) {
	for _, v := range names {
		for _, k := range strings.Split(v, ",") {
			k = http.CanonicalHeaderKey(strings.TrimSpace(k))
			switch k {
			case "":
				continue
			case "Transfer-Encoding", "Trailer", "Content-Length":
				return nil, false
			}
			if t == nil {
				t = make(http.Header)
			}
			t[k] = nil
		}
	}
	return t, true
}

// cutLine splits s after its first line, dropping the line's CRLF or LF.
func cutLine(s string) (line, rest string) {
	i := strings.IndexByte(s, '\n')
	if i < 0 {
		return s, ""
	}
	line, rest = s[:i], s[i+1:]
	return strings.TrimSuffix(line, "\r"), rest
}

func validMethod(m string) bool {
	return m != "" && strings.IndexFunc(m, func(c rune) bool { return !httpguts.IsTokenRune(c) }) < 0
}

func validFieldName(name string) bool { return httpguts.ValidHeaderFieldName(name) }

// canonicalKey is name in canonical form; without an allocation when it
// already is (as most clients send them) or is a common header.
func canonicalKey(name string) string { return textproto.CanonicalMIMEHeaderKey(name) }

func validChunked(b []byte) bool {
	valid, _ := scanChunked(b)
	return valid
}
