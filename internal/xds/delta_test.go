package xds

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"github.com/meshgate/meshgate/internal/testutil/wait"
	"github.com/meshgate/meshgate/internal/xds/gwconfig"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// deltaClient is an incremental ADS client that behaves like Envoy with
// the delta protocol.
type deltaClient struct {
	t      *testing.T
	stream discovery.AggregatedDiscoveryService_DeltaAggregatedResourcesClient
	cancel context.CancelFunc
	res    map[string]map[string]proto.Message
	subs   map[string][]string
	node   *corev3.Node // sent on the first request only
}

func newDelta(t *testing.T, conn *grpc.ClientConn, nodeID string) *deltaClient {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stream, err := discovery.NewAggregatedDiscoveryServiceClient(conn).DeltaAggregatedResources(ctx)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	c := &deltaClient{t: t, stream: stream, cancel: cancel, res: map[string]map[string]proto.Message{},
		subs: map[string][]string{}, node: &corev3.Node{Id: nodeID, Cluster: "delta"}}
	t.Cleanup(cancel)
	return c
}

func (c *deltaClient) send(req *discovery.DeltaDiscoveryRequest) {
	c.t.Helper()
	req.Node, c.node = c.node, nil
	if err := c.stream.Send(req); err != nil {
		c.t.Fatalf("delta send: %v", err)
	}
}

func (c *deltaClient) subscribe(typeURL string, names []string) {
	old := c.subs[typeURL]
	c.subs[typeURL] = names
	var add, drop []string
	for _, n := range names {
		if !slices.Contains(old, n) {
			add = append(add, n)
		}
	}
	for _, n := range old {
		if !slices.Contains(names, n) {
			drop = append(drop, n)
		}
	}
	c.send(&discovery.DeltaDiscoveryRequest{TypeUrl: typeURL, ResourceNamesSubscribe: add, ResourceNamesUnsubscribe: drop})
}

// recv handles one response: apply, ACK, follow references.
func (c *deltaClient) recv() error {
	c.t.Helper()
	r, err := c.stream.Recv()
	if err != nil {
		return err
	}
	t := r.GetTypeUrl()
	if c.res[t] == nil {
		c.res[t] = map[string]proto.Message{}
	}
	for _, res := range r.GetResources() {
		m, err := res.GetResource().UnmarshalNew()
		if err != nil {
			c.t.Fatal(err)
		}
		c.res[t][res.GetName()] = m
	}
	for _, n := range r.GetRemovedResources() {
		delete(c.res[t], n)
	}
	c.send(&discovery.DeltaDiscoveryRequest{TypeUrl: t, ResponseNonce: r.GetNonce()})
	switch t {
	case resource.ClusterType:
		if names := edsNames(c.res[t]); !slices.Equal(names, c.subs[resource.EndpointType]) {
			c.subscribe(resource.EndpointType, names)
		}
	case resource.ListenerType:
		if names := rdsNames(c.res[t]); !slices.Equal(names, c.subs[resource.RouteType]) {
			c.subscribe(resource.RouteType, names)
		}
	}
	return nil
}

// until handles responses until cond holds (the stream is closed by the
// test's cleanup if it never does: Recv then fails).
func (c *deltaClient) until(d time.Duration, what string, cond func() bool) {
	c.t.Helper()
	timer := time.AfterFunc(d, c.cancel)
	defer timer.Stop()
	for !cond() {
		if err := c.recv(); err != nil {
			c.t.Fatalf("waiting for %s: %v", what, err)
		}
	}
}

func (c *deltaClient) hasListenerOn(port uint32) bool {
	a := &adsClient{res: c.res}
	return a.hasListenerOn(port)
}

// Delta xDS serves the same config, and the next change.
func TestDelta(t *testing.T) {
	h := newHarness(t)
	h.basic("m", "gw", 8080)
	c := newDelta(t, dial(t, h.tcp), arnPrefix+"mesh/m/virtualGateway/gw")
	c.send(&discovery.DeltaDiscoveryRequest{TypeUrl: resource.ClusterType})
	c.send(&discovery.DeltaDiscoveryRequest{TypeUrl: resource.ListenerType})
	c.subs[resource.ClusterType], c.subs[resource.ListenerType] = []string{}, []string{}
	c.until(5*time.Second, "the listener and its routes", func() bool {
		routed := routeClusters(slices.Collect(maps.Values(c.res[resource.RouteType]))...)
		return c.hasListenerOn(8080) && len(routed) == 1 && len(c.res[resource.EndpointType]) == 1
	})

	h.updateGatewayRoute("m", "gw", "color", "/paint", "color.local")
	c.until(5*time.Second, "the new route", func() bool { return hasPrefix(&adsClient{res: c.res}, "/paint") })
	wait.For(t, 5*time.Second, "two ACKs of routes counted", func() bool {
		return testutil.ToFloat64(h.srv.m.acks.WithLabelValues("RouteConfiguration")) >= 2
	})
}

// The gateway's own resource type: a proxy gets its own GatewayConfig over
// state-of-the-world and delta, and is refused another gateway's.
func TestGatewayConfig(t *testing.T) {
	h := newHarness(t)
	h.basic("m", "gw", 8080)
	h.gateway("m", "other", 8081)
	const name = "mesh/m/virtualGateway/gw"
	h.waitGatewayAt(name, "blue")
	conn := dial(t, h.tcp)

	t.Run("sotw", func(t *testing.T) {
		c := newADS(t, conn, arnPrefix+name)
		c.request(gwconfig.Type, []string{name})
		r, err := c.next(5 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.GetResources()) != 1 {
			t.Fatalf("%d resources", len(r.GetResources()))
		}
		g, version, err := gwconfig.Decode(r.GetResources()[0])
		if err != nil {
			t.Fatal(err)
		}
		if g.Mesh != "m" || g.Name != "gw" || version != r.GetVersionInfo() || len(g.Listeners) != 1 {
			t.Errorf("decoded %s/%s version %s (response %s), %d listeners", g.Mesh, g.Name, version, r.GetVersionInfo(), len(g.Listeners))
		}
		c.handle(r)

		// A change of the gateway's IR is pushed.
		h.updateGatewayRoute("m", "gw", "color", "/paint", "color.local")
		r, err = c.next(5 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		g, _, err = gwconfig.Decode(r.GetResources()[0])
		if err != nil || g.Listeners[0].VirtualHosts[0].Routes[0].Match.Prefix != "/paint" {
			t.Errorf("updated config: %v %+v", err, g.Listeners)
		}
	})

	t.Run("before the Envoy translation", func(t *testing.T) {
		// The gateway's own config does not wait for the Envoy
		// translation: the update arrives while the translator is held.
		c := newADS(t, conn, arnPrefix+name)
		c.request(gwconfig.Type, []string{name})
		r, err := c.next(5 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.handle(r)
		release := make(chan struct{})
		h.stub.hold.Store(&release)
		defer func() { h.stub.hold.Store(nil); close(release) }()
		h.updateGatewayRoute("m", "gw", "color", "/held", "color.local")
		r, err = c.next(5 * time.Second)
		if err != nil {
			t.Fatalf("no gateway config while the Envoy translation is held: %v", err)
		}
		g, _, err := gwconfig.Decode(r.GetResources()[0])
		if err != nil || g.Listeners[0].VirtualHosts[0].Routes[0].Match.Prefix != "/held" {
			t.Errorf("config: %v %+v", err, g.Listeners)
		}
	})

	t.Run("sotw other gateway", func(t *testing.T) {
		c := newADS(t, conn, name)
		c.request(gwconfig.Type, []string{"mesh/m/virtualGateway/other"})
		if st := streamEnd(t, c); st.Code() != codes.PermissionDenied {
			t.Errorf("status %v, want PermissionDenied", st)
		}
	})

	t.Run("delta", func(t *testing.T) {
		c := newDelta(t, conn, name)
		c.subscribe(gwconfig.Type, []string{name})
		c.until(5*time.Second, "the gateway config", func() bool { return len(c.res[gwconfig.Type]) == 1 })
		g, _, err := gwconfig.Decode(c.res[gwconfig.Type][name])
		if err != nil || g.Name != "gw" {
			t.Errorf("decoded %v %v", g, err)
		}
	})

	t.Run("delta other gateway", func(t *testing.T) {
		c := newDelta(t, conn, name)
		c.subscribe(gwconfig.Type, []string{"mesh/m/virtualGateway/other"})
		_, err := c.stream.Recv()
		if status.Code(err) != codes.PermissionDenied {
			t.Errorf("status %v, want PermissionDenied", err)
		}
	})
}
