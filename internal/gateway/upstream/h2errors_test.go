package upstream

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"testing"

	"golang.org/x/net/http2"

	"github.com/meshgate/meshgate/internal/ir"
	"github.com/meshgate/meshgate/internal/testutil/rawh2"
)

// TestH2Errors: a failed attempt on an HTTP/2 cluster is classified from
// what net/http's HTTP/2 client returns (h2Error), or found malformed
// after it (a connection-specific field), so each case runs
// against a real upstream misbehaving frame by frame. A Go release that
// changes those errors' texts fails here.
func TestH2Errors(t *testing.T) {
	headers := func(pairs ...string) rawh2.Act {
		return func(fr *http2.Framer, _ net.Conn, id uint32) {
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: rawh2.Fields(pairs...), EndHeaders: true, EndStream: true})
		}
	}
	reset := func(code http2.ErrCode) rawh2.Act {
		return func(fr *http2.Framer, _ net.Conn, id uint32) { fr.WriteRSTStream(id, code) }
	}
	for _, tc := range []struct {
		name   string
		act    rawh2.Act
		status int // LocalReply's
		body   string
	}{
		{"reset internal error", reset(http2.ErrCodeInternal), http.StatusServiceUnavailable, BodyRemoteReset},
		{"reset cancel", reset(http2.ErrCodeCancel), http.StatusServiceUnavailable, BodyRemoteReset},
		{"invalid field name", headers(":status", "200", "Bad Name", "x"), http.StatusBadGateway, BodyProtocolError},
		{"no :status", headers("x", "y"), http.StatusBadGateway, BodyProtocolError},
		{"a connection-specific field", headers(":status", "200", "connection", "close"), http.StatusBadGateway, BodyProtocolError},
		{"transfer-encoding", headers(":status", "200", "transfer-encoding", "chunked"), http.StatusBadGateway, BodyProtocolError},
		{"DATA on an idle stream", func(fr *http2.Framer, _ net.Conn, id uint32) { fr.WriteData(id+2, true, []byte("x")) },
			http.StatusBadGateway, BodyProtocolError},
		{"an HTTP/1.1 answer", func(_ *http2.Framer, c net.Conn, _ uint32) { io.WriteString(c, "HTTP/1.1 200 OK\r\n\r\n") },
			http.StatusBadGateway, BodyProtocolError},
		{"closed", func(_ *http2.Framer, c net.Conn, _ uint32) { c.Close() },
			http.StatusServiceUnavailable, BodyConnectionTermination},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := netip.MustParseAddrPort(rawh2.Start(t, "127.0.0.2:0", tc.act))
			m, _ := newTestManager(t, newFakeResolver(), nil)
			cfg := httpCluster("c", "127.0.0.2", addr.Port())
			cfg.Protocol = ir.HTTP2
			m.Update([]ir.Cluster{cfg})
			_, _, err := get(t, mustCluster(t, m, "c"), "/")
			if err == nil {
				t.Fatal("no error")
			}
			status, body, ok := LocalReply(err)
			if !ok || status != tc.status || body != tc.body {
				t.Fatalf("%v: LocalReply %d %q %v, want %d %q", err, status, body, ok, tc.status, tc.body)
			}
			if errors.Is(err, ErrConnectionFailure) {
				t.Fatalf("%v: a connection failure", err)
			}
		})
	}
}
