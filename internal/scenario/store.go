package scenario

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/meshgate/meshgate/internal/api"
	"github.com/meshgate/meshgate/internal/ir"
	"github.com/meshgate/meshgate/internal/model"
	"github.com/meshgate/meshgate/internal/service"
	"github.com/meshgate/meshgate/internal/store"
	"github.com/meshgate/meshgate/internal/store/sqlite"
	"github.com/meshgate/meshgate/internal/translate"
)

// Store creates the scenario through a real App Mesh API server on
// loopback, over a SQLite store in a temporary folder, and returns the
// store. Scenario resources go through every API rule, so a scenario that
// App Mesh would refuse fails here.
func (s Scenario) Store(t testing.TB) store.Store {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "scenario.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	q := service.DefaultQuotas()
	q.GatewayRoutesPerVirtualGateway = 100
	svc, err := service.New(st, service.Config{Region: "us-west-2", AccountID: "111122223333", Quotas: q,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	h, err := api.New(svc, nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Apply(ctx, http.DefaultClient, "http://"+ln.Addr().String()); err != nil {
		t.Fatal(err)
	}
	return st
}

// Model creates the scenario and loads the model snapshot of its gateway.
func (s Scenario) Model(t testing.TB) *model.Gateway {
	t.Helper()
	m, err := model.Load(context.Background(), s.Store(t), model.GatewayKey{Mesh: s.Mesh, Name: s.Gateway}, nil)
	if err != nil {
		t.Fatalf("scenario %s: %v", s.Name, err)
	}
	return m
}

// IR creates the scenario and translates its gateway. The gateway's UID,
// random per run, is set to "uid" so outputs compare across runs.
func (s Scenario) IR(t testing.TB) *ir.Gateway {
	t.Helper()
	g, err := translate.Gateway(s.Model(t))
	if err != nil {
		t.Fatalf("scenario %s: %v", s.Name, err)
	}
	g.UID = "uid"
	return g
}
