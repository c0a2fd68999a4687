package xds

import (
	"context"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	clusterservice "github.com/envoyproxy/go-control-plane/envoy/service/cluster/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// streamEnd waits for the stream to be closed by the server and returns
// its status.
func streamEnd(t *testing.T, c *adsClient) *status.Status {
	t.Helper()
	for {
		r, err := c.next(5 * time.Second)
		if err == errTimeout {
			t.Fatal("the server did not close the stream")
		}
		if err != nil {
			return status.Convert(err)
		}
		c.handle(r)
	}
}

// A node naming no existing gateway is refused with status 3 and a clear
// message, as App Mesh did; once the gateway exists, a reconnecting proxy
// gets its config.
func TestUnknownNode(t *testing.T) {
	h := newHarness(t)
	h.mesh("m")
	conn := dial(t, h.tcp)

	c := newADS(t, conn, "mesh/m/virtualGateway/later")
	c.start()
	st := streamEnd(t, c)
	if st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), "the node's resource was not found") ||
		!strings.Contains(st.Message(), `"later"`) {
		t.Fatalf("status %d %q, want 3 and the resource not found", st.Code(), st.Message())
	}

	h.gateway("m", "later", 8080)
	c = newADS(t, conn, "mesh/m/virtualGateway/later")
	c.start()
	c.until(5*time.Second, "the listener", func() bool { return c.hasListenerOn(8080) })
}

// Node ids that are not a virtual gateway of this server are refused
// with status 3 and say what is wrong.
func TestBadNodeIDs(t *testing.T) {
	h := newHarness(t)
	h.basic("m", "gw", 8080)
	conn := dial(t, h.tcp)
	for _, tc := range []struct{ id, want string }{
		{"", "node.id is empty"},
		{"envoy-1", "is not a virtual gateway ARN"},
		{"mesh/m/virtualNode/blue", "names a virtualNode"},
		{"arn:aws:appmesh:eu-west-1:111122223333:mesh/m/virtualGateway/gw", "this server is region us-west-2"},
		{"arn:aws:appmesh:us-west-2:999999999999:mesh/m/virtualGateway/gw", "names account 999999999999, which does not own mesh/m/virtualGateway/gw"},
		{"mesh/m@999999999999/virtualGateway/gw", "names account 999999999999, which does not own mesh/m/virtualGateway/gw"},
		{"arn:aws:appmesh:us-west-2:111122223333:mesh/m@999999999999/virtualGateway/gw", "names two owners"},
		{"mesh/other/virtualGateway/gw", "the node's resource was not found"},
	} {
		t.Run(tc.id, func(t *testing.T) {
			c := newADS(t, conn, tc.id)
			c.start()
			st := streamEnd(t, c)
			if st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), tc.want) {
				t.Errorf("status %d %q, want 3 with %q", st.Code(), st.Message(), tc.want)
			}
		})
	}
	// The shared-mesh form of the Kubernetes controller, with this account.
	c := newADS(t, conn, "mesh/m@"+testAccount+"/virtualGateway/gw")
	c.start()
	c.until(5*time.Second, "the listener", func() bool { return c.hasListenerOn(8080) })
	if got := testutil.ToFloat64(h.srv.m.rejected.WithLabelValues("InvalidArgument")); got < 7 {
		t.Errorf("rejected streams counted: %v", got)
	}
}

// The node id is pinned for the stream's life.
func TestNodeIDChange(t *testing.T) {
	h := newHarness(t)
	h.basic("m", "gw", 8080)
	h.basic("n", "gw", 8080)
	c := newADS(t, dial(t, h.tcp), "mesh/m/virtualGateway/gw")
	c.start()
	c.until(5*time.Second, "the listener", func() bool { return c.hasListenerOn(8080) })
	c.send(&discovery.DiscoveryRequest{TypeUrl: resource.ClusterType, Node: &corev3.Node{Id: "mesh/n/virtualGateway/gw"}})
	if st := streamEnd(t, c); st.Code() != codes.PermissionDenied {
		t.Errorf("status %v, want PermissionDenied", st)
	}
}

// The unary Fetch methods check the node like streams do.
func TestFetchChecksNode(t *testing.T) {
	h := newHarness(t)
	h.basic("m", "gw", 8080)
	h.waitGatewayAt("mesh/m/virtualGateway/gw", "blue")
	client := clusterservice.NewClusterDiscoveryServiceClient(dial(t, h.tcp))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := client.FetchClusters(ctx, &discovery.DiscoveryRequest{Node: &corev3.Node{Id: "mesh/m/virtualGateway/nope"}})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("fetch for an unknown gateway: %v", err)
	}
	resp, err := client.FetchClusters(ctx, &discovery.DiscoveryRequest{Node: &corev3.Node{Id: "mesh/m/virtualGateway/gw"}})
	if err != nil || len(resp.GetResources()) != 1 {
		t.Errorf("fetch: %v, %d clusters", err, len(resp.GetResources()))
	}
}

// More proxies of one gateway than the quota: RESOURCE_EXHAUSTED, as App
// Mesh answered past 50 Envoys. Streams of one connection are one proxy.
func TestProxyQuota(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxProxiesPerGateway = 1 })
	h.basic("m", "gw", 8080)
	conn := dial(t, h.tcp)
	c := newADS(t, conn, "mesh/m/virtualGateway/gw")
	c.start()
	c.until(5*time.Second, "the listener", func() bool { return c.hasListenerOn(8080) })
	// A second stream on the same connection is the same proxy.
	same := newADS(t, conn, "mesh/m/virtualGateway/gw")
	same.start()
	same.until(5*time.Second, "the listener", func() bool { return same.hasListenerOn(8080) })

	other := newADS(t, dial(t, h.tcp), "mesh/m/virtualGateway/gw")
	other.start()
	if st := streamEnd(t, other); st.Code() != codes.ResourceExhausted {
		t.Errorf("status %v, want ResourceExhausted", st)
	}
	if got := testutil.ToFloat64(h.srv.m.proxies.WithLabelValues("mesh/m/virtualGateway/gw")); got != 1 {
		t.Errorf("connected proxies gauge: %v, want 1", got)
	}
}

// Deleting a gateway closes its proxies' streams with status 3.
func TestDeletedGateway(t *testing.T) {
	h := newHarness(t)
	h.basic("m", "gw", 8080)
	c := newADS(t, dial(t, h.tcp), "mesh/m/virtualGateway/gw")
	c.start()
	c.until(5*time.Second, "the listener", func() bool { return c.hasListenerOn(8080) })
	h.call("DELETE", "/v20190125/meshes/m/virtualGateway/gw/gatewayRoutes/color", "")
	h.call("DELETE", "/v20190125/meshes/m/virtualGateways/gw", "")
	st := streamEnd(t, c)
	if st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), "was deleted") {
		t.Errorf("status %d %q, want 3 and deleted", st.Code(), st.Message())
	}
	deadline := time.Now().Add(5 * time.Second)
	for testutil.ToFloat64(h.srv.m.proxies.WithLabelValues("mesh/m/virtualGateway/gw")) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the deleted gateway's proxy is still counted")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
