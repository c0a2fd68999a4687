package gateway

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/meshgate/meshgate/internal/ir"
	"github.com/meshgate/meshgate/internal/testutil/certs"
	"github.com/meshgate/meshgate/internal/testutil/echo"
)

// TestEdgeHeaders sends raw HTTP/1.1 requests, from the client address
// 127.0.0.7, to a PERMISSIVE listener (plaintext and TLS on one port) and
// checks what reaches the upstream: no hop-by-hop headers (Connection,
// Keep-Alive, Proxy-Connection, TE other than trailers, Upgrade without an
// upgrade, headers named in Connection); X-Forwarded-For is what the
// client sent with its address appended; X-Forwarded-Proto is the
// connection's scheme whatever the client claimed; x-request-id is a fresh
// UUID per request.
func TestEdgeHeaders(t *testing.T) {
	f := newTLSFixture(t)
	be := startEcho(t, "backend")
	cfg := oneBackend(t, ir.HTTP, be.Addr, nil)
	cfg.Listeners[0].TLS = f.listenerTLS(ir.TLSPermissive)
	startGateway(t, cfg)
	addr := fmt.Sprintf("127.0.0.1:%d", cfg.Listeners[0].Port)
	const clientIP = "127.0.0.7"

	dial := func(t *testing.T, useTLS bool) (net.Conn, *bufio.Reader) {
		d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(clientIP)}}
		var c net.Conn
		var err error
		if useTLS {
			c, err = tls.DialWithDialer(d, "tcp", addr, certs.ClientConfig(f.ca, gwName, nil))
		} else {
			c, err = d.Dial("tcp", addr)
		}
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c, bufio.NewReader(c)
	}
	upstream := func(t *testing.T, c net.Conn, br *bufio.Reader, req string) echo.Reply {
		t.Helper()
		resp, body := rawHTTP(t, c, br, req)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		return echoReply(t, body)
	}
	requestIDs := map[string]bool{}
	checkRequestID := func(t *testing.T, rep echo.Reply) {
		t.Helper()
		id := rep.Header.Get("X-Request-Id")
		if _, err := uuid.Parse(id); err != nil {
			t.Errorf("x-request-id %q is not a UUID", id)
		}
		if requestIDs[id] {
			t.Errorf("x-request-id %q reused", id)
		}
		requestIDs[id] = true
	}

	for _, useTLS := range []bool{false, true} {
		proto, spoofed := "http", "https"
		if useTLS {
			proto, spoofed = "https", "http"
		}
		t.Run(proto, func(t *testing.T) {
			c, br := dial(t, useTLS)
			rep := upstream(t, c, br, "GET /edge?x=1 HTTP/1.1\n"+
				"Host: edge.example\n"+
				"Connection: keep-alive, X-Hop-Custom\n"+
				"Keep-Alive: timeout=5\n"+
				"Proxy-Connection: keep-alive\n"+
				"TE: gzip\n"+
				"Upgrade: websocket\n"+
				"X-Hop-Custom: secret\n"+
				"X-Forwarded-For: 10.1.2.3\n"+
				"X-Forwarded-Proto: "+spoofed+"\n"+
				"X-Request-Id: from-the-client\n"+
				"X-Keep: end-to-end\n\n")
			for _, h := range []string{"Connection", "Keep-Alive", "Proxy-Connection", "Te", "Upgrade", "X-Hop-Custom"} {
				if v, ok := rep.Header[h]; ok {
					t.Errorf("hop-by-hop header %s reached the upstream: %q", h, v)
				}
			}
			if rep.Header.Get("X-Keep") != "end-to-end" || rep.Path != "/edge?x=1" || rep.Host != testSvc {
				t.Errorf("end-to-end request changed: x-keep %q path %q host %q", rep.Header.Get("X-Keep"), rep.Path, rep.Host)
			}
			if got, want := rep.Header.Values("X-Forwarded-For"), "10.1.2.3, "+clientIP; len(got) != 1 || got[0] != want {
				t.Errorf("x-forwarded-for %q, want %q", got, want)
			}
			if got := rep.Header.Values("X-Forwarded-Proto"); len(got) != 1 || got[0] != proto {
				t.Errorf("x-forwarded-proto %q, want %q", got, proto)
			}
			if rep.Header.Get("X-Forwarded-Host") != "" {
				t.Errorf("x-forwarded-host %q was added", rep.Header.Get("X-Forwarded-Host"))
			}
			checkRequestID(t, rep)

			// The same connection again: TE: trailers passes, several
			// X-Forwarded-For lines are joined before the client address,
			// and the request without X-Forwarded-For gets the address alone.
			rep = upstream(t, c, br, "GET /edge2 HTTP/1.1\n"+
				"Host: edge.example\n"+
				"TE: trailers\n"+
				"X-Forwarded-For: 10.0.0.1\n"+
				"X-Forwarded-For: 10.0.0.2\n\n")
			if got := rep.Header.Get("Te"); got != "trailers" {
				t.Errorf("te %q, want trailers", got)
			}
			if got, want := rep.Header.Get("X-Forwarded-For"), "10.0.0.1, 10.0.0.2, "+clientIP; got != want {
				t.Errorf("x-forwarded-for %q, want %q", got, want)
			}
			checkRequestID(t, rep)
			rep = upstream(t, c, br, "GET /edge3 HTTP/1.1\nHost: edge.example\n\n")
			if got := rep.Header.Get("X-Forwarded-For"); got != clientIP {
				t.Errorf("x-forwarded-for %q, want %q", got, clientIP)
			}
			if got := rep.Header.Get("X-Forwarded-Proto"); got != proto {
				t.Errorf("x-forwarded-proto %q, want %q", got, proto)
			}
			checkRequestID(t, rep)
		})
	}
}
