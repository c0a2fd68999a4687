package gateway

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/meshgate/meshgate/internal/gateway/upstream"
	"github.com/meshgate/meshgate/internal/ir"
)

// flakyBackend answers 503 to its first failFirst requests (all of them
// when failFirst < 0) and 200 after, recording each request body.
type flakyBackend struct {
	addr      string
	failFirst int
	mu        sync.Mutex
	bodies    [][]byte
	lengths   []int64
}

func startFlaky(t *testing.T, failFirst int) *flakyBackend {
	b := &flakyBackend{failFirst: failFirst}
	b.addr = serveBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		b.mu.Lock()
		b.bodies = append(b.bodies, body)
		b.lengths = append(b.lengths, r.ContentLength)
		n := len(b.bodies)
		b.mu.Unlock()
		if b.failFirst < 0 || n <= b.failFirst {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "flaky attempt %d", n)
			return
		}
		fmt.Fprintf(w, "ok attempt %d", n)
	}))
	return b
}

func (b *flakyBackend) seen() ([][]byte, []int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([][]byte(nil), b.bodies...), append([]int64(nil), b.lengths...)
}

// TestRetryOn503: App Mesh's default policy (retry on 503, two retries)
// turns one 503 into a success after a second attempt.
func TestRetryOn503(t *testing.T) {
	be := startFlaky(t, 1)
	cfg := oneBackend(t, ir.HTTP, be.addr, nil)
	startGateway(t, cfg)
	resp, body := get(t, h1Client(t), listenURL(cfg, 0, "/retry"))
	if resp.StatusCode != http.StatusOK || body != "ok attempt 2" {
		t.Fatalf("got %d %q, want 200 from the second attempt", resp.StatusCode, body)
	}
	if bodies, _ := be.seen(); len(bodies) != 2 {
		t.Errorf("backend saw %d requests, want 2", len(bodies))
	}
}

// TestRetryReplaysBody: a POST body of a few KiB reaches the backend
// intact on the first attempt and on the retry.
func TestRetryReplaysBody(t *testing.T) {
	be := startFlaky(t, 1)
	cfg := oneBackend(t, ir.HTTP, be.addr, nil)
	startGateway(t, cfg)
	payload := make([]byte, 6<<10)
	rand.Read(payload)
	resp, err := h1Client(t).Post(listenURL(cfg, 0, "/upload"), "application/octet-stream", bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("got %d %s", resp.StatusCode, body)
	}
	bodies, lengths := be.seen()
	if len(bodies) != 2 {
		t.Fatalf("backend saw %d attempts, want 2", len(bodies))
	}
	for i, b := range bodies {
		if !bytes.Equal(b, payload) {
			t.Errorf("attempt %d: body of %d bytes differs from the %d sent", i+1, len(b), len(payload))
		}
		if lengths[i] != int64(len(payload)) {
			t.Errorf("attempt %d: Content-Length %d, want %d", i+1, lengths[i], len(payload))
		}
	}
}

// TestRetryGivesUp: a backend that always answers 503 is tried 1+2 times
// and its last answer is passed on.
func TestRetryGivesUp(t *testing.T) {
	be := startFlaky(t, -1)
	cfg := oneBackend(t, ir.HTTP, be.addr, nil)
	startGateway(t, cfg)
	resp, body := get(t, h1Client(t), listenURL(cfg, 0, "/down"))
	if resp.StatusCode != http.StatusServiceUnavailable || body != "flaky attempt 3" {
		t.Fatalf("got %d %q, want the third attempt's 503", resp.StatusCode, body)
	}
	if bodies, _ := be.seen(); len(bodies) != 3 {
		t.Errorf("backend saw %d attempts, want 3", len(bodies))
	}
}

// TestRouteTimeout: a route timeout to a backend that never answers
// gives 504 "upstream request timeout" after the timeout, for HTTP/1.1
// and HTTP/2 clusters (whose clients report the timeout in their own
// ways) and either kind of client. A timeout of 200 ms has its timer at
// once; one of 1.2 s gets it from the server's sweeper (reqctx's
// DeferTimeouts), as the default 15 s does.
func TestRouteTimeout(t *testing.T) {
	const short, long = 200 * time.Millisecond, 1200 * time.Millisecond
	for _, tc := range []struct {
		name    string
		proto   ir.Protocol
		client  func(testing.TB) *http.Client
		timeout time.Duration
	}{
		{"http cluster, h1 client", ir.HTTP, h1Client, short},
		{"http2 cluster, h1 client", ir.HTTP2, h1Client, short},
		{"http2 cluster, h2c client", ir.HTTP2, h2cClient, short},
		{"http cluster, h1 client, timer from the sweeper", ir.HTTP, h1Client, long},
		{"http2 cluster, h2c client, timer from the sweeper", ir.HTTP2, h2cClient, long},
	} {
		t.Run(tc.name, func(t *testing.T) {
			slow := startSlow(t)
			cfg := oneBackend(t, tc.proto, slow.addr, func(r *ir.Route) { r.Timeout = ir.Duration(tc.timeout) })
			startGateway(t, cfg)
			start := time.Now()
			resp, body := get(t, tc.client(t), listenURL(cfg, 0, "/hang"))
			took := time.Since(start)
			if resp.StatusCode != http.StatusGatewayTimeout || body != bodyTimeout {
				t.Fatalf("got %d %q, want 504 %q", resp.StatusCode, body, bodyTimeout)
			}
			if took < tc.timeout-10*time.Millisecond || took > tc.timeout+3*time.Second {
				t.Errorf("the timeout answer came after %v, want about %v", took, tc.timeout)
			}
			if n := slow.hits.Load(); n != 1 {
				t.Errorf("backend saw %d attempts, want 1 (a timeout is not retried)", n)
			}
		})
	}
}

// TestClientGoneCancelsUpstream: a client that goes away while the
// upstream has not answered ends the upstream request (the backend's
// request context ends), for HTTP/1.1 and HTTP/2 clusters, whether the
// client closes its HTTP/1.1 connection or resets its HTTP/2 stream.
func TestClientGoneCancelsUpstream(t *testing.T) {
	for _, tc := range []struct {
		name  string
		proto ir.Protocol
		h2c   bool
	}{
		{"http cluster, h1 client closes", ir.HTTP, false},
		{"http2 cluster, h1 client closes", ir.HTTP2, false},
		{"http cluster, h2c stream reset", ir.HTTP, true},
		{"http2 cluster, h2c stream reset", ir.HTTP2, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			arrived, ended := make(chan struct{}, 1), make(chan struct{}, 1)
			addr := serveBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				arrived <- struct{}{}
				select {
				case <-r.Context().Done():
					ended <- struct{}{}
				case <-time.After(10 * time.Second):
				}
			}))
			listenProto := tc.proto
			if tc.h2c {
				listenProto = ir.HTTP2 // h2c reaches only an http2 listener
			}
			cfg := oneBackend(t, tc.proto, addr, nil)
			cfg.Listeners[0].Protocol = listenProto
			startGateway(t, cfg)
			wait := func(ch chan struct{}, what string) {
				t.Helper()
				select {
				case <-ch:
				case <-time.After(5 * time.Second):
					t.Fatalf("timed out waiting for %s", what)
				}
			}
			if tc.h2c {
				ctx, cancel := context.WithCancel(context.Background())
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, listenURL(cfg, 0, "/hang"), nil)
				errc := make(chan error, 1)
				go func() {
					resp, err := h2cClient(t).Do(req)
					if err == nil {
						resp.Body.Close()
					}
					errc <- err
				}()
				wait(arrived, "the request to reach the backend")
				cancel() // RST_STREAM
				if err := <-errc; err == nil {
					t.Fatal("the cancelled request got a response")
				}
			} else {
				c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", cfg.Listeners[0].Port))
				if err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(c, "GET /hang HTTP/1.1\r\nHost: gw\r\n\r\n")
				wait(arrived, "the request to reach the backend")
				c.Close()
			}
			wait(ended, "the backend's request to end after the client went away")
		})
	}
}

// TestRetryable: which outcomes of an attempt each App Mesh retry event
// retries, as the Envoy translation's retry_on conditions do (server-error
// 5xx, gateway-error gateway-error+reset, stream-error refused-stream+reset,
// connection-error connect-failure).
func TestRetryable(t *testing.T) {
	refused := &upstream.ConnectError{Cluster: "c", Err: errors.New("connection refused")}
	protocol := &upstream.ProtocolError{Err: errors.New("malformed HTTP response")}
	status := func(code int, grpc string) *http.Response {
		r := &http.Response{StatusCode: code, Header: http.Header{}}
		if grpc != "" {
			r.Header.Set("Grpc-Status", grpc)
		}
		return r
	}
	type outcome struct {
		name string
		resp *http.Response
		err  error
	}
	outcomes := []outcome{
		{"connect failure", nil, refused},
		{"reset", nil, io.ErrUnexpectedEOF},
		{"protocol error", nil, protocol},
		{"per-try timeout", nil, errPerTryTimeout},
		{"route timeout", nil, context.DeadlineExceeded},
		{"no healthy upstream", nil, errNoHealthyUpstream},
		{"500", status(500, ""), nil},
		{"503", status(503, ""), nil},
		{"409", status(409, ""), nil},
		{"200", status(200, ""), nil},
		{"grpc unavailable", status(200, "14"), nil},
	}
	for _, tc := range []struct {
		policy ir.RetryPolicy
		want   []string // the outcomes retried
	}{
		{ir.RetryPolicy{HTTPEvents: []string{"server-error"}},
			[]string{"connect failure", "reset", "protocol error", "per-try timeout", "500", "503"}},
		{ir.RetryPolicy{HTTPEvents: []string{"gateway-error"}},
			[]string{"connect failure", "reset", "protocol error", "per-try timeout", "503"}},
		{ir.RetryPolicy{HTTPEvents: []string{"stream-error"}},
			[]string{"connect failure", "reset", "protocol error", "per-try timeout"}},
		{ir.RetryPolicy{HTTPEvents: []string{"client-error"}}, []string{"409"}},
		{ir.RetryPolicy{TCPEvents: []string{"connection-error"}}, []string{"connect failure"}},
		{ir.RetryPolicy{GRPCEvents: []string{"unavailable"}}, []string{"grpc unavailable"}},
		{ir.RetryPolicy{StatusCodes: []uint32{409, 500}}, []string{"500", "409"}},
		{*defaultRetry(), []string{"connect failure", "reset", "protocol error", "per-try timeout", "503"}},
	} {
		for _, o := range outcomes {
			want := slices.Contains(tc.want, o.name)
			if got := retryable(&tc.policy, o.resp, o.err); got != want {
				t.Errorf("policy %+v, %s: retried %v, want %v", tc.policy, o.name, got, want)
			}
		}
	}
}

// TestRetryPerTryTimeout: an attempt that outlives the per-try timeout is
// abandoned and retried, as Envoy retries per-try timeouts under 5xx,
// gateway-error and reset; an attempt cut short by its per-try timeout
// leaves the route timeout to the request.
func TestRetryPerTryTimeout(t *testing.T) {
	var mu sync.Mutex
	n := 0
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	addr := serveBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		first := n == 1
		mu.Unlock()
		if first {
			select { // hangs past the per-try timeout
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		io.WriteString(w, "second attempt")
	}))
	const perTry = 200 * time.Millisecond
	cfg := oneBackend(t, ir.HTTP, addr, func(r *ir.Route) {
		r.Retry = &ir.RetryPolicy{MaxRetries: 2, PerTryTimeout: ir.Duration(perTry), HTTPEvents: []string{"gateway-error"}}
	})
	startGateway(t, cfg)
	start := time.Now()
	resp, body := get(t, h1Client(t), listenURL(cfg, 0, "/slow"))
	if resp.StatusCode != http.StatusOK || body != "second attempt" {
		t.Fatalf("got %d %q, want the second attempt's answer", resp.StatusCode, body)
	}
	if d := time.Since(start); d < perTry {
		t.Errorf("answered after %v, before the per-try timeout of %v", d, perTry)
	}
}

// TestRetryReset: a connection the upstream closes without answering is
// retried under server-error (Envoy's 5xx includes resets).
func TestRetryReset(t *testing.T) {
	var mu sync.Mutex
	n := 0
	addr := misbehaving(t, func(c net.Conn) {
		mu.Lock()
		n++
		first := n == 1
		mu.Unlock()
		if !first {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nagain")
		}
	})
	cfg := oneBackend(t, ir.HTTP, addr, func(r *ir.Route) {
		r.Retry = &ir.RetryPolicy{MaxRetries: 1, HTTPEvents: []string{"server-error"}}
	})
	startGateway(t, cfg)
	resp, body := get(t, h1Client(t), listenURL(cfg, 0, "/x"))
	if resp.StatusCode != http.StatusOK || body != "again" {
		t.Fatalf("got %d %q, want the retry's 200", resp.StatusCode, body)
	}
}
