package xds

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/meshgate/meshgate/internal/ir"
	"github.com/meshgate/meshgate/internal/store"
	"github.com/meshgate/meshgate/internal/testutil/wait"
	"github.com/meshgate/meshgate/internal/xds/gwconfig"
)

// A change to one gateway pushes nothing to another gateway's proxies.
func TestGatewaysAreIsolated(t *testing.T) {
	h := newHarness(t)
	h.basic("m", "a", 8080)
	h.gateway("m", "b", 8081)
	h.gatewayRoute("m", "b", "color", "/color", "color.local")
	a := newADS(t, dial(t, h.tcp), "mesh/m/virtualGateway/a")
	b := newADS(t, dial(t, h.tcp), "mesh/m/virtualGateway/b")
	for _, c := range []*adsClient{a, b} {
		c.start()
		c.until(5*time.Second, "initial config", func() bool { return len(c.routedClusters()) == 1 })
		c.settle(200 * time.Millisecond)
	}
	h.updateGatewayRoute("m", "a", "color", "/paint", "color.local")
	a.until(5*time.Second, "a's new route", func() bool { return hasPrefix(a, "/paint") })
	b.quiet(300*time.Millisecond, "gateway b after a change to gateway a")
	if hasPrefix(b, "/paint") || !b.hasListenerOn(8081) || b.hasListenerOn(8080) {
		t.Errorf("gateway b's proxy has another gateway's config")
	}
}

// A translation error keeps the last good snapshot, is counted once and
// shows in /debug/xds; fixing the input publishes again.
func TestTranslationErrorKeepsLastGood(t *testing.T) {
	h := newHarness(t)
	h.basic("m", "gw", 8080)
	c := newADS(t, dial(t, h.tcp), "mesh/m/virtualGateway/gw")
	c.start()
	c.until(5*time.Second, "initial config", func() bool { return len(c.routedClusters()) == 1 })
	c.settle(200 * time.Millisecond)

	h.stub.fail.Store(true)
	h.updateGatewayRoute("m", "gw", "color", "/paint", "color.local")
	h.waitSynced(h.revision())
	c.quiet(300*time.Millisecond, "a failed translation")
	errs := h.srv.m.translationErrors.WithLabelValues("mesh/m/virtualGateway/gw")
	if got := testutil.ToFloat64(errs); got != 1 {
		t.Errorf("translation errors: %v, want 1", got)
	}
	// Another store change with the same broken input is not a new error.
	h.mesh("unrelated")
	h.waitSynced(h.revision())
	if got := testutil.ToFloat64(errs); got != 1 {
		t.Errorf("translation errors after an unrelated change: %v, want 1", got)
	}
	wait.For(t, 5*time.Second, "the error in /debug/xds", func() bool {
		d := h.srv.DebugState()
		return len(d.Gateways) == 1 && strings.Contains(d.Gateways[0].Error, "told to fail")
	})

	h.stub.fail.Store(false)
	h.updateGatewayRoute("m", "gw", "color", "/brush", "color.local")
	c.until(5*time.Second, "the fixed config", func() bool { return hasPrefix(c, "/brush") })
	wait.For(t, 5*time.Second, "the error to be cleared in /debug/xds", func() bool { return h.srv.DebugState().Gateways[0].Error == "" })
}

// In-process writers can kick the loop instead of waiting for a poll.
func TestKickOnWrite(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.PollInterval = time.Hour })
	h.basic("m", "gw", 8080) // through the API: no kick, the hour-long poll never comes
	kicked := KickOnWrite(h.st, h.srv.Kick)
	if err := kicked.Write(context.Background(), func(store.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	h.waitGateway("mesh/m/virtualGateway/gw")
}

// The admin endpoints: ready, metrics, the proxies and gateways, and one
// gateway's config as IR or Envoy resources.
func TestAdmin(t *testing.T) {
	h := newHarness(t)
	h.basic("m", "gw", 8080)
	c := newADS(t, dial(t, h.tcp), arnPrefix+"mesh/m/virtualGateway/gw")
	c.start()
	c.until(5*time.Second, "initial config", func() bool { return len(c.routedClusters()) == 1 })
	c.settle(200 * time.Millisecond)

	srv := httptest.NewServer(h.srv.AdminHandler())
	defer srv.Close()
	get := func(path string, want int) string {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
		}
		return string(b)
	}
	get("/ready", 200)
	metrics := get("/metrics", 200)
	for _, name := range []string{"meshgate_xds_pushes_total", "meshgate_xds_acks_total", "meshgate_xds_connected_proxies",
		"meshgate_xds_snapshots_total", "meshgate_xds_sync_seconds"} {
		if !strings.Contains(metrics, name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	// Values, not only names: the one proxy connected, and it accepted
	// every listener response it was sent.
	value := func(series string) string {
		_, rest, ok := strings.Cut(metrics, "\n"+series+" ")
		v, _, _ := strings.Cut(rest, "\n")
		if !ok {
			return "none"
		}
		return v
	}
	if v := value(`meshgate_xds_connected_proxies{gateway="mesh/m/virtualGateway/gw"}`); v != "1" {
		t.Errorf("connected proxies %s, want 1", v)
	}
	if p, a := value(`meshgate_xds_pushes_total{type="Listener"}`), value(`meshgate_xds_acks_total{type="Listener"}`); p == "none" || p == "0" || a != p {
		t.Errorf("listener responses: %s pushed, %s acknowledged", p, a)
	}

	var d Debug
	if err := json.Unmarshal([]byte(get("/debug/xds", 200)), &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Proxies) != 1 || len(d.Gateways) != 1 {
		t.Fatalf("/debug/xds: %+v", d)
	}
	p, g := d.Proxies[0], d.Gateways[0]
	if p.NodeID != arnPrefix+"mesh/m/virtualGateway/gw" || p.Cluster != "test-cluster" || p.Gateway != "mesh/m/virtualGateway/gw" ||
		p.ConnectedSince.IsZero() {
		t.Errorf("proxy: %+v", p)
	}
	for _, typ := range []string{resource.ClusterType, resource.ListenerType, resource.RouteType, resource.EndpointType} {
		ti := p.Types[typ]
		if ti == nil || ti.Sent == "" || ti.Acked != ti.Sent || ti.Acked != g.Versions[typ] {
			t.Errorf("%s: proxy %+v, gateway version %s", typeName(typ), ti, g.Versions[typ])
		}
	}
	if g.Proxies != 1 || g.IRVersion == "" || g.Versions[gwconfig.Type] != g.IRVersion {
		t.Errorf("gateway: %+v", g)
	}

	var gw ir.Gateway
	if err := json.Unmarshal([]byte(get("/debug/xds/config?resource=mesh/m/virtualGateway/gw&format=ir", 200)), &gw); err != nil {
		t.Fatal(err)
	}
	if gw.Version() != g.IRVersion {
		t.Errorf("IR version %s, want %s", gw.Version(), g.IRVersion)
	}
	var env struct {
		Listeners []json.RawMessage `json:"listeners"`
		Clusters  []json.RawMessage `json:"clusters"`
		Versions  map[string]string `json:"versions"`
	}
	body := get("/debug/xds/config?resource="+arnPrefix+"mesh/m/virtualGateway/gw&format=envoy", 200)
	if err := json.Unmarshal([]byte(body), &env); err != nil {
		t.Fatal(err)
	}
	if len(env.Listeners) != 1 || len(env.Clusters) != 1 || env.Versions[resource.ListenerType] != g.Versions[resource.ListenerType] {
		t.Errorf("envoy config: %s", body)
	}
	get("/debug/xds/config?resource=mesh/m/virtualGateway/nope", 404)
	get("/debug/xds/config?resource=nope", 400)
	get("/debug/xds/config?resource=mesh/m/virtualGateway/gw&format=yaml", 400)
}

// gwconfig.Decode refuses what it cannot trust.
func TestDecodeGatewayConfig(t *testing.T) {
	g := &ir.Gateway{Mesh: "m", Name: "gw", Listeners: []ir.Listener{{Port: 8080, Protocol: ir.HTTP}}}
	msg, version, err := gwconfig.New("mesh/m/virtualGateway/gw", g)
	if err != nil || version != g.Version() {
		t.Fatalf("New: %v, version %s, want %s", err, version, g.Version())
	}
	b, err := proto.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	got, version, err := gwconfig.Decode(&anypb.Any{TypeUrl: gwconfig.Type, Value: b})
	if err != nil || version != g.Version() || got.Listeners[0].Port != 8080 {
		t.Fatalf("round trip: %v %s %+v", err, version, got)
	}
	if _, _, err := gwconfig.Decode(msg); err != nil {
		t.Errorf("the message itself: %v", err)
	}
	if _, _, err := gwconfig.New("mesh/m/virtualGateway/other", g); err == nil {
		t.Error("New: a name that is not the IR's gateway was accepted")
	}

	// raw is a GatewayConfig on the wire whose version is its IR's hash.
	raw := func(name, irJSON string) *anypb.Any {
		var w []byte
		w = protowire.AppendTag(w, 1, protowire.BytesType)
		w = protowire.AppendString(w, name)
		w = protowire.AppendTag(w, 2, protowire.BytesType)
		w = protowire.AppendString(w, ir.VersionOf([]byte(irJSON)))
		w = protowire.AppendTag(w, 3, protowire.BytesType)
		w = protowire.AppendBytes(w, []byte(irJSON))
		return &anypb.Any{TypeUrl: gwconfig.Type, Value: w}
	}
	irJSON, _ := g.Encode()
	if _, _, err := gwconfig.Decode(raw("mesh/m/virtualGateway/gw", string(irJSON))); err != nil {
		t.Fatalf("raw: %v", err)
	}
	tampered := append([]byte{}, b...)
	tampered[len(tampered)-3] ^= 1 // inside the IR JSON's last characters
	for name, a := range map[string]*anypb.Any{
		"wrong type":    {TypeUrl: "type.googleapis.com/envoy.config.cluster.v3.Cluster", Value: b},
		"garbage":       {TypeUrl: gwconfig.Type, Value: []byte{0xff, 0xff}},
		"wrong name":    raw("mesh/m/virtualGateway/other", string(irJSON)),
		"content":       {TypeUrl: gwconfig.Type, Value: tampered},
		"empty message": {TypeUrl: gwconfig.Type},
		// A server newer than this gateway: a field it would leave out.
		"unknown field": raw("mesh/m/virtualGateway/gw", `{"mesh":"m","name":"gw","futureFeature":true}`),
		"data after":    raw("mesh/m/virtualGateway/gw", string(irJSON)+"}"),
		"not the IR":    raw("mesh/m/virtualGateway/gw", `[1]`),
	} {
		if _, _, err := gwconfig.Decode(a); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, _, err := gwconfig.Decode(nil); err == nil {
		t.Error("nil: accepted")
	}
}
