package gateway

// Helpers of the edge-hardening tests (security_test.go,
// security_h2_test.go): a recording backend that keeps every request it
// receives, so a test can prove what was (or was not) forwarded, and raw
// socket helpers that write exact bytes to a gateway and read what comes
// back, including whether the gateway closed the connection.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meshgate/meshgate/internal/ir"
)

// recorded is one request as a recording backend received it.
type recorded struct {
	Method string
	URI    string // request target as received: path and query, byte for byte
	Host   string
	Proto  string
	Header http.Header
	Body   string
	// BodyErr: reading the body failed (the gateway aborted the request
	// while streaming it); such a request was never complete.
	BodyErr error
}

// recordingBackend answers 200 "<node> <uri>" to everything and records
// each request.
type recordingBackend struct {
	node string
	addr string
	mu   sync.Mutex
	reqs []recorded
}

func startRecorder(t testing.TB, node string) *recordingBackend {
	t.Helper()
	b := &recordingBackend{node: node}
	b.addr = serveBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		b.mu.Lock()
		b.reqs = append(b.reqs, recorded{Method: r.Method, URI: r.RequestURI, Host: r.Host, Proto: r.Proto,
			Header: r.Header.Clone(), Body: string(body), BodyErr: err})
		b.mu.Unlock()
		fmt.Fprintf(w, "%s %s", b.node, r.RequestURI)
	}))
	return b
}

// requests returns a copy of what the backend received so far.
func (b *recordingBackend) requests() []recorded {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]recorded(nil), b.reqs...)
}

func (b *recordingBackend) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.reqs)
}

// reset forgets what was recorded.
func (b *recordingBackend) reset() {
	b.mu.Lock()
	b.reqs = nil
	b.mu.Unlock()
}

// last is the last request received; the test fails when there is none.
func (b *recordingBackend) last(t testing.TB) recorded {
	t.Helper()
	rs := b.requests()
	if len(rs) == 0 {
		t.Fatalf("backend %s received nothing", b.node)
	}
	return rs[len(rs)-1]
}

// secRoute is one gateway route of a security test gateway: requests
// matching m go to the virtual service of backend (one service per
// backend, Host rewritten to its name).
type secRoute struct {
	name    string
	m       ir.Match
	backend *recordingBackend
}

// secGateway builds an HTTP (or h2c, for ir.HTTP2) gateway on a free port
// whose routes send to recording backends, each behind its own virtual
// service "<node>.local" with a route without retries (so a request that
// reached a backend reached it once).
func secGateway(t testing.TB, proto ir.Protocol, routes ...secRoute) *ir.Gateway {
	t.Helper()
	cfg := &ir.Gateway{Mesh: "m", Name: "gw", UID: "uid"}
	seen := map[*recordingBackend]bool{}
	var grs []ir.GatewayRoute
	for _, r := range routes {
		svc := r.backend.node + ".local"
		if !seen[r.backend] {
			seen[r.backend] = true
			c := clusterTo(t, r.backend.node, proto, r.backend.addr)
			cfg.Clusters = append(cfg.Clusters, c)
			cfg.Services = append(cfg.Services, nodeService(svc, proto, c.Name, func(rt *ir.Route) { rt.Retry = nil }))
		}
		grs = append(grs, ir.GatewayRoute{Name: r.name, Match: r.m,
			Action: ir.GatewayRouteAction{Service: svc, Port: testSvcPort, HostRewrite: svc}})
	}
	cfg.Listeners = []ir.Listener{listenerOn(freePort(t), proto, grs...)}
	return cfg
}

// startGatewayOpts is a gateway with opts (on 127.0.0.1, with the test
// logger) serving cfg; it returns the listener's address.
func startGatewayOpts(t testing.TB, opts Options, cfg *ir.Gateway) (*Gateway, string) {
	t.Helper()
	opts.ListenHost = "127.0.0.1"
	if opts.Logger == nil {
		opts.Logger = testLogger()
	}
	g := New(opts)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		g.Shutdown(ctx)
	})
	mustApply(t, g, cfg)
	return g, fmt.Sprintf("127.0.0.1:%d", cfg.Listeners[0].Port)
}

// rawResult is what came back on a raw connection.
type rawResult struct {
	status int
	header http.Header
	body   string
	// closed: the gateway closed the connection after the response (or
	// without one).
	closed bool
	err    error // the response could not be read (closed without one)
}

func (r rawResult) String() string {
	if r.err != nil {
		return fmt.Sprintf("no response (%v), closed=%v", r.err, r.closed)
	}
	return fmt.Sprintf("%d %q closed=%v", r.status, r.body, r.closed)
}

// dialRaw connects to addr from the local address from ("" = any).
func dialRaw(t testing.TB, addr, from string) net.Conn {
	t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second}
	if from != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// rawRoundTrip writes req (exact bytes) on a new connection and reads
// one response.
func rawRoundTrip(t testing.TB, addr, req string) rawResult {
	t.Helper()
	c := dialRaw(t, addr, "")
	return rawOn(t, c, bufio.NewReader(c), req, false)
}

// rawRoundTripClose is rawRoundTrip, then checks whether the gateway
// closes the connection.
func rawRoundTripClose(t testing.TB, addr, req string) rawResult {
	t.Helper()
	c := dialRaw(t, addr, "")
	return rawOn(t, c, bufio.NewReader(c), req, true)
}

// rawOn writes req on c and reads one response; with checkClose it then
// waits (up to 2 s) to see whether the connection is closed.
func rawOn(t testing.TB, c net.Conn, br *bufio.Reader, req string, checkClose bool) rawResult {
	t.Helper()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	defer c.SetDeadline(time.Time{})
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatalf("writing the request: %v", err)
	}
	var res rawResult
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		res.err, res.closed = err, true
		return res
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		res.err = err
	}
	res.status, res.header, res.body = resp.StatusCode, resp.Header, string(b)
	if checkClose {
		res.closed = closedSoon(c, br, 2*time.Second)
	}
	return res
}

// closedSoon reports whether the peer closes c (EOF or reset) within d,
// with nothing more to read.
func closedSoon(c net.Conn, br *bufio.Reader, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	defer c.SetReadDeadline(time.Time{})
	_, err := br.ReadByte()
	if err == nil {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	return true
}

// crlf turns "\n" line ends into "\r\n" (for readable raw requests).
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

// net_Dial connects to addr (for goroutines, which must not call t.Fatal).
func net_Dial(addr string) (net.Conn, error) { return net.DialTimeout("tcp", addr, 5*time.Second) }

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
