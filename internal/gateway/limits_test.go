package gateway

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/meshgate/meshgate/internal/ir"
	"github.com/meshgate/meshgate/internal/testutil/wait"
)

type result struct {
	status int
	body   string
	err    error
}

func fetch(c *http.Client, url string, out chan<- result) {
	resp, err := c.Get(url)
	if err != nil {
		out <- result{err: err}
		return
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	out <- result{status: resp.StatusCode, body: string(b), err: err}
}

func wantResult(t *testing.T, ch <-chan result, status int) {
	t.Helper()
	select {
	case r := <-ch:
		if r.err != nil || r.status != status {
			t.Fatalf("got %d %q (%v), want %d", r.status, r.body, r.err, status)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("request did not finish")
	}
}

// expectOverflow asserts an immediate 503 overflow answer.
func expectOverflow(t *testing.T, c *http.Client, url string) {
	t.Helper()
	start := time.Now()
	resp, body := get(t, c, url)
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("the overflow answer took %v, want it at once", took)
	}
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("X-Envoy-Overloaded") != "true" || body != bodyOverflow {
		t.Fatalf("got %d x-envoy-overloaded=%q %q, want 503 true %q", resp.StatusCode,
			resp.Header.Get("X-Envoy-Overloaded"), body, bodyOverflow)
	}
}

// TestConnectionPoolHTTP: with MaxConnections 1 and MaxPendingRequests 1,
// one request is in flight, one waits, and a third is refused at once
// with 503 and x-envoy-overloaded; once the backend answers, the waiting
// request goes through and new requests succeed again.
func TestConnectionPoolHTTP(t *testing.T) {
	slow := startSlow(t)
	cfg := oneBackend(t, ir.HTTP, slow.addr, nil)
	cfg.Listeners[0].Limits = &ir.ConnectionLimits{MaxConnections: 1, MaxPendingRequests: 1}
	g := startGateway(t, cfg)
	port := cfg.Listeners[0].Port
	c := h1Client(t)

	first, second := make(chan result, 1), make(chan result, 1)
	go fetch(c, listenURL(cfg, 0, "/first"), first)
	if p := slow.waitArrival(t); p != "/first" {
		t.Fatalf("backend got %s", p)
	}
	go fetch(c, listenURL(cfg, 0, "/second"), second)
	wait.For(t, 5*time.Second, "the second request to wait as pending", func() bool {
		return g.state.Load().limits[port].pending.Load() == 1
	})
	expectOverflow(t, c, listenURL(cfg, 0, "/third"))
	if n := slow.hits.Load(); n != 1 {
		t.Fatalf("backend saw %d requests while saturated, want 1", n)
	}

	slow.open()
	wantResult(t, first, http.StatusOK)
	wantResult(t, second, http.StatusOK)
	if p := slow.waitArrival(t); p != "/second" {
		t.Fatalf("backend got %s, want the pending /second", p)
	}
	for range 3 {
		if resp, body := get(t, c, listenURL(cfg, 0, "/after")); resp.StatusCode != http.StatusOK {
			t.Fatalf("after recovery: %d %s", resp.StatusCode, body)
		}
	}
	lim := g.state.Load().limits[port]
	wait.For(t, 5*time.Second, "the pool to drain", func() bool {
		return lim.active.Load() == 0 && lim.pending.Load() == 0
	})
}

// TestConnectionPoolHTTP2: an http2 listener with MaxRequests 1 refuses a
// second concurrent request at once (no pending queue for HTTP/2) and
// recovers when the first finishes.
func TestConnectionPoolHTTP2(t *testing.T) {
	slow := startSlow(t)
	cfg := oneBackend(t, ir.HTTP2, slow.addr, nil)
	cfg.Listeners[0].Limits = &ir.ConnectionLimits{MaxRequests: 1}
	startGateway(t, cfg)
	c := h2cClient(t)

	first := make(chan result, 1)
	go fetch(c, listenURL(cfg, 0, "/first"), first)
	slow.waitArrival(t)
	expectOverflow(t, c, listenURL(cfg, 0, "/second"))
	if n := slow.hits.Load(); n != 1 {
		t.Fatalf("backend saw %d requests while saturated, want 1", n)
	}
	slow.open()
	wantResult(t, first, http.StatusOK)
	for range 3 {
		resp, body := get(t, c, listenURL(cfg, 0, "/after"))
		if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 {
			t.Fatalf("after recovery: %d over %s: %s", resp.StatusCode, resp.Proto, body)
		}
	}
}
