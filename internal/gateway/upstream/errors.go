package upstream

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
)

// The local replies Envoy sends when an upstream attempt fails before
// response headers; App Mesh users see (and alert on) these exact texts.
const (
	BodyNoHealthyUpstream     = "no healthy upstream"
	BodyConnectionFailure     = "upstream connect error or disconnect/reset before headers. reset reason: connection failure"
	BodyConnectionTermination = "upstream connect error or disconnect/reset before headers. reset reason: connection termination"
	BodyProtocolError         = "upstream connect error or disconnect/reset before headers. reset reason: protocol error"
	BodyRemoteReset           = "upstream connect error or disconnect/reset before headers. reset reason: remote reset"
)

var (
	// ErrNoHealthyUpstream: the cluster has no endpoint to send to (never
	// resolved, resolved to nothing, every endpoint excluded with panic mode
	// off, or the cluster was closed). Envoy answers 503 "no healthy upstream".
	ErrNoHealthyUpstream = errors.New(BodyNoHealthyUpstream)

	// ErrConnectionFailure matches (errors.Is) every *ConnectError and
	// *ConfigError: no connection to the endpoint could be made, TLS
	// included. Envoy answers 503 with BodyConnectionFailure, and retry
	// policies with "connection-error" may retry it.
	ErrConnectionFailure = errors.New(BodyConnectionFailure)
)

// ConnectError is a failed TCP connect or TLS handshake (certificate
// validation and SAN mismatches included) towards one endpoint.
type ConnectError struct {
	Cluster  string
	Endpoint netip.AddrPort
	TLS      bool // the TCP connection was made; the TLS handshake failed
	Err      error
}

func (e *ConnectError) Error() string {
	stage := "connect"
	if e.TLS {
		stage = "tls handshake"
	}
	return fmt.Sprintf("upstream %s: %s to %s: %v", e.Cluster, stage, e.Endpoint, e.Err)
}

func (e *ConnectError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrConnectionFailure) the one test the proxy needs.
func (e *ConnectError) Is(target error) bool { return target == ErrConnectionFailure }

// ProtocolError is a response that breaks the protocol: an HTTP/1.1
// status line or header field that does not parse, a header block over the
// limit, an upgrade to another protocol than the one asked for; over
// HTTP/2 an invalid field, no :status, a frame out of place (Envoy's
// upstream protocol error, UPE, answered 502 BodyProtocolError).
type ProtocolError struct{ Err error }

func (e *ProtocolError) Error() string { return "upstream protocol error: " + e.Err.Error() }
func (e *ProtocolError) Unwrap() error { return e.Err }

// RemoteResetError is an HTTP/2 stream the upstream reset (RST_STREAM):
// Envoy's remote reset, UR. Before a response head it is answered 503
// BodyRemoteReset; after, the response is cut.
type RemoteResetError struct{ Err error }

func (e *RemoteResetError) Error() string { return "upstream reset the stream: " + e.Err.Error() }
func (e *RemoteResetError) Unwrap() error { return e.Err }

// ConfigError is a cluster this package cannot serve as configured, such
// as TLS material named by SDS when no SDS provider is set. Every request to
// the cluster fails with it. It counts as a connection failure because that
// is what Envoy does with a cluster whose secret never arrives: it leaves
// warming after its fetch timeout and then fails every TLS handshake.
type ConfigError struct {
	Cluster string
	Err     error
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("upstream %s: configuration: %v", e.Cluster, e.Err)
}

func (e *ConfigError) Unwrap() error { return e.Err }

func (e *ConfigError) Is(target error) bool { return target == ErrConnectionFailure }

// LocalReply maps an error from Cluster.RoundTrip to the reply Envoy would
// send. ok is false for context errors: a deadline is the caller's own
// timeout (Envoy's 504 "upstream request timeout") and a cancellation means
// the client went away, so the caller decides.
func LocalReply(err error) (status int, body string, ok bool) {
	switch {
	case err == nil, errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return 0, "", false
	case errors.Is(err, ErrNoHealthyUpstream):
		return 503, BodyNoHealthyUpstream, true
	case errors.Is(err, ErrConnectionFailure):
		return 503, BodyConnectionFailure, true
	case errors.As(err, new(*ProtocolError)):
		return http.StatusBadGateway, BodyProtocolError, true
	case errors.As(err, new(*RemoteResetError)):
		return http.StatusServiceUnavailable, BodyRemoteReset, true
	default:
		// Connected, then the upstream went away before sending headers.
		return 503, BodyConnectionTermination, true
	}
}
