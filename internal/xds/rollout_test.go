package xds

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/protobuf/proto"

	"github.com/meshgate/meshgate/internal/ir"
)

// Retargeting a gateway route from service A to service B: B's cluster
// (and its endpoints) reach the proxy before the route that uses it, and
// A's cluster goes away only after the route no longer does. The grace
// period is long, so the rollout can only have moved on proxies' ACKs.
func TestMakeBeforeBreak(t *testing.T) {
	t.Run("stub translator", func(t *testing.T) {
		checkMakeBeforeBreak(t, newHarness(t, func(c *Config) { c.Grace = time.Minute }))
	})
	t.Run("translate/envoy", func(t *testing.T) {
		checkMakeBeforeBreak(t, newHarness(t, withRealEnvoy, func(c *Config) { c.Grace = time.Minute }))
	})
}

func checkMakeBeforeBreak(t *testing.T, h *harness) {
	h.mesh("m")
	h.node("m", "a", "a.local")
	h.node("m", "b", "b.local")
	h.service("m", "a.svc", "a")
	h.service("m", "b.svc", "b")
	h.gateway("m", "gw", 8080)
	h.gatewayRoute("m", "gw", "r", "/", "a.svc")
	gv := h.waitGatewayAt("mesh/m/virtualGateway/gw", "a")
	clusterA := clusterOf(t, gv, "a")

	c := newADS(t, dial(t, h.tcp), "mesh/m/virtualGateway/gw")
	c.start()
	c.until(5*time.Second, "routes to A", func() bool { return c.routedClusters()[clusterA] })
	c.settle(200 * time.Millisecond)
	from := len(c.log)

	start := time.Now()
	h.updateGatewayRoute("m", "gw", "r", "/", "b.svc")
	rev := h.revision()
	h.waitSynced(rev)
	clusterB := clusterOf(t, h.waitGatewayAt("mesh/m/virtualGateway/gw", "b"), "b")
	c.until(5*time.Second, "routes to B and A's cluster gone", func() bool {
		_, hasA := c.res[resource.ClusterType][clusterA]
		return c.routedClusters()[clusterB] && !hasA
	})
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("the rollout took %v: it waited for the grace period instead of the ACKs", d)
	}
	c.settle(300 * time.Millisecond)
	c.quiet(300*time.Millisecond, "after the rollout")
	seq := c.log[from:]
	for i, r := range seq {
		t.Logf("%d %s %v", i, typeName(r.GetTypeUrl()), responseNames(t, r))
	}

	addB := firstIndex(seq, resource.ClusterType, func(ms []proto.Message) bool { return hasName(ms, clusterB) })
	routeB := firstIndex(seq, resource.RouteType, func(ms []proto.Message) bool { return routeClusters(ms...)[clusterB] })
	dropA := firstIndex(seq, resource.ClusterType, func(ms []proto.Message) bool { return !hasName(ms, clusterA) })
	if addB < 0 || routeB < 0 || dropA < 0 {
		t.Fatalf("missing steps: cluster B at %d, route to B at %d, A removed at %d", addB, routeB, dropA)
	}
	if addB > routeB {
		t.Errorf("the route to B (response %d) came before B's cluster (%d)", routeB, addB)
	}
	if c.subs[resource.EndpointType] != nil {
		// EDS clusters: their endpoints too.
		edsB := firstIndex(seq, resource.EndpointType, func(ms []proto.Message) bool { return hasName(ms, clusterB) })
		if edsB < 0 || edsB > routeB {
			t.Errorf("the route to B (response %d) came before B's endpoints (%d)", routeB, edsB)
		}
	}
	if dropA < routeB {
		t.Errorf("A's cluster was removed (response %d) before the route left it (%d)", dropA, routeB)
	}
	// No route configuration after the switch points at A again.
	for _, r := range seq[routeB:] {
		if r.GetTypeUrl() == resource.RouteType && routeClusters(decode(t, r)...)[clusterA] {
			t.Errorf("a later route configuration uses A again")
		}
	}
}

// A proxy that never ACKs does not hold a rollout: each step ends after
// the grace period, and the gateway's other proxies get the final config.
func TestMakeBeforeBreakGrace(t *testing.T) {
	const grace = 300 * time.Millisecond
	h := newHarness(t, func(c *Config) { c.Grace = grace })
	h.mesh("m")
	h.node("m", "a", "a.local")
	h.node("m", "b", "b.local")
	h.service("m", "a.svc", "a")
	h.service("m", "b.svc", "b")
	h.gateway("m", "gw", 8080)
	h.gatewayRoute("m", "gw", "r", "/", "a.svc")
	clusterA := clusterOf(t, h.waitGatewayAt("mesh/m/virtualGateway/gw", "a"), "a")

	c := newADS(t, dial(t, h.tcp), "mesh/m/virtualGateway/gw")
	c.start()
	c.until(5*time.Second, "routes to A", func() bool { return c.routedClusters()[clusterA] })
	c.settle(200 * time.Millisecond)
	// The stuck proxy takes its first clusters and then never answers.
	stuck := newADS(t, dial(t, h.tcp), "mesh/m/virtualGateway/gw")
	stuck.start()
	if _, err := stuck.next(5 * time.Second); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	h.updateGatewayRoute("m", "gw", "r", "/", "b.svc")
	c.until(5*time.Second, "A's cluster removed", func() bool {
		_, hasA := c.res[resource.ClusterType][clusterA]
		return !hasA
	})
	if d := time.Since(start); d < 2*grace {
		t.Errorf("the rollout took %v, less than its two waits of %v", d, grace)
	}
}

// plan's steps for each kind of change.
func TestPlanSteps(t *testing.T) {
	// mk builds content with clusters named by the letters of clusters and
	// one route configuration whose content is routes.
	mk := func(clusters, routes string) *content {
		t.Helper()
		r := &EnvoyResources{Routes: []types.Resource{&routev3.RouteConfiguration{Name: "r",
			VirtualHosts: []*routev3.VirtualHost{{Name: routes}}}}}
		for _, n := range clusters {
			r.Clusters = append(r.Clusters, &clusterv3.Cluster{Name: string(n)})
		}
		c, err := newContent(r)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	type step struct{ name, clusters, routes string }
	for _, tc := range []struct {
		name     string
		cur, tgt *content
		want     []step
	}{
		{"first snapshot", nil, mk("a", "to a"), []step{{"initial", "a", "to a"}}},
		{"route change only", mk("a", "to a"), mk("a", "to a, other path"), []step{{"final", "a", "to a, other path"}}},
		{"retarget", mk("a", "to a"), mk("b", "to b"),
			[]step{{"add clusters", "ab", "to a"}, {"switch routes", "ab", "to b"}, {"final", "b", "to b"}}},
		{"add a target", mk("a", "to a"), mk("ab", "to a and b"),
			[]step{{"add clusters", "ab", "to a"}, {"final", "ab", "to a and b"}}},
		{"drop a target", mk("ab", "to a and b"), mk("a", "to a"),
			[]step{{"switch routes", "ab", "to a"}, {"final", "a", "to a"}}},
		{"cluster settings only", mk("a", "to a"), mk("a", "to a"), []step{{"final", "a", "to a"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			steps, err := plan(tc.cur, tc.tgt)
			if err != nil {
				t.Fatal(err)
			}
			var got []step
			for _, p := range steps {
				cl := slices.Sorted(maps.Keys(p.content.items[resource.ClusterType]))
				vh := p.content.items[resource.RouteType]["r"].(*routev3.RouteConfiguration).GetVirtualHosts()[0].GetName()
				got = append(got, step{p.name, strings.Join(cl, ""), vh})
				if (p.name == "final" || p.name == "initial") != (len(p.wait) == 0) {
					t.Errorf("step %s waits for %v", p.name, p.wait)
				}
				// A step's versions are its resources' hashes, as if built
				// anew: mix keeps a whole type's version rather than hash it.
				fresh := &content{items: p.content.items, versions: map[string]string{}}
				if err := fresh.version(); err != nil {
					t.Fatal(err)
				}
				if !maps.Equal(fresh.versions, p.content.versions) {
					t.Errorf("step %s: versions %v, its resources hash to %v", p.name, p.content.versions, fresh.versions)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("steps:\n got %v\nwant %v", got, tc.want)
			}
			if last := steps[len(steps)-1].content; !last.equal(tc.tgt) {
				t.Errorf("the last step is not the target")
			}
		})
	}
}

// clusterOf is the IR cluster name of a virtual node.
func clusterOf(t *testing.T, gv *gatewayView, node string) string {
	t.Helper()
	for _, c := range gv.ir.Clusters {
		if c.Node == node {
			return c.Name
		}
	}
	t.Fatalf("no cluster for node %s in the IR", node)
	return ""
}

// waitGatewayAt waits until the gateway's IR has a cluster for node.
func (h *harness) waitGatewayAt(name, node string) *gatewayView {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		gv := h.waitGateway(name)
		if slices.ContainsFunc(gv.ir.Clusters, func(c ir.Cluster) bool { return c.Node == node }) {
			return gv
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("gateway %s never had a cluster for %s", name, node)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func decode(t *testing.T, r *discovery.DiscoveryResponse) []proto.Message {
	t.Helper()
	var out []proto.Message
	for _, a := range r.GetResources() {
		m, err := a.UnmarshalNew()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func responseNames(t *testing.T, r *discovery.DiscoveryResponse) []string {
	var out []string
	for _, m := range decode(t, r) {
		out = append(out, nameOf(m))
	}
	return out
}

func hasName(ms []proto.Message, name string) bool {
	return slices.ContainsFunc(ms, func(m proto.Message) bool { return nameOf(m) == name })
}

// firstIndex is the index of the first response of typeURL whose
// resources satisfy ok, or -1.
func firstIndex(seq []*discovery.DiscoveryResponse, typeURL string, ok func([]proto.Message) bool) int {
	for i, r := range seq {
		if r.GetTypeUrl() != typeURL {
			continue
		}
		var ms []proto.Message
		for _, a := range r.GetResources() {
			if m, err := a.UnmarshalNew(); err == nil {
				ms = append(ms, m)
			}
		}
		if ok(ms) {
			return i
		}
	}
	return -1
}
