package gateway

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/meshgate/meshgate/internal/ir"
	"github.com/meshgate/meshgate/internal/testutil/wait"
	"golang.org/x/net/http2"
)

func ready(t *testing.T, h http.Handler) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/ready", nil))
	return rec.Code, strings.TrimSpace(rec.Body.String())
}

// TestAdminReadyAndDrain: /ready is 503 before the first Apply and 200
// after; after Drain it is 503 again while requests are still served,
// HTTP/1 responses carry Connection: close, and an HTTP/2 connection gets
// GOAWAY (NO_ERROR, naming the stream just answered) after its response,
// which carries no Connection field.
func TestAdminReadyAndDrain(t *testing.T) {
	be := startEcho(t, "backend")
	g := newTestGateway(t)
	admin := g.AdminHandler(map[string]string{"node": "test"}, nil)

	if code, body := ready(t, admin); code != http.StatusServiceUnavailable || body != "PRE_INITIALIZING" {
		t.Fatalf("/ready before Apply: %d %q", code, body)
	}
	cfg := oneBackend(t, ir.HTTP2, be.Addr, nil)
	cfg.Listeners[0].VirtualHosts[0].Routes[0].Match.Prefix = "/ok"
	mustApply(t, g, cfg)
	if code, body := ready(t, admin); code != http.StatusOK || body != "LIVE" {
		t.Fatalf("/ready after Apply: %d %q", code, body)
	}
	c1, c2 := h1Client(t), h2cClient(t)
	resp, _ := get(t, c1, listenURL(cfg, 0, "/ok/before"))
	if resp.StatusCode != http.StatusOK || resp.Close {
		t.Fatalf("before draining: %d, close=%v", resp.StatusCode, resp.Close)
	}

	g.Drain()
	if code, body := ready(t, admin); code != http.StatusServiceUnavailable || body != "DRAINING" {
		t.Fatalf("/ready after Drain: %d %q", code, body)
	}
	for i := range 3 {
		resp, body := get(t, c1, listenURL(cfg, 0, fmt.Sprintf("/ok/draining/%d", i)))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("HTTP/1 request while draining: %d %s", resp.StatusCode, body)
		}
		if !resp.Close {
			t.Errorf("HTTP/1 response while draining: close=%v Connection=%q, want Connection: close",
				resp.Close, resp.Header.Get("Connection"))
		}
	}
	resp, body := get(t, c2, listenURL(cfg, 0, "/ok/draining/h2"))
	if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 || resp.Header.Get("Connection") != "" {
		t.Fatalf("HTTP/2 request while draining: %d over %s, Connection %q: %s", resp.StatusCode, resp.Proto,
			resp.Header.Get("Connection"), body)
	}
	h := dialH2(t, fmt.Sprintf("127.0.0.1:%d", cfg.Listeners[0].Port))
	if err := h.request(1, "/ok/draining/raw"); err != nil {
		t.Fatal(err)
	}
	h.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	status := ""
	for {
		f, err := h.r.ReadFrame()
		if err != nil {
			t.Fatalf("HTTP/2 while draining: no GOAWAY after the response (status %q): %v", status, err)
		}
		if hf, ok := f.(*http2.MetaHeadersFrame); ok && hf.StreamID == 1 {
			status = hf.PseudoValue("status")
		}
		if ga, ok := f.(*http2.GoAwayFrame); ok {
			if status != "200" || ga.ErrCode != http2.ErrCodeNo || ga.LastStreamID != 1 {
				t.Errorf("HTTP/2 while draining: GOAWAY %v last stream %d after status %q, want NO_ERROR, 1, after 200",
					ga.ErrCode, ga.LastStreamID, status)
			}
			break
		}
	}
	// The gateway's own answers too.
	resp, _ = get(t, c1, listenURL(cfg, 0, "/no-route"))
	if resp.StatusCode != http.StatusNotFound || !resp.Close {
		t.Errorf("local reply while draining: %d close=%v, want 404 with Connection: close", resp.StatusCode, resp.Close)
	}
}

// TestShutdownWaitsForInFlight: Shutdown returns only after a slow
// request in flight has finished, and that request succeeds; new
// connections are refused once it has begun.
func TestShutdownWaitsForInFlight(t *testing.T) {
	slow := startSlow(t)
	cfg := oneBackend(t, ir.HTTP, slow.addr, nil)
	g := startGateway(t, cfg) // its cleanup's second Shutdown is harmless

	inflight := make(chan result, 1)
	go fetch(h1Client(t), listenURL(cfg, 0, "/slow"), inflight)
	slow.waitArrival(t)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- g.Shutdown(ctx) }()

	addr := fmt.Sprintf("127.0.0.1:%d", cfg.Listeners[0].Port)
	wait.For(t, 5*time.Second, "the listener to close", func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return true
		}
		c.Close()
		return false
	})
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned (%v) with a request in flight", err)
	case <-time.After(200 * time.Millisecond):
	}

	slow.open()
	var r result
	select {
	case r = <-inflight:
	case <-time.After(10 * time.Second):
		t.Fatal("the in-flight request did not finish")
	}
	if r.err != nil || r.status != http.StatusOK || r.body != "released /slow" {
		t.Fatalf("in-flight request: %d %q %v, want 200", r.status, r.body, r.err)
	}
	select {
	case err := <-shut:
		if err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown did not return after the request finished")
	}
	if err := g.Apply(cfg, "after-shutdown"); err == nil {
		t.Error("Apply after Shutdown succeeded")
	}
}
