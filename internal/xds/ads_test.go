package xds

import (
	"context"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	clusterservice "github.com/envoyproxy/go-control-plane/envoy/service/cluster/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	listenerservice "github.com/envoyproxy/go-control-plane/envoy/service/listener/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// An Envoy-like client gets the gateway's config, with its node id in
// either ARN form, and clusters before listeners (ordered ADS).
func TestADSInitialConfig(t *testing.T) {
	h := newHarness(t)
	h.basic("m", "gw", 8080)
	t.Run("translate/envoy", func(t *testing.T) {
		real := newHarness(t, withRealEnvoy)
		real.basic("m", "gw", 8080)
		c := newADS(t, dial(t, real.tcp), "mesh/m/virtualGateway/gw")
		c.start()
		cluster := clusterOf(t, real.waitGatewayAt("mesh/m/virtualGateway/gw", "blue"), "blue")
		c.until(5*time.Second, "a listener on 8080 and routes to blue", func() bool {
			return c.hasListenerOn(8080) && c.routedClusters()[cluster]
		})
		for cl := range c.routedClusters() {
			if c.res[resource.ClusterType][cl] == nil {
				t.Errorf("route uses cluster %s the client does not have", cl)
			}
		}
		c.settle(200 * time.Millisecond)
		if got := testutil.ToFloat64(real.srv.m.nacks.WithLabelValues("Listener")); got != 0 {
			t.Errorf("NACKs: %v", got)
		}
	})
	for _, id := range []string{"mesh/m/virtualGateway/gw", arnPrefix + "mesh/m/virtualGateway/gw"} {
		t.Run(id, func(t *testing.T) {
			c := newADS(t, dial(t, h.tcp), id)
			c.start()
			c.until(5*time.Second, "a listener on 8080 with its routes", func() bool {
				return c.hasListenerOn(8080) && len(c.routedClusters()) == 1
			})
			if len(c.res[resource.EndpointType]) != 1 {
				t.Errorf("endpoints: got %d, want 1", len(c.res[resource.EndpointType]))
			}
			// Every cluster a route uses is one the client has.
			for cl := range c.routedClusters() {
				if c.res[resource.ClusterType][cl] == nil {
					t.Errorf("route uses cluster %s the client does not have", cl)
				}
			}
			if first := c.log[0].GetTypeUrl(); first != resource.ClusterType {
				t.Errorf("first response is %s, want clusters first", typeName(first))
			}
		})
	}
	if got := testutil.ToFloat64(h.srv.m.nacks.WithLabelValues("Cluster")); got != 0 {
		t.Errorf("NACKs: %v", got)
	}
}

// A change through the API reaches a connected proxy within a second,
// and a write that changes nothing a proxy sees pushes nothing.
func TestADSUpdateAndEquivalentChange(t *testing.T) {
	h := newHarness(t)
	h.basic("m", "gw", 8080)
	c := newADS(t, dial(t, h.tcp), "mesh/m/virtualGateway/gw")
	c.start()
	c.until(5*time.Second, "initial config", func() bool { return c.hasListenerOn(8080) && len(c.routedClusters()) == 1 })
	c.settle(200 * time.Millisecond)

	// The route's prefix changes: a new RDS within a second.
	start := time.Now()
	h.updateGatewayRoute("m", "gw", "color", "/paint", "color.local")
	c.until(time.Second, "the new route", func() bool { return hasPrefix(c, "/paint") })
	t.Logf("update reached the proxy in %v", time.Since(start))
	c.settle(200 * time.Millisecond)

	// The same spec again: the API bumps the route's version, the proxy's
	// config is identical, nothing is pushed.
	snapshots := testutil.ToFloat64(h.srv.m.snapshots.WithLabelValues("mesh/m/virtualGateway/gw"))
	h.updateGatewayRoute("m", "gw", "color", "/paint", "color.local")
	h.waitSynced(h.revision())
	c.quiet(500*time.Millisecond, "an equivalent change")
	if got := testutil.ToFloat64(h.srv.m.snapshots.WithLabelValues("mesh/m/virtualGateway/gw")); got != snapshots {
		t.Errorf("snapshots published: %v, want %v", got, snapshots)
	}
}

func hasPrefix(c *adsClient, prefix string) bool {
	for _, m := range c.res[resource.RouteType] {
		for _, vh := range rc(m).GetVirtualHosts() {
			for _, r := range vh.GetRoutes() {
				if r.GetMatch().GetPrefix() == prefix {
					return true
				}
			}
		}
	}
	return false
}

// Clients that do not use ADS get the same config from the per-type
// services; their streams on one connection are one proxy.
func TestPerTypeServices(t *testing.T) {
	h := newHarness(t)
	h.basic("m", "gw", 8080)
	h.waitGatewayAt("mesh/m/virtualGateway/gw", "blue")
	conn := dial(t, h.tcp)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	node := &corev3.Node{Id: "mesh/m/virtualGateway/gw"}

	lds, err := listenerservice.NewListenerDiscoveryServiceClient(conn).StreamListeners(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := lds.Send(&discovery.DiscoveryRequest{Node: node}); err != nil {
		t.Fatal(err)
	}
	r, err := lds.Recv()
	if err != nil || r.GetTypeUrl() != resource.ListenerType || len(r.GetResources()) != 1 {
		t.Fatalf("LDS: %v %v", err, r)
	}
	cds, err := clusterservice.NewClusterDiscoveryServiceClient(conn).StreamClusters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := cds.Send(&discovery.DiscoveryRequest{Node: node}); err != nil {
		t.Fatal(err)
	}
	if r, err := cds.Recv(); err != nil || len(r.GetResources()) != 1 {
		t.Fatalf("CDS: %v %v", err, r)
	}
	if got := h.srv.tracker.count("mesh/m/virtualGateway/gw"); got != 1 {
		t.Errorf("proxies: %d, want 1", got)
	}
	cancel()
}
