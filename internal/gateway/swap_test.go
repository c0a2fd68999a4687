package gateway

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/meshgate/meshgate/internal/ir"
	"github.com/meshgate/meshgate/internal/testutil/wait"
)

// goroutinesIn counts goroutines whose stack mentions fn.
func goroutinesIn(fn string) int {
	buf := make([]byte, 4<<20)
	n := runtime.Stack(buf, true)
	return bytes.Count(buf[:n], []byte(fn))
}

// TestSwapKeepsConnectingClient: a client that has connected to a
// PERMISSIVE listener but not yet sent its first byte when the listener's
// server is replaced (here: its certificate files change paths) must
// still be served, like every other connection during a swap.
func TestSwapKeepsConnectingClient(t *testing.T) {
	f := newTLSFixture(t)
	be := startEcho(t, "backend")
	cfg := oneBackend(t, ir.HTTP, be.Addr, nil)
	cfg.Listeners[0].TLS = f.listenerTLS(ir.TLSPermissive)
	g := startGateway(t, cfg)

	before := goroutinesIn("gateway.sniff(")
	conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", cfg.Listeners[0].Port), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	wait.For(t, 5*time.Second, "the gateway to wait for the first byte", func() bool {
		return goroutinesIn("gateway.sniff(") > before
	})

	// The same certificate under other file names: a new server.
	next := cloneIR(t, cfg)
	certPath, keyPath := filepath.Join(f.dir, "copy.crt"), filepath.Join(f.dir, "copy.key")
	if err := f.leaf.WriteTo(certPath, keyPath); err != nil {
		t.Fatal(err)
	}
	next.Listeners[0].TLS.Certificate = ir.Certificate{CertificateChain: certPath, PrivateKey: keyPath}
	mustApply(t, g, next)

	resp, body := rawHTTP(t, conn, bufio.NewReader(conn), "GET /late HTTP/1.1\nHost: x\n\n")
	if resp.StatusCode != http.StatusOK || echoReply(t, body).Path != "/late" {
		t.Fatalf("got %d %s", resp.StatusCode, body)
	}
}
