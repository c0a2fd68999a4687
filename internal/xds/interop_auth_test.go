package xds_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/meshgate/meshgate/internal/gateway/configclient"
	"github.com/meshgate/meshgate/internal/ir"
	"github.com/meshgate/meshgate/internal/testutil/certs"
	"github.com/meshgate/meshgate/internal/testutil/xdstest"
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
			addr := xdstest.Serve(t, xds.Config{TLSCertFile: srvCert, TLSKeyFile: srvKey,
				Auth: xds.AuthConfig{Mode: tc.mode, ClientCAFile: clientCAFile, Tokens: tokens}},
				xdstest.Put{Path: "/v20190125/meshes", Body: `{"meshName":"m"}`},
				xdstest.Put{Path: "/v20190125/meshes/m/virtualGateways", Body: `{"virtualGatewayName":"gw","spec":{"listeners":[{"portMapping":{"port":8080,"protocol":"http"}}]}}`},
				xdstest.Put{Path: "/v20190125/meshes/m/virtualGateways", Body: `{"virtualGatewayName":"other","spec":{"listeners":[{"portMapping":{"port":8081,"protocol":"http"}}]}}`})
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
					func(g *ir.Gateway, _ []byte, version string) error { applied <- g; return nil })
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
