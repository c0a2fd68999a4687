package accesslog

import (
	"crypto/tls"
	"net"
	"net/http"
	"strings"
	"time"
)

// Entry is everything known about one finished request, in Envoy's terms.
// The gateway fills it as the request goes through; zero values mean "not
// known" and render as missing, except where Envoy renders 0 (response
// code, byte counts, connection id).
//
// Request fields describe the request as forwarded, after the gateway
// route's rewrites, because Envoy's router rewrites the downstream headers
// in place and its access log sees the result; OriginalPath keeps the path
// from before a rewrite, which Envoy logs as X-ENVOY-ORIGINAL-PATH.
type Entry struct {
	// StartTime is when the first request byte arrived.
	StartTime time.Time
	// RequestEnd is when the last request byte arrived (REQUEST_DURATION).
	RequestEnd time.Time
	// UpstreamRequestEnd is when the last request byte was sent upstream
	// (REQUEST_TX_DURATION).
	UpstreamRequestEnd time.Time
	// UpstreamResponseStart is when the first response byte came from
	// upstream (RESPONSE_DURATION).
	UpstreamResponseStart time.Time
	// EndTime is when the last response byte went downstream (DURATION).
	EndTime time.Time

	Method string
	// Path is ":path": path and query as sent upstream.
	Path string
	// OriginalPath is the path before a rewrite; "" when not rewritten.
	OriginalPath string
	// Authority is ":authority" (the Host header for HTTP/1).
	Authority string
	Scheme    string
	// Protocol is "HTTP/1.0", "HTTP/1.1", "HTTP/2" or "HTTP/3" (see
	// ProtocolName); "" renders as missing.
	Protocol string
	// RequestHeader, ResponseHeader and ResponseTrailer are looked up by
	// canonical key, as net/http stores them (no per-lookup allocation).
	RequestHeader http.Header

	// ResponseCode is the status sent downstream; 0 when none was sent
	// (the client went away first).
	ResponseCode int
	// ResponseCodeDetails says who set the code and why, in Envoy's words
	// ("via_upstream", "route_not_found", "no_healthy_upstream", ...).
	ResponseCodeDetails string
	ResponseHeader      http.Header
	ResponseTrailer     http.Header
	ResponseFlags       ResponseFlags
	// LocalReplyBody is the body of a reply the gateway made itself.
	LocalReplyBody string
	// BytesReceived and BytesSent count body bytes, as Envoy does.
	BytesReceived uint64
	BytesSent     uint64

	// RouteName is the gateway route that matched.
	RouteName       string
	UpstreamCluster string
	// UpstreamHost is the upstream endpoint, "ip:port".
	UpstreamHost string
	// UpstreamLocalAddress is the gateway's side of the upstream
	// connection, "ip:port".
	UpstreamLocalAddress           string
	UpstreamTransportFailureReason string
	UpstreamProtocol               string
	// UpstreamAttempts counts tries upstream (1 + retries); 0 = never tried.
	UpstreamAttempts uint32

	// DownstreamRemoteAddress is the client, "ip:port".
	DownstreamRemoteAddress string
	// DownstreamDirectRemoteAddress is the peer of the TCP connection when
	// it differs from DownstreamRemoteAddress; "" means the same.
	DownstreamDirectRemoteAddress string
	// DownstreamLocalAddress is the listener address the client reached.
	DownstreamLocalAddress string
	ConnectionID           uint64
	// TLS is the downstream TLS state; nil for plaintext.
	TLS *tls.ConnectionState
}

// SetRequest copies what a server-side request says about itself. The
// caller overrides Path, Authority and OriginalPath after a rewrite.
func (e *Entry) SetRequest(r *http.Request) {
	e.Method = r.Method
	// RequestURI is the request line's target as sent; an absolute-form
	// target ("http://host/p") becomes its path, as Envoy's :path is.
	e.Path = r.RequestURI
	if !strings.HasPrefix(e.Path, "/") && r.URL != nil {
		e.Path = r.URL.RequestURI()
	}
	e.Authority = r.Host
	e.Scheme = "http"
	if r.TLS != nil {
		e.Scheme = "https"
	}
	e.Protocol = ProtocolName(r.ProtoMajor, r.ProtoMinor)
	e.RequestHeader = r.Header
	e.DownstreamRemoteAddress = r.RemoteAddr
	e.TLS = r.TLS
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok && a != nil {
		e.DownstreamLocalAddress = a.String()
	}
}

// ProtocolName is Envoy's name for an HTTP version: Go says "HTTP/2.0"
// where Envoy logs "HTTP/2".
func ProtocolName(major, minor int) string {
	switch {
	case major == 1 && minor == 0:
		return "HTTP/1.0"
	case major == 1 && minor == 1:
		return "HTTP/1.1"
	case major == 2:
		return "HTTP/2"
	case major == 3:
		return "HTTP/3"
	}
	return ""
}
