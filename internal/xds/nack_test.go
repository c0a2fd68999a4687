package xds

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// A NACKed response is counted and shown, the proxy keeps its last good
// config, nothing is re-sent until the config changes, and the next
// change is sent.
func TestNACK(t *testing.T) {
	h := newHarness(t)
	h.basic("m", "gw", 8080)
	c := newADS(t, dial(t, h.tcp), "mesh/m/virtualGateway/gw")
	c.start()
	c.until(5*time.Second, "initial config", func() bool { return c.hasListenerOn(8080) && len(c.routedClusters()) == 1 })
	c.settle(200 * time.Millisecond)
	goodRoutes := c.subs[resource.RouteType].version

	// The proxy rejects the next route configuration.
	c.nackNext[resource.RouteType] = "route: invalid regex"
	h.updateGatewayRoute("m", "gw", "color", "/paint", "color.local")
	c.until(5*time.Second, "the rejected routes", func() bool { return c.nackNext[resource.RouteType] == "" })
	if c.subs[resource.RouteType].version != goodRoutes {
		t.Fatalf("the client should still be on its last good routes")
	}
	deadline := time.Now().Add(5 * time.Second)
	for testutil.ToFloat64(h.srv.m.nacks.WithLabelValues("RouteConfiguration")) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the NACK was not counted")
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.quiet(700*time.Millisecond, "after a NACK")

	// /debug/xds shows the NACK with its error.
	rec := httptest.NewRecorder()
	h.srv.AdminHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/debug/xds", nil))
	var d Debug
	if err := json.Unmarshal(rec.Body.Bytes(), &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Proxies) != 1 {
		t.Fatalf("proxies: %+v", d.Proxies)
	}
	rt := d.Proxies[0].Types[resource.RouteType]
	if rt == nil || rt.LastNack == nil || rt.LastNack.Error != "route: invalid regex" || rt.Acked != goodRoutes || rt.Sent == goodRoutes {
		t.Errorf("route state in /debug/xds: %+v", rt)
	}

	// The next change is sent, and accepted.
	h.updateGatewayRoute("m", "gw", "color", "/brush", "color.local")
	c.until(5*time.Second, "the next routes", func() bool { return hasPrefix(c, "/brush") })
	if got := testutil.ToFloat64(h.srv.m.nacks.WithLabelValues("RouteConfiguration")); got != 1 {
		t.Errorf("NACKs: %v, want 1", got)
	}
}
