package gateway

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/meshgate/meshgate/internal/gateway/upstream"
	"github.com/meshgate/meshgate/internal/ir"
	"github.com/meshgate/meshgate/internal/testutil/rawh2"
)

// misbehaving is a backend that reads each request's head and then does
// what act does with the connection.
func misbehaving(t *testing.T, act func(c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if _, err := http.ReadRequest(bufio.NewReader(c)); err == nil {
					act(c)
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// TestUpstreamFailureReplies: an upstream attempt that fails before a
// response is answered as Envoy answers it, status, text and response
// flag: a refused connection 503 "connection failure" (UF); a connection
// closed without an answer 503 "connection termination" (UC); an answer
// that is not HTTP 502 "protocol error" (UPE), as Envoy since 1.18; an
// HTTP/2 stream the upstream reset 503 "remote reset" (UR).
func TestUpstreamFailureReplies(t *testing.T) {
	h2Reset := func(fr *http2.Framer, _ net.Conn, id uint32) { fr.WriteRSTStream(id, http2.ErrCodeInternal) }
	h2BadField := func(fr *http2.Framer, _ net.Conn, id uint32) {
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: rawh2.Fields(":status", "200", "Bad Name", "x"),
			EndHeaders: true, EndStream: true})
	}
	for _, tc := range []struct {
		name    string
		proto   ir.Protocol // the cluster's; HTTP when empty
		backend func(t *testing.T) string
		status  int
		body    string
		flag    string
	}{
		{"refused", "", func(t *testing.T) string { return fmt.Sprintf("127.0.0.1:%d", freePort(t)) },
			http.StatusServiceUnavailable, upstream.BodyConnectionFailure, "UF"},
		{"closed", "", func(t *testing.T) string { return misbehaving(t, func(net.Conn) {}) },
			http.StatusServiceUnavailable, upstream.BodyConnectionTermination, "UC"},
		{"not HTTP", "", func(t *testing.T) string {
			return misbehaving(t, func(c net.Conn) { io.WriteString(c, "SSH-2.0-OpenSSH_9.2\r\n\r\n") })
		}, http.StatusBadGateway, upstream.BodyProtocolError, "UPE"},
		{"malformed field", "", func(t *testing.T) string {
			return misbehaving(t, func(c net.Conn) { io.WriteString(c, "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n") })
		}, http.StatusBadGateway, upstream.BodyProtocolError, "UPE"},
		{"HTTP/2 stream reset", ir.HTTP2, func(t *testing.T) string { return rawh2.Start(t, "127.0.0.1:0", h2Reset) },
			http.StatusServiceUnavailable, upstream.BodyRemoteReset, "UR"},
		{"HTTP/2 invalid field", ir.HTTP2, func(t *testing.T) string { return rawh2.Start(t, "127.0.0.1:0", h2BadField) },
			http.StatusBadGateway, upstream.BodyProtocolError, "UPE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "access.log")
			cfg := oneBackend(t, cmp.Or(tc.proto, ir.HTTP), tc.backend(t), func(r *ir.Route) { r.Retry = nil })
			cfg.AccessLog = &ir.AccessLog{Path: path, Text: "%RESPONSE_CODE% %RESPONSE_FLAGS%\n"}
			startGateway(t, cfg)
			resp, body := get(t, h1Client(t), listenURL(cfg, 0, "/x"))
			if resp.StatusCode != tc.status || body != tc.body {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, body, tc.status, tc.body)
			}
			if line := logLines(t, path, 1)[0]; line != fmt.Sprintf("%d %s", tc.status, tc.flag) {
				t.Errorf("access log %q, want %d %s", line, tc.status, tc.flag)
			}
		})
	}
}

// TestResponseCut: a response that ends before its end is logged with
// Envoy's flag for why, and an upstream's failure counts in the
// cluster's errors: the upstream closing the connection (UC) or
// resetting an HTTP/2 stream (UR) in the middle of the body, the route
// timeout running out during it (UT), the client going away (DC).
func TestResponseCut(t *testing.T) {
	const partial = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789"
	// stall sends a head and part of the body, then waits for the
	// gateway to close the connection.
	stall := func(c net.Conn) { io.WriteString(c, partial); io.Copy(io.Discard, c) }
	h2Reset := func(fr *http2.Framer, _ net.Conn, id uint32) {
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: rawh2.Fields(":status", "200", "content-length", "100"),
			EndHeaders: true})
		fr.WriteData(id, false, []byte("0123456789"))
		fr.WriteRSTStream(id, http2.ErrCodeInternal)
	}
	for _, tc := range []struct {
		name    string
		proto   ir.Protocol
		backend func(t *testing.T) string
		timeout time.Duration // the route's; none when 0
		leave   bool          // the client goes once the head arrived
		flag    string
		reason  string // the cluster's error reason; none when empty
	}{
		{"upstream closed", ir.HTTP, func(t *testing.T) string {
			return misbehaving(t, func(c net.Conn) { io.WriteString(c, partial) })
		}, 0, false, "UC", "reset"},
		{"HTTP/2 stream reset", ir.HTTP2, func(t *testing.T) string { return rawh2.Start(t, "127.0.0.1:0", h2Reset) },
			0, false, "UR", "reset"},
		{"route timeout", ir.HTTP, func(t *testing.T) string { return misbehaving(t, stall) },
			300 * time.Millisecond, false, "UT", "timeout"},
		{"client gone", ir.HTTP, func(t *testing.T) string { return misbehaving(t, stall) }, 0, true, "DC", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "access.log")
			cfg := oneBackend(t, tc.proto, tc.backend(t), func(r *ir.Route) {
				r.Retry = nil
				r.Timeout = ir.Duration(tc.timeout)
			})
			cfg.AccessLog = &ir.AccessLog{Path: path, Text: "%RESPONSE_CODE% %RESPONSE_FLAGS%\n"}
			m, scrape := testMetrics(t)
			g, addr := startGatewayOpts(t, Options{Metrics: m}, cfg)
			resp, err := h1Client(t).Get("http://" + addr + "/x")
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if tc.leave {
				resp.Body.Close() // before the body's end: the client closes the connection
			} else {
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err == nil {
					t.Fatalf("the whole body (%q) with no error", b)
				}
			}
			if line := logLines(t, path, 1)[0]; line != "200 "+tc.flag {
				t.Errorf("access log %q, want 200 %s", line, tc.flag)
			}
			admin := g.AdminHandler(nil, scrape)
			errs := `cluster_upstream_errors_total{cluster="` + cfg.Clusters[0].Name + `",reason="`
			if tc.reason == "" {
				checkSeries(t, admin, map[string]string{errs + `reset"}`: "0", errs + `timeout"}`: "0"})
			} else {
				checkSeries(t, admin, map[string]string{errs + tc.reason + `"}`: "1"})
			}
		})
	}
}
