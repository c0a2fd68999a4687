package xds_test

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meshgate/meshgate/internal/api"
	"github.com/meshgate/meshgate/internal/gateway/configclient"
	"github.com/meshgate/meshgate/internal/ir"
	"github.com/meshgate/meshgate/internal/service"
	"github.com/meshgate/meshgate/internal/store/sqlite"
	"github.com/meshgate/meshgate/internal/testutil/certs"
	"github.com/meshgate/meshgate/internal/xds"
)

// The meshgate gateway's config client, as `meshgate gateway` sets it up
// (--xds-ca with --xds-cert/--xds-key, or with --xds-token-file), gets its
// configuration over TLS from a server that requires a client certificate
// (mtls), or a bearer token (token); without them it gets nothing.
func TestGatewayConfigClientAuthenticated(t *testing.T) {
	dir := t.TempDir()
	serverCA, clientCA := certs.NewCA(t, "xds server CA"), certs.NewCA(t, "proxy CA")
	srvCert, srvKey := serverCA.Server(t, "127.0.0.1").WriteFiles(t, dir, "xds")
	serverCAFile := serverCA.WriteFile(t, dir, "server-ca.pem")
	clientCAFile := clientCA.WriteFile(t, dir, "client-ca.pem")
	gwCert, gwKey := clientCA.Client(t, "spiffe://example.org/mesh/m/virtualGateway/gw").WriteFiles(t, dir, "gw")
	otherCert, otherKey := clientCA.Client(t, "spiffe://example.org/mesh/m/virtualGateway/other").WriteFiles(t, dir, "other")
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("gateway-gw-token-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tokens, err := xds.ParseTokens([]byte(`{"tokens":[{"token":"gateway-gw-token-0123456789","resources":["mesh/m/virtualGateway/gw"]}]}`))
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		mode             xds.AuthMode
		cert, key, token string
		badCert, badKey  string
	}{
		{mode: xds.AuthMTLS, cert: gwCert, key: gwKey, badCert: otherCert, badKey: otherKey},
		{mode: xds.AuthToken, token: tokenFile},
	} {
		t.Run(string(tc.mode), func(t *testing.T) {
			addr := startAuthServer(t, xds.Config{TLSCertFile: srvCert, TLSKeyFile: srvKey,
				Auth: xds.AuthConfig{Mode: tc.mode, ClientCAFile: clientCAFile, Tokens: tokens}})
			run := func(cert, key, token string) <-chan *ir.Gateway {
				eps, err := configclient.ParseEndpoints(addr, serverCAFile)
				if err != nil {
					t.Fatal(err)
				}
				if eps, err = configclient.WithClientAuth(eps, cert, key, token); err != nil {
					t.Fatal(err)
				}
				applied := make(chan *ir.Gateway, 16)
				client, err := configclient.New(configclient.Options{Endpoints: eps, NodeID: "mesh/m/virtualGateway/gw",
					Resource: "mesh/m/virtualGateway/gw", Logger: slog.New(slog.DiscardHandler), MaxBackoff: 100 * time.Millisecond},
					func(g *ir.Gateway, version string) error { applied <- g; return nil })
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				var wg sync.WaitGroup
				wg.Go(func() { client.Run(ctx) })
				t.Cleanup(func() { cancel(); wg.Wait() })
				return applied
			}
			select {
			case g := <-run(tc.cert, tc.key, tc.token):
				if g.Name != "gw" || len(g.Listeners) != 1 || g.Listeners[0].Port != 8080 {
					t.Errorf("applied %+v", g)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no configuration applied")
			}
			// Without credentials, or with a certificate of another
			// gateway, nothing is ever applied.
			refused := []<-chan *ir.Gateway{run("", "", "")}
			if tc.badCert != "" {
				refused = append(refused, run(tc.badCert, tc.badKey, ""))
			}
			for _, ch := range refused {
				select {
				case g := <-ch:
					t.Errorf("a client without the right credentials applied %s", g.Name)
				case <-time.After(500 * time.Millisecond):
				}
			}
		})
	}
}

// startAuthServer runs an xDS server (cfg completed with a store, an API
// holding mesh m with gateways gw and other) on loopback TCP.
func startAuthServer(t *testing.T, cfg xds.Config) string {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg.Store, cfg.Region, cfg.AccountID, cfg.Logger = st, "us-east-1", "000000000000", quiet
	cfg.Envoy = func(*ir.Gateway) (*xds.EnvoyResources, error) { return &xds.EnvoyResources{}, nil }
	srv, err := xds.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := service.New(xds.KickOnWrite(st, srv.Kick), service.Config{Region: "us-east-1", AccountID: "000000000000", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	h, err := api.New(svc, quiet)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ path, body string }{
		{"/v20190125/meshes", `{"meshName":"m"}`},
		{"/v20190125/meshes/m/virtualGateways", `{"virtualGatewayName":"gw","spec":{"listeners":[{"portMapping":{"port":8080,"protocol":"http"}}]}}`},
		{"/v20190125/meshes/m/virtualGateways", `{"virtualGatewayName":"other","spec":{"listeners":[{"portMapping":{"port":8081,"protocol":"http"}}]}}`},
	} {
		rec := &recorder{header: http.Header{}}
		req, _ := http.NewRequest("PUT", c.path, strings.NewReader(c.body))
		h.ServeHTTP(rec, req)
		if rec.status != 0 && rec.status != 200 {
			t.Fatalf("PUT %s: %d %s", c.path, rec.status, rec.body.String())
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { srv.Run(ctx, ln, nil) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	select {
	case <-srv.Ready():
	case <-time.After(5 * time.Second):
		t.Fatal("xds server not ready")
	}
	return ln.Addr().String()
}

// recorder is a minimal http.ResponseWriter.
type recorder struct {
	header http.Header
	status int
	body   strings.Builder
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = 200
	}
	return r.body.Write(b)
}
func (r *recorder) WriteHeader(s int) { r.status = s }
