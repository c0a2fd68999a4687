package upstream

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"

	"github.com/meshgate/meshgate/internal/gateway/reqctx"
	"github.com/meshgate/meshgate/internal/ir"
)

// usesHTTP2 reports whether a cluster (or health check) protocol speaks
// HTTP/2 to the upstream. Anything else, tcp and unknown values included,
// is HTTP/1.1: the gateway only proxies HTTP.
func usesHTTP2(p ir.Protocol) bool { return p == ir.HTTP2 || p == ir.GRPC }

// protocolsFor is the transport protocol set: HTTP/2 by ALPN under TLS,
// by prior knowledge (h2c) in plaintext, as Envoy's http2_protocol_options
// clusters do; HTTP/1.1 otherwise.
func protocolsFor(h2, withTLS bool) *http.Protocols {
	p := new(http.Protocols)
	switch {
	case !h2:
		p.SetHTTP1(true)
	case withTLS:
		p.SetHTTP2(true)
	default:
		p.SetUnencryptedHTTP2(true)
	}
	return p
}

// alpnFor is what the TLS client offers; it must agree with protocolsFor
// or the transport would speak HTTP/1.1 on a connection the server set up
// for h2.
func alpnFor(h2 bool) []string {
	if h2 {
		return []string{"h2"}
	}
	return []string{"http/1.1"}
}

// newH1Client builds an HTTP/1.1 endpoint's pool (h1client.go), with the
// transport's limits below: no response-header timeout, no connection cap,
// up to maxIdleConnsPerHost idle connections closed after IdleConnTimeout.
func (c *Cluster) newH1Client(ep *endpoint) *h1Client {
	return newH1Client(ep.dial, c.opts.IdleConnTimeout, maxIdleConnsPerHost)
}

// newTransport builds an HTTP/2 (or gRPC) endpoint's pool. No
// response-header timeout: the proxy bounds each attempt with the request
// context. No compression: a proxy must pass bodies through as they are.
// No proxy from the environment. No cap on connections (App Mesh raises
// Envoy's circuit breakers to 2^31-1), and a large idle pool so keep-alive
// holds under load.
func (c *Cluster) newTransport(ep *endpoint) *http.Transport {
	t := &http.Transport{
		Proxy:               nil,
		MaxIdleConns:        0,
		MaxIdleConnsPerHost: maxIdleConnsPerHost,
		MaxConnsPerHost:     0,
		IdleConnTimeout:     c.opts.IdleConnTimeout,
		DisableCompression:  true,
		ForceAttemptHTTP2:   c.h2,
		Protocols:           protocolsFor(c.h2, c.scheme == "https"),
	}
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) { return ep.dial(ctx) }
	if c.scheme == "https" {
		t.DialTLSContext = dial
	} else {
		t.DialContext = dial
	}
	return t
}

// traced is an HTTP/2 or gRPC endpoint's http.Transport. The transport
// takes a request's 1xx hook from httptrace only: traced hands it the
// request's reqctx.Informational that way. It also gives failures the
// classes Envoy's replies and flags need (h2Error), which the transport's
// unexported error types do not.
type traced struct{ *http.Transport }

func (t traced) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if inf := reqctx.InformationalOf(ctx); inf != nil {
		if tr := httptrace.ContextClientTrace(ctx); tr == nil || tr.Got1xxResponse == nil {
			req = req.WithContext(httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{Got1xxResponse: inf.Got1xx}))
		}
	}
	resp, err := t.Transport.RoundTrip(req)
	if err != nil {
		return nil, h2Error(err)
	}
	if k := connectionSpecific(resp.Header); k != "" {
		// Malformed (RFC 9113 §8.2.2), which net/http's client lets
		// through; Envoy resets the stream: a protocol error.
		resp.Body.Close()
		return nil, &ProtocolError{Err: fmt.Errorf("HTTP/2 response with the connection-specific field %q", k)}
	}
	if resp.Body != http.NoBody {
		resp.Body = h2Body{resp.Body}
	}
	return resp, nil
}

// connectionSpecific is the first field of h that an HTTP/2 message must
// not carry, or "".
func connectionSpecific(h http.Header) string {
	for _, k := range [...]string{"Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade"} {
		if _, ok := h[k]; ok {
			return k
		}
	}
	return ""
}

// h2Body classifies the errors of an HTTP/2 response's body, as a reset
// after the response began (h2Error).
type h2Body struct{ io.ReadCloser }

func (b h2Body) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		err = h2Error(err)
	}
	return n, err
}

// newProbeTransport is a health-check pool for one endpoint: separate from
// traffic, as Envoy's health checker keeps its own connection per host.
func (c *Cluster) newProbeTransport(h2 bool, tlsCfg *tls.Config) *http.Transport {
	t := &http.Transport{
		Proxy:               nil,
		MaxIdleConnsPerHost: 1,
		IdleConnTimeout:     c.opts.IdleConnTimeout,
		DisableCompression:  true,
		ForceAttemptHTTP2:   h2,
		Protocols:           protocolsFor(h2, tlsCfg != nil),
	}
	dial := func(ctx context.Context, _, addr string) (net.Conn, error) {
		ap, err := netip.ParseAddrPort(addr)
		if err != nil {
			return nil, err
		}
		return c.connect(ctx, ap, addr, nil, tlsCfg)
	}
	if tlsCfg != nil {
		t.DialTLSContext = dial
	} else {
		t.DialContext = dial
	}
	return t
}

// connect opens a TCP connection and, with tlsCfg, completes the TLS
// handshake, both within ConnectTimeout. Every failure is a *ConnectError
// so the proxy can answer "connection failure" and retry policies can
// match connect errors. track, when set, registers the connection with its
// endpoint for draining.
func (c *Cluster) connect(ctx context.Context, addr netip.AddrPort, hostport string, track *endpoint, tlsCfg *tls.Config) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.ConnectTimeout)
	defer cancel()
	raw, err := c.dialer.DialContext(ctx, "tcp", hostport)
	if err != nil {
		return nil, c.connectFailed(addr, false, err)
	}
	conn := raw
	if track != nil {
		if conn = track.track(raw); conn == nil {
			return nil, c.connectFailed(addr, false, errEndpointClosed)
		}
	}
	if tlsCfg == nil {
		return conn, nil
	}
	tc := tls.Client(conn, tlsCfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		tc.Close()
		return nil, c.connectFailed(addr, true, err)
	}
	return tc, nil
}

func (c *Cluster) connectFailed(addr netip.AddrPort, inTLS bool, err error) error {
	c.opts.Metrics.ConnectFailure(c.name, addr, err)
	return &ConnectError{Cluster: c.name, Endpoint: addr, TLS: inTLS, Err: err}
}
