package gateway

// Edge hardening: what the gateway checks before it routes a request,
// beyond what Go's HTTP server refuses by itself (docs/security.md, "Edge
// hardening").
//
// Go's HTTP/1 parser already refuses differing Content-Length headers,
// invalid Content-Length values, unsupported transfer codings (501),
// bare LF and bad sizes in chunked framing, CR and control characters in
// header values and Host, and several Host headers. Three framing shapes
// it accepts (normalizing them away, so a handler cannot see them) are
// refused by Envoy and are what request smuggling through a lenient front
// proxy is made of: Content-Length together with Transfer-Encoding (Go
// drops the Content-Length), Content-Length repeated with equal values
// (Go keeps one) and obs-fold header continuation lines (Go joins them).
// An absolute-form request target whose authority is not the Host is
// also accepted by Go (the Host header is then dropped). The raw bytes of
// each HTTP/1 connection therefore pass through rawConn, which follows
// the request framing exactly as Go's parser does (header blocks, then
// Content-Length or chunked bodies) and notes for every request whether
// its header block holds one of these shapes, or whether its chunked body
// is malformed where the gateway already received it. screen, called
// before routing, refuses such a request with 400 and Connection: close,
// so nothing is forwarded and the connection ends. rawConn only observes:
// it never changes, holds back or reorders a byte, and when it cannot
// follow a connection (HTTP/2 prior knowledge, an upgraded connection,
// anything Go itself refuses) it stops looking.
//
// TLS listeners: for the same inspection, the gateway completes the TLS
// handshake before handing a connection to the HTTP server; a connection
// that negotiated h2 goes to the server as the *tls.Conn (HTTP/2 has no
// such framing ambiguity), an HTTP/1 one wrapped in rawConn, which
// reports the TLS state so Request.TLS is set as before.
//
// screen also enforces, for HTTP/1 and HTTP/2 alike, Envoy's header
// limits (more than 100 header fields or more than MaxHeaderBytes of
// header → 431), a request-target limit (→ 414), an HTTP/2 Host header
// agreeing with :authority, and the policy for header names with
// underscores. rawConn bounds slow HTTP/1 request bodies: a read of the
// body that gets nothing for BodyIdleTimeout fails the request (408) and
// closes the connection; a malformed chunk that arrives after the request
// was forwarded aborts the upstream request and gets 400
// (clientBodyFailed).

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meshgate/meshgate/internal/gateway/accesslog"
)

// EdgeLimits are the request limits and header policies the gateway
// applies before routing; zero values take the defaults.
type EdgeLimits struct {
	// MaxHeaderCount caps the number of request header fields, Host
	// included (431 above it). Default 100, Envoy's max_headers_count.
	MaxHeaderCount int
	// MaxRequestURIBytes caps the request target, path and query (414
	// above it). Default 8 KiB, as nginx's and Apache's request-line
	// limits; negative: no limit beyond MaxHeaderBytes.
	MaxRequestURIBytes int
	// BodyIdleTimeout closes an HTTP/1 connection when a read of a
	// request body receives nothing for this long (nginx's
	// client_body_timeout). Default 60 s; negative: none. HTTP/2 streams
	// are bounded by MaxConcurrentStreams and flow control instead.
	BodyIdleTimeout time.Duration
	// UnderscoreHeaders is what happens to request headers whose names
	// contain "_": passed on (the default, Envoy's and App Mesh's: App
	// Mesh's own examples match on "color_header"), dropped before
	// routing, or refused with 400. Whatever the action, the underscore
	// spellings of the headers the gateway itself sets or strips
	// (x_forwarded_for, x_forwarded_proto, x_forwarded_host, x_request_id,
	// x_envoy_*) are dropped: backends that map header names to CGI-style
	// variables (HTTP_X_FORWARDED_FOR) can't tell them from the real ones.
	UnderscoreHeaders UnderscoreAction
	// MaxConcurrentStreams caps the streams of one HTTP/2 connection.
	// Default 100, Envoy's.
	MaxConcurrentStreams int
}

// UnderscoreAction is Envoy's headers_with_underscores_action.
type UnderscoreAction string

const (
	UnderscoreAllow  UnderscoreAction = "allow"  // ALLOW (the default, Envoy's and App Mesh's)
	UnderscoreDrop   UnderscoreAction = "drop"   // DROP_HEADER
	UnderscoreReject UnderscoreAction = "reject" // REJECT_REQUEST: 400
)

const (
	defaultMaxHeaderCount       = 100
	defaultMaxRequestURIBytes   = 8 << 10
	defaultBodyIdleTimeout      = 60 * time.Second
	defaultMaxConcurrentStreams = 100
)

func (e *EdgeLimits) maxHeaderCount() int {
	if e.MaxHeaderCount > 0 {
		return e.MaxHeaderCount
	}
	return defaultMaxHeaderCount
}

func (e *EdgeLimits) maxRequestURIBytes() int {
	if e.MaxRequestURIBytes == 0 {
		return defaultMaxRequestURIBytes
	}
	return e.MaxRequestURIBytes
}

func (e *EdgeLimits) bodyIdleTimeout() time.Duration {
	switch {
	case e.BodyIdleTimeout == 0:
		return defaultBodyIdleTimeout
	case e.BodyIdleTimeout < 0:
		return 0
	}
	return e.BodyIdleTimeout
}

// http2Config is the HTTP/2 server configuration of every listener.
func (g *Gateway) http2Config() *http.HTTP2Config {
	n := g.opts.MaxConcurrentStreams
	if n <= 0 {
		n = defaultMaxConcurrentStreams
	}
	return &http.HTTP2Config{MaxConcurrentStreams: n}
}

// screen applies the edge checks to a request before it is routed. It
// answers a refused request itself and returns false.
func (p *proxy) screen(w http.ResponseWriter, r *http.Request, ex *exchange) bool {
	o := &p.g.opts
	if r.ProtoMajor == 1 {
		if rc, _ := r.Context().Value(rawConnKey{}).(*rawConn); rc != nil {
			if reason := rc.screen(r.Method, r.RequestURI, o.bodyIdleTimeout()); reason != "" {
				return p.refuse(w, r, ex, http.StatusBadRequest, reason)
			}
		}
	}
	if r.ProtoMajor == 2 {
		// A Host header beside :authority must name the same authority
		// (RFC 9113 §8.3.1); Go's server keeps it in the header.
		if hv, ok := r.Header["Host"]; ok && (len(hv) != 1 || !strings.EqualFold(hv[0], r.Host)) {
			return p.refuse(w, r, ex, http.StatusBadRequest, "Host differs from :authority")
		}
	}
	if max := o.maxRequestURIBytes(); max > 0 && len(r.RequestURI) > max {
		return p.refuse(w, r, ex, http.StatusRequestURITooLong, "request target too long")
	}
	count, size := 1, len("Host")+len(r.Host)+4
	underscores := false
	for k, vv := range r.Header {
		count += len(vv)
		for _, v := range vv {
			size += len(k) + len(v) + 4 // ": " and CRLF
		}
		if strings.IndexByte(k, '_') >= 0 {
			underscores = true
		}
	}
	if count > o.maxHeaderCount() {
		return p.refuse(w, r, ex, http.StatusRequestHeaderFieldsTooLarge, "too many header fields")
	}
	if size > o.MaxHeaderBytes {
		return p.refuse(w, r, ex, http.StatusRequestHeaderFieldsTooLarge, "header fields too large")
	}
	if underscores {
		if o.UnderscoreHeaders == UnderscoreReject {
			return p.refuse(w, r, ex, http.StatusBadRequest, "header name with an underscore")
		}
		all := o.UnderscoreHeaders == UnderscoreDrop
		for k := range r.Header {
			if strings.IndexByte(k, '_') >= 0 && (all || aliasesEdgeHeader(k)) {
				delete(r.Header, k)
			}
		}
	}
	return true
}

// aliasesEdgeHeader reports whether a header name with underscores is,
// read with "-" for "_", one the gateway sets or strips at the edge.
func aliasesEdgeHeader(k string) bool {
	h := strings.ReplaceAll(k, "_", "-")
	if len(h) > 8 && strings.EqualFold(h[:8], "x-envoy-") {
		return true
	}
	for _, e := range [...]string{"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-request-id"} {
		if strings.EqualFold(h, e) {
			return true
		}
	}
	return false
}

// refuse answers a request the edge checks refused; an HTTP/1 connection
// is closed after the answer (its framing can't be trusted, or the client
// is misbehaving), as Envoy closes after a codec error.
func (p *proxy) refuse(w http.ResponseWriter, r *http.Request, ex *exchange, status int, reason string) bool {
	ex.flags |= accesslog.DownstreamProtocolError
	if r.ProtoMajor == 1 && status != http.StatusRequestURITooLong {
		w.Header().Set("Connection", "close")
	}
	p.g.log.Debug("request refused at the edge", "status", status, "reason", reason,
		"remote", r.RemoteAddr, "listener", p.port)
	localReply(w, r, status, http.StatusText(status))
	return false
}

// ---- connections ----

type rawConnKey struct{}

// connContext makes a connection's rawConn reachable from its requests.
func connContext(ctx context.Context, c net.Conn) context.Context {
	if rc, ok := c.(interface{ raw() *rawConn }); ok {
		return context.WithValue(ctx, rawConnKey{}, rc.raw())
	}
	return ctx
}

// guard wraps a plaintext connection for inspection (once).
func guard(c net.Conn) net.Conn {
	if _, ok := c.(interface{ raw() *rawConn }); ok {
		return c
	}
	return newRawConn(c)
}

// terminateTLS completes the TLS handshake of a connection of s, as
// http.Server would (bounded by ReadHeaderTimeout, errors logged the
// same way), and returns what to hand to the server: the *tls.Conn
// itself when the client negotiated h2, else the decrypted connection
// wrapped for inspection. ok is false (and c closed) when the handshake
// failed.
func (s *serving) terminateTLS(c net.Conn) (conn net.Conn, ok bool) {
	tc := tls.Server(c, s.tls)
	if d := s.srv.ReadHeaderTimeout; d > 0 {
		tc.SetDeadline(time.Now().Add(d))
	}
	err := tc.HandshakeContext(context.Background())
	if err != nil {
		var re tls.RecordHeaderError
		if errors.As(err, &re) && re.Conn != nil && looksLikeHTTP(re.RecordHeader) {
			re.Conn.Write([]byte("HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"))
		}
		if s.srv.ErrorLog != nil {
			s.srv.ErrorLog.Printf("http: TLS handshake error from %s: %v", c.RemoteAddr(), err)
		}
		c.Close()
		return nil, false
	}
	tc.SetDeadline(time.Time{})
	if tc.ConnectionState().NegotiatedProtocol == "h2" {
		return tc, true
	}
	return &rawTLSConn{rawConn: newRawConn(tc), tc: tc}, true
}

func looksLikeHTTP(hdr [5]byte) bool {
	switch string(hdr[:]) {
	case "GET /", "HEAD ", "POST ", "PUT /", "OPTIO":
		return true
	}
	return false
}

// rawTLSConn is the decrypted side of an HTTP/1 TLS connection; its
// ConnectionState lets http.Server set Request.TLS.
type rawTLSConn struct {
	*rawConn
	tc *tls.Conn
}

func (c *rawTLSConn) ConnectionState() tls.ConnectionState { return c.tc.ConnectionState() }

// rawConn follows the HTTP/1 request framing of a connection as the
// server reads it (see the top of this file).
type rawConn struct {
	net.Conn
	off   atomic.Bool // nothing more to follow
	watch atomic.Bool // a request body is being waited for under a timer

	mu    sync.Mutex
	f     framing
	queue []*message // requests whose header block was read, not yet screened
	free  []*message

	timer      *time.Timer // closes the connection when a watched body read stalls
	idle       time.Duration
	expired    atomic.Bool
	bodyFailed atomic.Bool // a malformed chunked body was seen
}

// message is what rawConn found about one request.
type message struct {
	line     []byte // the request line
	mEnd     int    // line[:mEnd] is the method
	tStart   int    // line[tStart:tEnd] is the request target
	tEnd     int
	reason   string // why the request must be refused; "" if nothing
	complete bool   // its body was read to the end (or it has none)
	screened bool
}

func (m *message) is(method, target string) bool {
	return string(m.line[:m.mEnd]) == method && string(m.line[m.tStart:m.tEnd]) == target
}

// newMessage is a message for the request line line, reusing a
// finished one when there is one.
func (c *rawConn) newMessage(line []byte, mEnd, tStart, tEnd int) *message {
	var m *message
	if n := len(c.free); n > 0 {
		m, c.free = c.free[n-1], c.free[:n-1]
	} else {
		m = new(message)
	}
	m.line = append(m.line[:0], line...)
	m.mEnd, m.tStart, m.tEnd = mEnd, tStart, tEnd
	return m
}

// release keeps a message that is done with (screened or passed over,
// and complete) for the next request.
func (c *rawConn) release(m *message) {
	if !m.complete || len(c.free) >= 2 || cap(m.line) > 1024 {
		return
	}
	*m = message{line: m.line[:0]}
	c.free = append(c.free, m)
}

func newRawConn(c net.Conn) *rawConn {
	rc := &rawConn{Conn: c}
	rc.f.c = rc
	return rc
}

func (c *rawConn) raw() *rawConn { return c }

// CloseWrite half-closes the connection when the one below can (an
// upgraded connection copies through it).
func (c *rawConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}

// Read reads as the server asks and follows what was read. While a
// watched request body is read, the read is bounded by the body idle
// timeout: when it fires, the connection's read deadline is set in the
// past, so this read and every later one fail and the server closes the
// connection.
func (c *rawConn) Read(p []byte) (int, error) {
	watched := c.watch.Load()
	if watched {
		c.timer.Reset(c.idle)
	}
	n, err := c.Conn.Read(p)
	if watched {
		c.timer.Stop()
	}
	if n > 0 && !c.off.Load() {
		c.mu.Lock()
		c.f.feed(p[:n])
		if c.f.state == stOff {
			c.off.Store(true)
		}
		c.mu.Unlock()
	}
	if err != nil && c.expired.Load() {
		err = errBodyIdle
	}
	return n, err
}

var errBodyIdle = &bodyIdleError{}

// bodyIdleError is the read error of a connection whose request body
// stalled for longer than the body idle timeout.
type bodyIdleError struct{}

func (*bodyIdleError) Error() string   { return "request body idle timeout" }
func (*bodyIdleError) Timeout() bool   { return true }
func (*bodyIdleError) Temporary() bool { return false }

// screen takes the request being served (method and target as in its
// request line), the oldest one followed and not yet screened: it returns
// why it must be refused, or "", and starts watching its body when the
// body is still to come. Requests followed before it that never reached
// the handler (Go's server answers "OPTIONS *" itself) are passed over;
// if one of them was malformed, this one is refused too.
func (c *rawConn) screen(method, target string, idle time.Duration) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var m *message
	skippedBad := false
	for i, q := range c.queue {
		if q.is(method, target) {
			m = q
			for _, p := range c.queue[:i] {
				skippedBad = skippedBad || p.reason != ""
				c.release(p)
			}
			n := copy(c.queue, c.queue[i+1:])
			clear(c.queue[n:])
			c.queue = c.queue[:n]
			break
		}
	}
	switch {
	case m == nil && c.f.poisoned, skippedBad:
		return "request framing error earlier on the connection"
	case m == nil:
		return "" // not followed (see rawConn)
	}
	m.screened = true
	reason := m.reason
	switch {
	case m.complete:
		c.release(m)
	case reason == "" && idle > 0:
		if c.timer == nil {
			c.idle = idle
			c.timer = time.AfterFunc(time.Hour, c.expire)
			c.timer.Stop()
		}
		c.watch.Store(true)
	}
	return reason
}

// bodyStreamTimeout is Envoy's local reply body for a stream idle timeout.
const bodyStreamTimeout = "stream timeout"

// clientBodyFailed answers an exchange that failed because of the
// client's HTTP/1 request body, as Envoy does: a body that stopped
// arriving for BodyIdleTimeout gets 408 "stream timeout" (flag SI), a
// malformed chunked body 400 (DPE); it returns false when the body is not
// the cause. The connection closes after the answer either way.
func clientBodyFailed(w http.ResponseWriter, r *http.Request, ex *exchange) bool {
	rc, _ := r.Context().Value(rawConnKey{}).(*rawConn)
	if rc == nil || r.ProtoMajor != 1 {
		return false
	}
	switch {
	case rc.expired.Load():
		setFlag(ex, accesslog.StreamIdleTimeout)
		localReply(w, r, http.StatusRequestTimeout, bodyStreamTimeout)
	case rc.bodyFailed.Load():
		setFlag(ex, accesslog.DownstreamProtocolError)
		localReply(w, r, http.StatusBadRequest, http.StatusText(http.StatusBadRequest))
	default:
		return false
	}
	return true
}

func (c *rawConn) expire() {
	c.expired.Store(true)
	c.Conn.SetReadDeadline(time.Unix(1, 0))
}

// ---- the framing follower ----

type framingState uint8

const (
	stHead      framingState = iota // a header block (request line first)
	stBody                          // remain bytes of a Content-Length body
	stChunkLine                     // a chunk-size line
	stChunkData                     // remain bytes of chunk data
	stChunkEnd                      // the CRLF after chunk data
	stTrailer                       // trailer lines up to an empty line
	stOff                           // not followed any more
)

// Limits of what is collected before giving up (Go's parser refuses
// beyond them, closing the connection).
const (
	maxHeadBytes  = 1<<20 + 8<<10 // above any MaxHeaderBytes in use
	maxChunkLine  = 4096          // Go's maxLineLength
	maxTrailBytes = 8 << 10
)

// framing follows HTTP/1 request framing the way net/http parses it.
type framing struct {
	c     *rawConn
	state framingState
	line  []byte // the partial line
	n     int    // bytes of the current header block or trailer
	crlf  int    // bytes of a chunk's closing CRLF seen

	// The current request.
	started  bool
	http10   bool
	reqLine  []byte // the request line
	mEnd     int    // reqLine[:mEnd] is the method
	tStart   int    // reqLine[tStart:tEnd] is the target
	tEnd     int
	absolute bool     // the target is in absolute form
	hosts    []string // Host values, for an absolute-form target
	cls      []string
	tes      []string
	fold     bool
	remain   uint64
	cur      *message // while its body is read

	poisoned bool // a body framing error: nothing after it can be trusted
}

func (f *framing) feed(b []byte) {
	for len(b) > 0 {
		switch f.state {
		case stOff:
			return
		case stHead, stChunkLine, stTrailer:
			i := bytes.IndexByte(b, '\n')
			part := b
			if i >= 0 {
				part = b[:i]
			}
			f.n += len(part) + 1
			switch {
			case f.state == stHead && f.n > maxHeadBytes:
				f.lose() // Go answers 431 and closes
				return
			case f.state == stChunkLine && f.n > maxChunkLine, f.state == stTrailer && f.n > maxTrailBytes:
				f.bodyError()
				return
			}
			f.line = append(f.line, part...)
			if i < 0 {
				return
			}
			b = b[i+1:]
			line := f.line
			f.line = f.line[:0]
			switch f.state {
			case stHead:
				f.headLine(line)
			case stChunkLine:
				f.chunkLine(line)
			default:
				f.trailerLine(line)
			}
		case stBody, stChunkData:
			k := uint64(len(b))
			if k > f.remain {
				k = f.remain
			}
			f.remain -= k
			b = b[k:]
			if f.remain == 0 {
				if f.state == stBody {
					f.endMessage()
				} else {
					f.state, f.crlf = stChunkEnd, 0
				}
			}
		case stChunkEnd:
			if b[0] != "\r\n"[f.crlf] {
				f.bodyError()
				return
			}
			b = b[1:]
			if f.crlf++; f.crlf == 2 {
				f.state, f.n = stChunkLine, 0
			}
		}
	}
}

// headLine takes one line of a header block, without its "\n".
func (f *framing) headLine(line []byte) {
	line = bytes.TrimSuffix(line, []byte("\r"))
	if !f.started {
		if len(line) == 0 {
			return // the empty lines Go tolerates before a request
		}
		// As Go's parseRequestLine: method SP target SP proto.
		mEnd := bytes.IndexByte(line, ' ')
		tLen := -1
		if mEnd > 0 {
			tLen = bytes.IndexByte(line[mEnd+1:], ' ')
		}
		if tLen < 0 || !bytes.HasPrefix(line[mEnd+1+tLen+1:], []byte("HTTP/1.")) {
			f.lose() // HTTP/2 prior knowledge, not HTTP, or refused by Go
			return
		}
		f.reqLine = append(f.reqLine[:0], line...)
		f.started, f.http10 = true, string(line[mEnd+1+tLen+1:]) == "HTTP/1.0"
		f.mEnd, f.tStart, f.tEnd = mEnd, mEnd+1, mEnd+1+tLen
		f.absolute = tLen > 0 && line[mEnd+1] != '/'
		return
	}
	if len(line) == 0 {
		f.endHead()
		return
	}
	if line[0] == ' ' || line[0] == '\t' {
		f.fold = true
		return
	}
	name, value, ok := bytes.Cut(line, []byte(":"))
	if !ok || len(name) == 0 {
		f.lose() // refused by Go
		return
	}
	switch {
	case asciiEqualFold(name, "content-length"):
		f.cls = append(f.cls, string(bytes.Trim(value, " \t")))
	case asciiEqualFold(name, "transfer-encoding"):
		f.tes = append(f.tes, string(bytes.Trim(value, " \t")))
	case f.absolute && asciiEqualFold(name, "host"):
		f.hosts = append(f.hosts, string(bytes.Trim(value, " \t")))
	}
}

// endHead ends a header block: it records what was found and follows the
// body the way Go frames it.
func (f *framing) endHead() {
	m := f.c.newMessage(f.reqLine, f.mEnd, f.tStart, f.tEnd)
	m.reason = f.headProblem()
	f.c.queue = append(f.c.queue, m)
	if cap(f.line) > 4096 {
		f.line = nil // a long header line: don't keep its buffer
	}
	if m.reason != "" {
		// The request is refused and the connection closed: nothing after
		// it needs following, and nothing after it is trusted.
		m.complete = true
		f.poisoned = true
		f.state = stOff
		return
	}
	f.cur = m
	switch {
	case len(f.tes) > 0 && !f.http10:
		if len(f.tes) != 1 || !strings.EqualFold(f.tes[0], "chunked") {
			f.lose() // Go answers 501 and closes
			return
		}
		f.state, f.n = stChunkLine, 0
	case len(f.cls) > 0:
		n, ok := parseLength(f.cls[0])
		if !ok {
			f.lose() // Go answers 400 and closes
			return
		}
		if n == 0 {
			f.endMessage()
			return
		}
		f.state, f.remain = stBody, n
	default:
		f.endMessage()
	}
}

// headProblem is why the current header block must be refused, or "".
func (f *framing) headProblem() string {
	switch {
	case f.fold:
		return "obsolete line folding (obs-fold) in the header"
	case len(f.tes) > 0 && len(f.cls) > 0:
		return "both Transfer-Encoding and Content-Length"
	case len(f.cls) > 1:
		return "several Content-Length headers"
	}
	if !f.absolute || len(f.hosts) != 1 {
		return ""
	}
	if authority, ok := absoluteAuthority(string(f.reqLine[f.tStart:f.tEnd])); ok && !strings.EqualFold(authority, f.hosts[0]) {
		return "the request target's authority is not the Host"
	}
	return ""
}

// absoluteAuthority is the authority of an absolute-form request target
// ("http://host:port/path").
func absoluteAuthority(target string) (string, bool) {
	if strings.HasPrefix(target, "/") {
		return "", false
	}
	_, rest, ok := strings.Cut(target, "://")
	if !ok {
		return "", false
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	return rest, true
}

func (f *framing) chunkLine(line []byte) {
	// Go: the line must end in CRLF, with no other CR; then trailing
	// white space and any extension are dropped and the rest is 1 to 16
	// hex digits.
	if i := bytes.IndexByte(line, '\r'); i != len(line)-1 {
		f.bodyError()
		return
	}
	line = bytes.TrimRight(line[:len(line)-1], " \t")
	line, _, _ = bytes.Cut(line, []byte(";"))
	size, ok := parseHex(line)
	if !ok {
		f.bodyError()
		return
	}
	if size == 0 {
		f.state, f.n = stTrailer, 0
		return
	}
	f.state, f.remain = stChunkData, size
}

func (f *framing) trailerLine(line []byte) {
	if len(line) == 0 {
		f.bodyError() // Go wants CRLF after the last chunk
		return
	}
	if string(line) == "\r" {
		f.endMessage()
	}
}

// endMessage ends a request (its body fully read).
func (f *framing) endMessage() {
	if m := f.cur; m != nil {
		m.complete = true
		if m.screened {
			f.c.watch.Store(false)
			f.c.release(m)
		}
	}
	f.reset()
}

func (f *framing) reset() {
	f.state, f.n, f.started, f.http10, f.absolute, f.fold, f.remain, f.cur = stHead, 0, false, false, false, false, 0, nil
	f.hosts, f.cls, f.tes = f.hosts[:0], f.cls[:0], f.tes[:0]
}

// bodyError: a malformed chunked body. A request not yet screened is
// refused; whatever follows on the connection is refused too (Go's
// server may try to read a next request from the bytes after the error).
func (f *framing) bodyError() {
	if f.cur != nil && !f.cur.screened {
		f.cur.reason = "malformed chunked body"
	}
	f.c.bodyFailed.Store(true)
	f.poisoned = true
	f.lose()
}

// lose stops following the connection.
func (f *framing) lose() {
	f.state = stOff
	f.line = nil
	if f.cur != nil && f.cur.screened {
		f.c.watch.Store(false)
	}
}

func parseLength(s string) (uint64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + uint64(s[i]-'0')
	}
	return n, true
}

func parseHex(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 16 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		n = n<<4 | uint64(c)
	}
	return n, true
}

func asciiEqualFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
