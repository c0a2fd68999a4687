package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"runtime"
	"testing"
	"unsafe"
	"weak"

	"github.com/meshgate/meshgate/internal/gateway/metrics"
	"github.com/meshgate/meshgate/internal/ir"
)

// TestConfigNotKept: an applied configuration's decoded IR is not kept,
// neither by the gateway's state nor by a listener that stays open into
// the next configuration, so that a large route table is not marked by
// the collector at every cycle (nor kept twice). The gateway still
// routes by it, and /config_dump still shows it.
func TestConfigNotKept(t *testing.T) {
	be := startEcho(t, "backend")
	g := newTestGateway(t)
	admin := g.AdminHandler(nil, nil)
	c := h1Client(t)

	// Each configuration is built, applied and used inside apply, so
	// that only the weak pointers outlive it here.
	apply := func(prefix string) (url string, whole weak.Pointer[ir.Gateway], routes weak.Pointer[ir.GatewayRoute], want []byte) {
		t.Helper()
		cfg := oneBackend(t, ir.HTTP, be.Addr, nil)
		if prev := g.Config(); prev != nil { // the same listener port: it stays open
			var p ir.Gateway
			if err := json.Unmarshal(prev, &p); err != nil {
				t.Fatal(err)
			}
			cfg.Listeners[0].Port = p.Listeners[0].Port
		}
		cfg.Listeners[0].VirtualHosts[0].Routes[0].Match.Prefix = prefix
		mustApply(t, g, cfg)
		return listenURL(cfg, 0, prefix+"/x"), weak.Make(cfg), weak.Make(&cfg.Listeners[0].VirtualHosts[0].Routes[0]), cfg.JSON()
	}
	collected := func(name string, whole weak.Pointer[ir.Gateway], routes weak.Pointer[ir.GatewayRoute]) {
		t.Helper()
		runtime.GC()
		runtime.GC()
		if whole.Value() != nil {
			t.Errorf("%s configuration still reachable after it was applied", name)
		}
		if routes.Value() != nil {
			t.Errorf("%s configuration's gateway routes still reachable after it was applied", name)
		}
	}
	serves := func(url string) {
		t.Helper()
		resp, body := get(t, c, url)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", url, resp.StatusCode, body)
		}
	}

	url1, whole1, routes1, _ := apply("/first")
	serves(url1)
	collected("first", whole1, routes1)
	url2, whole2, routes2, want := apply("/second")
	serves(url2)
	collected("first", whole1, routes1)
	collected("second", whole2, routes2)

	rec := httptest.NewRecorder()
	admin.ServeHTTP(rec, httptest.NewRequest("GET", "/config_dump", nil))
	var dump struct {
		Version string
		Config  ir.Gateway
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &dump); err != nil {
		t.Fatalf("/config_dump: %v\n%s", err, rec.Body)
	}
	var applied ir.Gateway
	if err := json.Unmarshal(want, &applied); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(dump.Config, applied) || dump.Version != applied.Version() {
		t.Fatalf("/config_dump shows version %s %+v, want version %s %+v", dump.Version, dump.Config, applied.Version(), applied)
	}
}

// TestMetricsKeepNoTable: the metrics outlive configurations, so the
// route names they keep are their own copies: a name taken from the
// router (a substring of one string for all of a table's routes) would
// keep that whole table's strings once the table is replaced.
func TestMetricsKeepNoTable(t *testing.T) {
	be := startEcho(t, "backend")
	m, err := metrics.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	g := New(Options{ListenHost: "127.0.0.1", Logger: testLogger(), Metrics: m})
	t.Cleanup(func() { g.Shutdown(context.Background()) })
	cfg := oneBackend(t, ir.HTTP, be.Addr, nil)
	mustApply(t, g, cfg)
	var strs weak.Pointer[byte] // the first table's strings
	for _, name := range g.state.Load().table.GatewayRoutes() {
		strs = weak.Make(unsafe.StringData(name))
	}
	if strs.Value() == nil {
		t.Fatal("no gateway route in the table")
	}
	// The same route name in a new table.
	cfg.Listeners[0].VirtualHosts[0].Routes[0].Match.Prefix = "/next"
	mustApply(t, g, cfg)
	runtime.GC()
	runtime.GC()
	if strs.Value() != nil {
		t.Fatal("the replaced table's strings are still reachable")
	}
	if rm := g.state.Load().observers.routes; len(rm) != 1 || rm[0] == nil {
		t.Fatalf("metrics for the routes: %v, want one", rm)
	}
}
