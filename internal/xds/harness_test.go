package xds

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/meshgate/meshgate/internal/api"
	"github.com/meshgate/meshgate/internal/ir"
	"github.com/meshgate/meshgate/internal/service"
	"github.com/meshgate/meshgate/internal/store"
	"github.com/meshgate/meshgate/internal/store/sqlite"
	"github.com/meshgate/meshgate/internal/translate/envoy"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The identity of every test server.
const (
	testRegion  = "us-west-2"
	testAccount = "111122223333"
	arnPrefix   = "arn:aws:appmesh:" + testRegion + ":" + testAccount + ":"
)

// harness is a real App Mesh API over SQLite and an xDS server on
// loopback TCP and a unix socket, sharing the store.
type harness struct {
	t     *testing.T
	st    store.Store
	api   string // http://127.0.0.1:PORT
	srv   *Server
	stub  *stubEnvoy
	tcp   string // host:port of the xDS TCP listener
	sock  string // path of the xDS unix socket
	plain bool   // the TCP listener is plaintext
}

// newHarness starts everything; edit may change the xDS config (TLS,
// grace, limits) before the server is built.
func newHarness(t *testing.T, edit ...func(*Config)) *harness {
	t.Helper()
	h := &harness{t: t, stub: &stubEnvoy{}}
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "meshgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	h.st = st
	t.Cleanup(func() { st.Close() })

	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc, err := service.New(st, service.Config{Region: testRegion, AccountID: testAccount, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	handler, err := api.New(svc, quiet)
	if err != nil {
		t.Fatal(err)
	}
	apiLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	apiSrv := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second}
	go apiSrv.Serve(apiLn)
	t.Cleanup(func() { apiSrv.Close() })
	h.api = "http://" + apiLn.Addr().String()

	cfg := Config{Store: st, Region: testRegion, AccountID: testAccount, Envoy: h.stub.translate,
		Logger: testLogger(t)}
	for _, e := range edit {
		e(&cfg)
	}
	h.plain = cfg.TLSCertFile == ""
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.srv = srv
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.tcp = tcp.Addr().String()
	// Socket paths are limited to about 100 bytes; t.TempDir() can be longer.
	dir, err := os.MkdirTemp("", "mgxds")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	h.sock = filepath.Join(dir, "xds.sock")
	unix, err := ListenUnix(h.sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, tcp, unix) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("xds Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("xds Run did not return")
		}
	})
	select {
	case <-srv.Ready():
	case <-time.After(5 * time.Second):
		t.Fatal("xds server not ready")
	}
	return h
}

// testLogger writes the server's log to the test log (shown on failure).
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// call makes one App Mesh API request and fails the test unless it succeeds.
func (h *harness) call(method, path, body string) {
	h.t.Helper()
	if err := h.try(method, path, body); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) try(method, path, body string) error {
	req, err := http.NewRequest(method, h.api+path, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, msg)
	}
	return nil
}

// The App Mesh API calls the tests use.

func (h *harness) mesh(m string) {
	h.call("PUT", "/v20190125/meshes", fmt.Sprintf(`{"meshName":%q}`, m))
}

// node creates a virtual node listening on http:9080 at host.
func (h *harness) node(m, name, host string) {
	h.call("PUT", "/v20190125/meshes/"+m+"/virtualNodes", fmt.Sprintf(
		`{"virtualNodeName":%q,"spec":{"listeners":[{"portMapping":{"port":9080,"protocol":"http"}}],"serviceDiscovery":{"dns":{"hostname":%q}}}}`,
		name, host))
}

// service creates a virtual service provided by a node.
func (h *harness) service(m, name, node string) {
	h.call("PUT", "/v20190125/meshes/"+m+"/virtualServices", fmt.Sprintf(
		`{"virtualServiceName":%q,"spec":{"provider":{"virtualNode":{"virtualNodeName":%q}}}}`, name, node))
}

func (h *harness) gateway(m, name string, port int) {
	h.call("PUT", "/v20190125/meshes/"+m+"/virtualGateways", gatewayBody(name, port))
}

func gatewayBody(name string, port int) string {
	return fmt.Sprintf(`{"virtualGatewayName":%q,"spec":{"listeners":[{"portMapping":{"port":%d,"protocol":"http"}}]}}`, name, port)
}

func routeSpec(prefix, svc string) string {
	return fmt.Sprintf(`{"httpRoute":{"match":{"prefix":%q},"action":{"target":{"virtualService":{"virtualServiceName":%q}}}}}`, prefix, svc)
}

func (h *harness) gatewayRoute(m, gw, name, prefix, svc string) {
	h.call("PUT", "/v20190125/meshes/"+m+"/virtualGateway/"+gw+"/gatewayRoutes",
		fmt.Sprintf(`{"gatewayRouteName":%q,"spec":%s}`, name, routeSpec(prefix, svc)))
}

func (h *harness) updateGatewayRoute(m, gw, name, prefix, svc string) {
	h.call("PUT", "/v20190125/meshes/"+m+"/virtualGateway/"+gw+"/gatewayRoutes/"+name,
		fmt.Sprintf(`{"spec":%s}`, routeSpec(prefix, svc)))
}

// basic creates mesh m with a node, a service and gateway gw on port
// with one route /color to the service.
func (h *harness) basic(m, gw string, port int) {
	h.mesh(m)
	h.node(m, "blue", "blue.local")
	h.service(m, "color.local", "blue")
	h.gateway(m, gw, port)
	h.gatewayRoute(m, gw, "color", "/color", "color.local")
}

// revision is the store's revision now.
func (h *harness) revision() int64 {
	h.t.Helper()
	rev, err := h.st.Revision(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	return rev
}

// waitSynced waits until the sync loop has processed revision rev.
func (h *harness) waitSynced(rev int64) {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for h.srv.syncedRevision() < rev {
		if time.Now().After(deadline) {
			h.t.Fatalf("the sync loop did not reach revision %d", rev)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitGateway waits until the sync loop knows a gateway.
func (h *harness) waitGateway(name string) *gatewayView {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if gv, ok := h.srv.sync.gateway(name); ok && gv.ir != nil {
			return gv
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("gateway %s never synced", name)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var errTimeout = errors.New("timed out")

// withRealEnvoy runs the server on translate/envoy instead of the stub.
func withRealEnvoy(c *Config) {
	c.Envoy = func(g *ir.Gateway) (*EnvoyResources, error) {
		r, err := envoy.Translate(g, envoy.Options{})
		if err != nil {
			return nil, err
		}
		return &EnvoyResources{Listeners: r.Listeners, Routes: r.Routes, Clusters: r.Clusters, Endpoints: r.Endpoints, Secrets: r.Secrets}, nil
	}
}
