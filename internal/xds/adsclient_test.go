package xds

import (
	"cmp"
	"context"
	"io"
	"maps"
	"slices"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
)

// dial connects to target ("127.0.0.1:PORT" or "unix:///path"), plaintext
// unless opts say otherwise.
func dial(t *testing.T, target string, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	if len(opts) == 0 {
		opts = []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	}
	conn, err := grpc.NewClient(target, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// adsClient is a state-of-the-world ADS client that behaves like Envoy:
// wildcard CDS and LDS, then EDS for the clusters' names and RDS for the
// listeners' route configurations, ACKing each response. Responses are
// processed only when the test pumps them (until, next), so a test sees
// every response in order.
type adsClient struct {
	t        *testing.T
	stream   discovery.AggregatedDiscoveryService_StreamAggregatedResourcesClient
	cancel   context.CancelFunc
	node     *corev3.Node
	nodeSent bool
	resps    chan *discovery.DiscoveryResponse
	end      chan error
	done     chan struct{}

	subs     map[string]*subscription
	res      map[string]map[string]proto.Message // what the client has, by type and name
	log      []*discovery.DiscoveryResponse
	nackNext map[string]string // type URL → the error to reject its next response with
}

type subscription struct {
	names          []string
	version, nonce string
}

func newADS(t *testing.T, conn *grpc.ClientConn, nodeID string, ctxs ...context.Context) *adsClient {
	t.Helper()
	parent := context.Background()
	if len(ctxs) > 0 {
		parent = ctxs[0]
	}
	ctx, cancel := context.WithCancel(parent)
	stream, err := discovery.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(ctx)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	c := &adsClient{t: t, stream: stream, cancel: cancel, node: &corev3.Node{Id: nodeID, Cluster: "test-cluster"},
		resps: make(chan *discovery.DiscoveryResponse, 64), end: make(chan error, 1), done: make(chan struct{}),
		subs: map[string]*subscription{}, res: map[string]map[string]proto.Message{}, nackNext: map[string]string{}}
	go func() {
		defer close(c.done)
		for {
			r, err := stream.Recv()
			if err != nil {
				c.end <- err
				return
			}
			select {
			case c.resps <- r:
			case <-ctx.Done():
				c.end <- ctx.Err()
				return
			}
		}
	}()
	t.Cleanup(c.close)
	return c
}

func (c *adsClient) close() {
	c.cancel()
	<-c.done
}

// start subscribes like Envoy at boot.
func (c *adsClient) start() {
	c.request(resource.ClusterType, nil)
	c.request(resource.ListenerType, nil)
}

// request (re)subscribes to a type with the last version and nonce.
func (c *adsClient) request(typeURL string, names []string) {
	s := c.subs[typeURL]
	if s == nil {
		s = &subscription{}
		c.subs[typeURL] = s
	}
	s.names = names
	c.send(&discovery.DiscoveryRequest{TypeUrl: typeURL, ResourceNames: names, VersionInfo: s.version, ResponseNonce: s.nonce})
}

func (c *adsClient) send(req *discovery.DiscoveryRequest) {
	c.t.Helper()
	if !c.nodeSent {
		req.Node, c.nodeSent = c.node, true
	}
	// After the server closed the stream Send says io.EOF; the status
	// comes from Recv, where the test looks for it.
	if err := c.stream.Send(req); err != nil && err != io.EOF {
		c.t.Fatalf("send %s: %v", req.GetTypeUrl(), err)
	}
}

// next returns the next response, errTimeout, or the stream's end.
func (c *adsClient) next(d time.Duration) (*discovery.DiscoveryResponse, error) {
	select {
	case r := <-c.resps:
		return r, nil
	case err := <-c.end:
		c.end <- err // keep it for the next caller
		return nil, err
	case <-time.After(d):
		return nil, errTimeout
	}
}

// handle processes a response as Envoy does.
func (c *adsClient) handle(r *discovery.DiscoveryResponse) {
	c.t.Helper()
	c.log = append(c.log, r)
	t := r.GetTypeUrl()
	s := c.subs[t]
	if s == nil {
		c.t.Fatalf("response of type %s that was never requested", t)
	}
	s.nonce = r.GetNonce()
	if msg, ok := c.nackNext[t]; ok {
		delete(c.nackNext, t)
		c.send(&discovery.DiscoveryRequest{TypeUrl: t, ResourceNames: s.names, VersionInfo: s.version, ResponseNonce: s.nonce,
			ErrorDetail: &rpcstatus.Status{Code: 3, Message: msg}})
		return
	}
	got := map[string]proto.Message{}
	for _, a := range r.GetResources() {
		m, err := a.UnmarshalNew()
		if err != nil {
			c.t.Fatalf("%s: %v", t, err)
		}
		got[nameOf(m)] = m
	}
	c.res[t] = got
	s.version = r.GetVersionInfo()
	c.send(&discovery.DiscoveryRequest{TypeUrl: t, ResourceNames: s.names, VersionInfo: s.version, ResponseNonce: s.nonce})
	switch t {
	case resource.ClusterType:
		c.follow(resource.EndpointType, edsNames(got))
	case resource.ListenerType:
		c.follow(resource.RouteType, rdsNames(got))
	}
}

// follow subscribes to the names a CDS or LDS response refers to.
func (c *adsClient) follow(typeURL string, names []string) {
	s := c.subs[typeURL]
	if s == nil && len(names) == 0 {
		return
	}
	if s != nil && slices.Equal(s.names, names) {
		return
	}
	c.request(typeURL, names)
}

// until pumps responses until cond holds.
func (c *adsClient) until(d time.Duration, what string, cond func() bool) {
	c.t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		r, err := c.next(time.Until(deadline))
		if err != nil {
			c.t.Fatalf("waiting for %s: %v", what, err)
		}
		c.handle(r)
	}
}

// settle pumps responses until none arrives for d.
func (c *adsClient) settle(d time.Duration) {
	c.t.Helper()
	for {
		r, err := c.next(d)
		if err == errTimeout {
			return
		}
		if err != nil {
			c.t.Fatalf("settle: %v", err)
		}
		c.handle(r)
	}
}

// quiet fails if any response arrives within d.
func (c *adsClient) quiet(d time.Duration, why string) {
	c.t.Helper()
	r, err := c.next(d)
	if err == nil {
		c.t.Fatalf("%s: got a %s response (version %s)", why, typeName(r.GetTypeUrl()), r.GetVersionInfo())
	}
	if err != errTimeout {
		c.t.Fatalf("%s: %v", why, err)
	}
}

// hasListenerOn reports whether the client has a listener on port.
func (c *adsClient) hasListenerOn(port uint32) bool {
	for _, m := range c.res[resource.ListenerType] {
		if m.(*listenerv3.Listener).GetAddress().GetSocketAddress().GetPortValue() == port {
			return true
		}
	}
	return false
}

// routedClusters are the clusters the client's route configurations use.
func (c *adsClient) routedClusters() map[string]bool {
	return routeClusters(slices.Collect(maps.Values(c.res[resource.RouteType]))...)
}

func routeClusters(rcs ...proto.Message) map[string]bool {
	out := map[string]bool{}
	for _, m := range rcs {
		for _, vh := range rc(m).GetVirtualHosts() {
			for _, r := range vh.GetRoutes() {
				if n := r.GetRoute().GetCluster(); n != "" {
					out[n] = true
				}
				for _, w := range r.GetRoute().GetWeightedClusters().GetClusters() {
					out[w.GetName()] = true
				}
			}
		}
	}
	return out
}

// edsNames are the EDS service names of clusters, sorted.
func edsNames(clusters map[string]proto.Message) []string {
	var out []string
	for _, m := range clusters {
		cl := m.(*clusterv3.Cluster)
		if cl.GetType() == clusterv3.Cluster_EDS {
			out = append(out, cmp.Or(cl.GetEdsClusterConfig().GetServiceName(), cl.GetName()))
		}
	}
	slices.Sort(out)
	return out
}

// rdsNames are the route configurations listeners use over RDS, sorted.
func rdsNames(listeners map[string]proto.Message) []string {
	set := map[string]bool{}
	for _, m := range listeners {
		for _, fc := range m.(*listenerv3.Listener).GetFilterChains() {
			for _, f := range fc.GetFilters() {
				hcm := &hcmv3.HttpConnectionManager{}
				if f.GetTypedConfig().MessageIs(hcm) && f.GetTypedConfig().UnmarshalTo(hcm) == nil {
					if n := hcm.GetRds().GetRouteConfigName(); n != "" {
						set[n] = true
					}
				}
			}
		}
	}
	return slices.Sorted(maps.Keys(set))
}

func rc(m proto.Message) *routev3.RouteConfiguration { return m.(*routev3.RouteConfiguration) }
