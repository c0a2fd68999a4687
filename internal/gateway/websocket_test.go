package gateway

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/meshgate/meshgate/internal/ir"
)

// TestWebsocketSurvivesConfigChanges opens a websocket (an HTTP/1.1
// upgrade) through an http listener and applies 50 configuration changes
// while it is open: an unrelated gateway route (and its service) comes and
// goes every time, an unrelated cluster every third time, a connection
// pool every seventh, and every tenth the listener's protocol flips
// between http and http2, which replaces the listener's server. Each change
// is checked to have taken effect, and after each one the same upgraded
// connection must still echo.
func TestWebsocketSurvivesConfigChanges(t *testing.T) {
	be := startEcho(t, "backend")
	port := freePort(t)
	main := clusterTo(t, "backend", ir.HTTP, be.Addr)
	spare := clusterTo(t, "spare", ir.HTTP, "127.0.0.1:1")
	const extraSvc = "extra.local"

	config := func(i int) *ir.Gateway {
		proto := ir.HTTP
		if (i/10)%2 == 1 {
			proto = ir.HTTP2
		}
		var routes []ir.GatewayRoute
		services := []ir.Service{nodeService(testSvc, ir.HTTP, main.Name, nil)}
		if i%2 == 1 {
			routes = append(routes, gatewayRoute("extra", "/extra", extraSvc))
			services = append(services, ir.Service{Name: extraSvc, Port: testSvcPort}) // no provider: 503
		}
		routes = append(routes, gatewayRoute("all", "/", testSvc))
		l := listenerOn(port, proto, routes...)
		if i%7 == 3 {
			l.Limits = &ir.ConnectionLimits{MaxConnections: 100, MaxRequests: 100}
		}
		clusters := []ir.Cluster{main}
		if i%3 == 2 {
			clusters = append(clusters, spare)
		}
		return &ir.Gateway{Mesh: "m", Name: "gw", UID: "uid", Listeners: []ir.Listener{l},
			Services: services, Clusters: clusters}
	}

	g := startGateway(t, config(0))
	client := h1Client(t)

	conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	resp, _ := rawHTTP(t, conn, br, "GET /ws HTTP/1.1\n"+
		"Host: ws.example\n"+
		"Connection: Upgrade\n"+
		"Upgrade: websocket\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\n"+
		"Sec-WebSocket-Version: 13\n\n")
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("X-Echo-Node") != "backend" {
		t.Fatalf("upgrade answered %d %v", resp.StatusCode, resp.Header)
	}

	roundTrip := func(msg string) {
		t.Helper()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		defer conn.SetDeadline(time.Time{})
		if _, err := io.WriteString(conn, msg); err != nil {
			t.Fatalf("write %q: %v", msg, err)
		}
		buf := make([]byte, len(msg))
		if _, err := io.ReadFull(br, buf); err != nil {
			t.Fatalf("echo of %q: %v", msg, err)
		}
		if string(buf) != msg {
			t.Fatalf("echo %q, want %q", buf, msg)
		}
	}
	roundTrip("hello before any change")

	prev := g.Version()
	for i := 1; i <= 50; i++ {
		cfg := config(i)
		mustApply(t, g, cfg)
		if v := g.Version(); v == prev || v != cfg.Version() {
			t.Fatalf("change %d: version %q (previous %q, want %q)", i, v, prev, cfg.Version())
		}
		prev = g.Version()

		// The change is live: /extra goes to the provider-less service
		// (503) exactly when the extra route exists.
		resp, body := get(t, client, fmt.Sprintf("http://127.0.0.1:%d/extra", port))
		want := http.StatusOK
		if i%2 == 1 {
			want = http.StatusServiceUnavailable
		}
		if resp.StatusCode != want {
			t.Fatalf("change %d: /extra answered %d (%s), want %d", i, resp.StatusCode, body, want)
		}

		roundTrip(fmt.Sprintf("message %d after change %d", i, i))
	}
	if n := be.Requests.Load(); n < 26 {
		t.Errorf("backend saw %d requests, want at least 26 (the upgrade and the /extra checks)", n)
	}
}
