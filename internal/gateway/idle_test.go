package gateway

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/meshgate/meshgate/internal/ir"
)

// TestRouteIdleTimeout: a route's idle timeout (App Mesh's timeout.idle,
// Envoy's route idle_timeout) ends a request whose stream has had no event
// for that long: with 408 "stream timeout" (SI) when no response head came
// (whether or not the route has a longer request timeout), by cutting the
// response when one began. Events keep it alive; an idle timeout no
// shorter than the route timeout leaves the route timeout to end it.
func TestRouteIdleTimeout(t *testing.T) {
	const idle = 400 * time.Millisecond // four times the trickle's gaps
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	hang := func(r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}
	addr := serveBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/hang":
			hang(r)
		case "/trickle": // an event every 100 ms for 800 ms
			for i := range 8 {
				fmt.Fprintf(w, "%d", i)
				w.(http.Flusher).Flush()
				time.Sleep(100 * time.Millisecond)
			}
		case "/stall": // a head and a first part, then nothing
			io.WriteString(w, "part")
			w.(http.Flusher).Flush()
			hang(r)
		}
	}))
	for _, tc := range []struct {
		name            string
		timeout, idle   time.Duration
		path            string
		status          int
		body, flag      string
		cut             bool // the response began and was cut short
		atLeast, atMost time.Duration
	}{
		{"no head, no route timeout", 0, idle, "/hang", 408, bodyStreamTimeout, "SI", false, idle, 5 * time.Second},
		{"no head, a longer route timeout", 10 * time.Second, idle, "/hang", 408, bodyStreamTimeout, "SI", false, idle, 5 * time.Second},
		{"events keep it", 0, idle, "/trickle", 200, "01234567", "-", false, 700 * time.Millisecond, 5 * time.Second},
		{"cut after the head", 0, idle, "/stall", 200, "part", "SI", true, idle, 5 * time.Second},
		{"route timeout first", 300 * time.Millisecond, time.Second, "/hang", 504, bodyTimeout, "UT", false, 300 * time.Millisecond, 5 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "access.log")
			cfg := oneBackend(t, ir.HTTP, addr, func(r *ir.Route) {
				r.Timeout, r.IdleTimeout, r.Retry = ir.Duration(tc.timeout), ir.Duration(tc.idle), nil
			})
			cfg.AccessLog = &ir.AccessLog{Path: path, Text: "%RESPONSE_CODE% %RESPONSE_FLAGS%\n"}
			startGateway(t, cfg)
			start := time.Now()
			resp, err := h1Client(t).Get(listenURL(cfg, 0, tc.path))
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			took := time.Since(start)
			if resp.StatusCode != tc.status || string(body) != tc.body || (err != nil) != tc.cut {
				t.Errorf("got %d %q (read error %v), want %d %q, cut short: %v", resp.StatusCode, body, err, tc.status, tc.body, tc.cut)
			}
			if took < tc.atLeast || took > tc.atMost {
				t.Errorf("took %v, want between %v and %v", took, tc.atLeast, tc.atMost)
			}
			if tc.flag != "" {
				if line := logLines(t, path, 1)[0]; line != fmt.Sprintf("%d %s", tc.status, tc.flag) {
					t.Errorf("access log %q, want %d %s", line, tc.status, tc.flag)
				}
			}
		})
	}
}

// TestWebsocketIdleTimeout: an upgraded connection lives while bytes go
// either way, and closes once none has for the route's idle timeout, as
// Envoy's idle timeout closes an idle websocket (App Mesh's 300 s default).
func TestWebsocketIdleTimeout(t *testing.T) {
	const idle = 500 * time.Millisecond // five times the messages' gaps
	be := startEcho(t, "backend")
	cfg := oneBackend(t, ir.HTTP, be.Addr, func(r *ir.Route) { r.IdleTimeout = ir.Duration(idle) })
	startGateway(t, cfg)
	conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", cfg.Listeners[0].Port), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	resp, _ := rawHTTP(t, conn, br, "GET /ws HTTP/1.1\nHost: ws.example\nConnection: Upgrade\nUpgrade: websocket\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\nSec-WebSocket-Version: 13\n\n")
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade answered %d", resp.StatusCode)
	}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	for i := range 8 { // 800 ms of messages every 100 ms: past the idle timeout, never idle
		if i > 0 {
			time.Sleep(100 * time.Millisecond)
		}
		msg := fmt.Sprintf("message %d", i)
		if _, err := io.WriteString(conn, msg); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		buf := make([]byte, len(msg))
		if _, err := io.ReadFull(br, buf); err != nil || string(buf) != msg {
			t.Fatalf("echo %d: %q, %v", i, buf, err)
		}
	}
	start := time.Now() // the last event
	if n, err := br.Read(make([]byte, 1)); err == nil {
		t.Fatalf("read %d bytes from an idle connection, want it closed", n)
	}
	if took := time.Since(start); took < idle-100*time.Millisecond || took > 5*time.Second {
		t.Errorf("closed after %v idle, want about %v", took, idle)
	}
}
