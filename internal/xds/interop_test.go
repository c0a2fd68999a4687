package xds_test

import (
	"bytes"
	"context"
	"io"
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
	"github.com/meshgate/meshgate/internal/xds"
)

// The meshgate gateway's config client, as it ships, gets its gateway's
// configuration from this server over the unix socket, and the next
// version after an API write.
func TestGatewayConfigClient(t *testing.T) {
	quiet := slog.New(slog.DiscardHandler)
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv, err := xds.New(xds.Config{Store: st, Region: "us-east-1", AccountID: "000000000000", Logger: quiet,
		Envoy: func(*ir.Gateway) (*xds.EnvoyResources, error) { return &xds.EnvoyResources{}, nil }})
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
	apiLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	apiSrv := &http.Server{Handler: h, ReadHeaderTimeout: time.Second}
	go apiSrv.Serve(apiLn)
	defer apiSrv.Close()
	put := func(path, body string) {
		t.Helper()
		req, err := http.NewRequest("PUT", "http://"+apiLn.Addr().String()+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("PUT %s: %d %s", path, resp.StatusCode, b)
		}
	}
	put("/v20190125/meshes", `{"meshName":"m"}`)
	put("/v20190125/meshes/m/virtualGateways", `{"virtualGatewayName":"gw","spec":{"listeners":[{"portMapping":{"port":8080,"protocol":"http"}}]}}`)

	dir, err := os.MkdirTemp("", "mgx")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "xds.sock")
	unix, err := xds.ListenUnix(sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() { srv.Run(ctx, nil, unix) })

	applied := make(chan *ir.Gateway, 16)
	eps, err := configclient.ParseEndpoints("unix://"+sock, "")
	if err != nil {
		t.Fatal(err)
	}
	client, err := configclient.New(configclient.Options{Endpoints: eps, NodeID: "arn:aws:appmesh:us-east-1:000000000000:mesh/m/virtualGateway/gw",
		Resource: "mesh/m/virtualGateway/gw", Logger: quiet},
		func(g *ir.Gateway, raw []byte, version string) error {
			// What the gateway keeps for /config_dump is the IR's JSON form.
			if !bytes.Equal(raw, g.JSON()) || ir.VersionOf(raw) != version {
				t.Errorf("configuration %s arrived as %s", version, raw)
			}
			applied <- g
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	wg.Go(func() { client.Run(ctx) })

	wait := func(port uint32) {
		t.Helper()
		for {
			select {
			case g := <-applied:
				if len(g.Listeners) == 1 && g.Listeners[0].Port == port {
					return
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("no configuration with a listener on %d", port)
			}
		}
	}
	wait(8080)
	put("/v20190125/meshes/m/virtualGateways/gw", `{"spec":{"listeners":[{"portMapping":{"port":9090,"protocol":"http"}}]}}`)
	wait(9090)
}
