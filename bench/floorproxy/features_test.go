package main

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"
)

// TestFeatures: with -features the floor does the gateway's job on the
// harness's request: the route's rewrites, the fields the edge drops and
// the ones it adds, and 404 where no route matches. A measuring stick
// that skipped part of the work would measure less than it says.
func TestFeatures(t *testing.T) {
	seen := make(chan *http.Request, 4)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r
		w.Header().Set("Connection", "keep-alive")
		io.WriteString(w, "ok")
	}))
	t.Cleanup(up.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	w, err := newWork(uint32(ln.Addr().(*net.TCPAddr).Port), up.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serveFeatures(c, w)
		}
	}()
	client := &http.Client{Timeout: 5 * time.Second}
	get := func(path string, header http.Header) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, "http://"+ln.Addr().String()+path, nil)
		req.Header = header
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}

	resp := get("/color/a/b?q=1", http.Header{"X-Forwarded-For": {"192.0.2.1"}, "X-Envoy-Debug": {"1"},
		"X-Request-Id": {"client"}, "Foo": {"bar"}})
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Connection") != "" {
		t.Fatalf("status %d, Connection %q: want 200 without the upstream's hop-by-hop field", resp.StatusCode, resp.Header.Get("Connection"))
	}
	r := <-seen
	h := r.Header
	for _, c := range []struct{ what, got, want string }{
		{"target", r.RequestURI, "/a/b?q=1"},
		{"Host", r.Host, "color.local"},
		{"Foo", h.Get("Foo"), "bar"},
		{"X-Forwarded-For", h.Get("X-Forwarded-For"), "192.0.2.1, 127.0.0.1"},
		{"X-Forwarded-Proto", h.Get("X-Forwarded-Proto"), "http"},
		{"X-Envoy-Original-Path", h.Get("X-Envoy-Original-Path"), "/color/a/b?q=1"},
		{"X-Envoy-Debug", h.Get("X-Envoy-Debug"), ""},
	} {
		if c.got != c.want {
			t.Errorf("upstream saw %s %q, want %q", c.what, c.got, c.want)
		}
	}
	if ids := h.Values("X-Request-Id"); len(ids) != 1 || uuid.Validate(ids[0]) != nil {
		t.Errorf("x-request-id %q, want one fresh UUID", ids)
	}
	if resp := get("/elsewhere", http.Header{}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unrouted path: status %d, want 404", resp.StatusCode)
	}
	if len(seen) != 0 {
		t.Error("the unrouted request reached the upstream")
	}
	w.pool.mu.Lock()
	idle := len(w.pool.idle)
	w.pool.mu.Unlock()
	if idle != 1 {
		t.Errorf("%d idle upstream connections after the exchange, want 1 kept for reuse", idle)
	}
}
