// Package xdstest runs a real xDS server for tests outside package xds,
// with the App Mesh API's service on the same store to create what it
// serves.
package xdstest

import (
	"context"
	"log/slog"
	"net"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meshgate/meshgate/internal/api"
	"github.com/meshgate/meshgate/internal/ir"
	"github.com/meshgate/meshgate/internal/service"
	"github.com/meshgate/meshgate/internal/store/sqlite"
	"github.com/meshgate/meshgate/internal/xds"
)

// Region and Account are the server's.
const (
	Region  = "us-east-1"
	Account = "000000000000"
)

// Put is an App Mesh API call made before the server serves: a PUT of Body
// to Path, e.g. {"/v20190125/meshes", `{"meshName":"m"}`}.
type Put struct{ Path, Body string }

// Serve runs an xDS server on loopback TCP until the test ends and returns
// its address. cfg is completed with a SQLite store, Region, Account, a
// quiet logger and, when it has none, an Envoy translation that produces
// nothing; puts are made through the API first.
func Serve(t testing.TB, cfg xds.Config, puts ...Put) string {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "xds.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg.Store, cfg.Region, cfg.AccountID, cfg.Logger = st, Region, Account, quiet
	if cfg.Envoy == nil {
		cfg.Envoy = func(*ir.Gateway) (*xds.EnvoyResources, error) { return &xds.EnvoyResources{}, nil }
	}
	srv, err := xds.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := service.New(xds.KickOnWrite(st, srv.Kick), service.Config{Region: Region, AccountID: Account, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	h, err := api.New(svc, quiet)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range puts {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("PUT", p.Path, strings.NewReader(p.Body)))
		if rec.Code != 200 {
			t.Fatalf("PUT %s: %d %s", p.Path, rec.Code, rec.Body)
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
		t.Fatal("the xDS server is not ready")
	}
	return ln.Addr().String()
}
