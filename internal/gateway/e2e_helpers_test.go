package gateway

// Shared helpers of the end-to-end tests (protocols, websocket, TLS,
// limits, retries, edge headers, access log, admin, NACK): they build IR
// gateways directly in Go, start gateways and backends on 127.0.0.1 and
// talk to them with real clients.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshgate/meshgate/internal/ir"
	"github.com/meshgate/meshgate/internal/testutil/echo"
)

// testLogger discards the gateway's logs unless GATEWAY_TEST_LOG is set
// (then they go to stderr), so background goroutines never log through a
// finished test's t.Log.
func testLogger() *slog.Logger {
	if os.Getenv("GATEWAY_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// freePort returns a port that was free on 127.0.0.1 a moment ago.
func freePort(t testing.TB) uint32 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return uint32(ln.Addr().(*net.TCPAddr).Port)
}

// newTestGateway is a gateway on 127.0.0.1 with nothing applied; it is
// shut down when the test ends.
func newTestGateway(t testing.TB) *Gateway {
	t.Helper()
	g := New(Options{ListenHost: "127.0.0.1", Logger: testLogger()})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		g.Shutdown(ctx)
	})
	return g
}

// startGateway is a gateway serving cfg.
func startGateway(t testing.TB, cfg *ir.Gateway) *Gateway {
	t.Helper()
	g := newTestGateway(t)
	mustApply(t, g, cfg)
	return g
}

func mustApply(t testing.TB, g *Gateway, cfg *ir.Gateway) {
	t.Helper()
	if err := g.Apply(cfg, cfg.Version()); err != nil {
		t.Fatalf("Apply: %v", err)
	}
}

const (
	testSvc     = "backend.local" // the virtual service every test routes to
	testSvcPort = 9080
)

// defaultRetry is the policy translate gives a node provider's implicit
// route (App Mesh's default retry policy).
func defaultRetry() *ir.RetryPolicy {
	return &ir.RetryPolicy{MaxRetries: 2, HTTPEvents: []string{"stream-error"},
		TCPEvents: []string{"connection-error"}, StatusCodes: []uint32{503}}
}

// clusterTo is a cluster for node whose one endpoint is addr (an IP
// literal and port, as the test backends listen on).
func clusterTo(t testing.TB, node string, proto ir.Protocol, addr string) ir.Cluster {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	return ir.Cluster{
		Name: fmt.Sprintf("cds_egress_m_%s_%s_%d", node, proto, testSvcPort), Node: node,
		Port: testSvcPort, Protocol: proto,
		Discovery: ir.Discovery{Hostname: host, Port: uint32(p)},
	}
}

// nodeService is the router stage of a virtual service provided by a
// node: one implicit route to cluster, with App Mesh's default retry
// policy and timeouts (which mod may change).
func nodeService(name string, proto ir.Protocol, cluster string, mod func(*ir.Route)) ir.Service {
	r := ir.Route{Targets: []ir.WeightedTarget{{Cluster: cluster, Weight: 1}}, Retry: defaultRetry(),
		Timeout: ir.Duration(15 * time.Second), IdleTimeout: ir.Duration(5 * time.Minute)}
	if mod != nil {
		mod(&r)
	}
	return ir.Service{Name: name, Port: testSvcPort, Provider: "virtualNode/" + name, Protocol: proto,
		Routes: []ir.Route{r}}
}

// gatewayRoute sends a prefix to a virtual service, rewriting the Host to
// the service's name as translate does.
func gatewayRoute(name, prefix, service string) ir.GatewayRoute {
	return ir.GatewayRoute{Name: name, Match: ir.Match{Prefix: prefix},
		Action: ir.GatewayRouteAction{Service: service, Port: testSvcPort, HostRewrite: service}}
}

func listenerOn(port uint32, proto ir.Protocol, routes ...ir.GatewayRoute) ir.Listener {
	return ir.Listener{Port: port, Protocol: proto, VirtualHosts: []ir.VirtualHost{{
		Name: fmt.Sprintf("ingress_%d_*", port), Domains: []string{"*"}, Routes: routes}}}
}

// oneBackend is a gateway with one listener of proto on a free port whose
// only route ("/") goes to testSvc, a node provider whose cluster (of the
// same protocol) is the backend at addr.
func oneBackend(t testing.TB, proto ir.Protocol, addr string, mod func(*ir.Route)) *ir.Gateway {
	t.Helper()
	c := clusterTo(t, "backend", proto, addr)
	return &ir.Gateway{
		Mesh: "m", Name: "gw", UID: "uid",
		Listeners: []ir.Listener{listenerOn(freePort(t), proto, gatewayRoute("all", "/", testSvc))},
		Services:  []ir.Service{nodeService(testSvc, proto, c.Name, mod)},
		Clusters:  []ir.Cluster{c},
	}
}

func listenURL(cfg *ir.Gateway, i int, path string) string {
	return fmt.Sprintf("http://127.0.0.1:%d%s", cfg.Listeners[i].Port, path)
}

// startEcho starts an echo backend on a free 127.0.0.1 port.
func startEcho(t testing.TB, node string) *echo.Server {
	t.Helper()
	return echo.Start(t, node, "127.0.0.1:0", nil)
}

// h1Client and h2cClient are per-test clients (no shared pools between
// tests); their idle connections close at the end of the test.
func h1Client(t testing.TB) *http.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

func h2cClient(t testing.TB) *http.Client {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: &p}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// get does a GET and returns the status and body.
func get(t testing.TB, c *http.Client, url string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", url, err)
	}
	return resp, string(b)
}

// echoReply decodes an echo backend's HTTP reply.
func echoReply(t testing.TB, body string) echo.Reply {
	t.Helper()
	var rep echo.Reply
	if err := json.Unmarshal([]byte(body), &rep); err != nil {
		t.Fatalf("not an echo reply: %q", body)
	}
	return rep
}

// serveBackend serves h on a free 127.0.0.1 port with HTTP/1.1 and h2c
// until the test ends, and returns its address.
func serveBackend(t testing.TB, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	srv := &http.Server{Handler: h, Protocols: &p, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// slowBackend holds every request until released (or the test ends), and
// reports each arrival.
type slowBackend struct {
	addr     string
	arrived  chan string // request paths, as they arrive
	release  chan struct{}
	released sync.Once
	hits     atomic.Int64
}

func startSlow(t testing.TB) *slowBackend {
	t.Helper()
	b := &slowBackend{arrived: make(chan string, 64), release: make(chan struct{})}
	done := make(chan struct{})
	b.addr = serveBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		b.arrived <- r.URL.Path
		select {
		case <-b.release:
			w.Write([]byte("released " + r.URL.Path))
		case <-r.Context().Done():
		case <-done:
		}
	}))
	// Runs before the server's cleanup (cleanups run last in, first out).
	t.Cleanup(func() { close(done) })
	return b
}

func (b *slowBackend) open() { b.released.Do(func() { close(b.release) }) }

// waitArrival waits for the next request to reach the backend.
func (b *slowBackend) waitArrival(t testing.TB) string {
	t.Helper()
	select {
	case p := <-b.arrived:
		return p
	case <-time.After(5 * time.Second):
		t.Fatal("no request reached the slow backend")
		return ""
	}
}

// rawHTTP sends a raw HTTP/1.1 request on conn and reads the response.
func rawHTTP(t testing.TB, conn net.Conn, br *bufio.Reader, req string) (*http.Response, string) {
	t.Helper()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	defer conn.SetDeadline(time.Time{})
	if _, err := io.WriteString(conn, strings.ReplaceAll(req, "\n", "\r\n")); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		return resp, ""
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}
