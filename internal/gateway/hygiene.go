package gateway

// Edge hardening: what the gateway checks before it routes a request,
// beyond what its HTTP servers refuse by themselves (docs/security.md,
// "Edge hardening").
//
// HTTP/1 is parsed by h1server, which refuses what net/http's server
// refuses (differing Content-Length headers, invalid lengths, transfer
// codings other than chunked (501), bad chunked framing, control
// characters in header values and Host, several Host headers) and marks
// the header blocks request smuggling through a lenient front proxy is
// made of, which Envoy refuses: Content-Length together with
// Transfer-Encoding, Content-Length repeated with equal values, obs-fold
// continuation lines, and an absolute-form request target whose authority
// is not the Host (h1server.Problem). screen, called before routing,
// refuses such a request with 400 and Connection: close, so nothing is
// forwarded and the connection ends (h1server never reads its body).
//
// screen also enforces, for HTTP/1 and HTTP/2 alike, Envoy's header
// limits (more than 100 header fields or more than MaxHeaderBytes of
// header → 431), a request-target limit (→ 414), an HTTP/2 Host header
// agreeing with :authority, and the policy for header names with
// underscores. h1server bounds slow HTTP/1 request bodies: a read of the
// body that gets nothing for BodyIdleTimeout fails the request (408) and
// closes the connection; a malformed chunk fails the upstream request and
// gets 400 (clientBodyFailed).

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/meshgate/meshgate/internal/gateway/accesslog"
	"github.com/meshgate/meshgate/internal/gateway/h1server"
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

// maxConcurrentStreams is the HTTP/2 stream limit of every listener.
func (e *EdgeLimits) maxConcurrentStreams() uint32 {
	if e.MaxConcurrentStreams <= 0 {
		return defaultMaxConcurrentStreams
	}
	return uint32(e.MaxConcurrentStreams)
}

// screen applies the edge checks to a request before it is routed. It
// answers a refused request itself and returns false.
func (p *proxy) screen(w http.ResponseWriter, r *http.Request, ex *exchange) bool {
	o := &p.g.opts
	if reason := h1server.Problem(r); reason != "" {
		return p.refuse(w, r, ex, http.StatusBadRequest, reason)
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

// terminateTLS completes the TLS handshake of a connection of s, as
// http.Server would (bounded by ReadHeaderTimeout, errors logged the
// same way), so that the negotiated protocol picks the server. ok is
// false (and c closed) when the handshake failed.
func (s *serving) terminateTLS(c net.Conn) (conn net.Conn, ok bool) {
	tc := tls.Server(c, s.tls)
	if d := s.h1.ReadHeaderTimeout; d > 0 {
		tc.SetDeadline(time.Now().Add(d))
	}
	err := tc.HandshakeContext(context.Background())
	if err != nil {
		var re tls.RecordHeaderError
		if errors.As(err, &re) && re.Conn != nil && looksLikeHTTP(re.RecordHeader) {
			re.Conn.Write([]byte("HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"))
		}
		if s.h1.ErrorLog != nil {
			s.h1.ErrorLog.Printf("http: TLS handshake error from %s: %v", c.RemoteAddr(), err)
		}
		c.Close()
		return nil, false
	}
	tc.SetDeadline(time.Time{})
	return tc, true
}

func looksLikeHTTP(hdr [5]byte) bool {
	switch string(hdr[:]) {
	case "GET /", "HEAD ", "POST ", "PUT /", "OPTIO":
		return true
	}
	return false
}

// bodyStreamTimeout is Envoy's local reply body for a stream idle timeout.
const bodyStreamTimeout = "stream timeout"

// clientBodyFailed answers an exchange that failed because of the
// client's HTTP/1 request body, as Envoy does: a body that stopped
// arriving for BodyIdleTimeout gets 408 "stream timeout" (flag SI), a
// malformed chunked body 400 (DPE); it returns false when the body is not
// the cause. The connection closes after the answer either way.
func clientBodyFailed(w http.ResponseWriter, r *http.Request, ex *exchange) bool {
	if r.ProtoMajor != 1 {
		return false
	}
	switch err := h1server.BodyError(r); {
	case errors.Is(err, h1server.ErrBodyIdle):
		setFlag(ex, accesslog.StreamIdleTimeout)
		localReply(w, r, http.StatusRequestTimeout, bodyStreamTimeout)
	case errors.Is(err, h1server.ErrMalformedBody):
		setFlag(ex, accesslog.DownstreamProtocolError)
		localReply(w, r, http.StatusBadRequest, http.StatusText(http.StatusBadRequest))
	default:
		return false
	}
	return true
}
