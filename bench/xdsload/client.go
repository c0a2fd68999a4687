package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"github.com/meshgate/meshgate/internal/xds/gwconfig"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// kind is what a load client imitates.
type kind int

const (
	// envoyKind behaves like Envoy at boot: wildcard CDS and LDS over ADS,
	// then EDS for the EDS clusters' names and RDS for the listeners' route
	// configurations, ACKing every response.
	envoyKind kind = iota
	// gatewayKind behaves like `meshgate gateway` (internal/gateway/
	// configclient): one subscription to its own GatewayConfig.
	gatewayKind
)

func (k kind) String() string {
	if k == gatewayKind {
		return "gateway"
	}
	return "envoy"
}

// client is one ADS client: a goroutine with its own gRPC connection (or a
// shared one in the -shared-conns experiment) and one ADS stream at a time,
// identified as node.id mesh/M/virtualGateway/G like the App Mesh Envoy image
// (APPMESH_RESOURCE_ARN) and meshgate gateway do.
type client struct {
	idx    int
	gw     int // index of its virtual gateway
	kind   kind
	nodeID string // short ARN of the gateway
	target string // 127.0.0.1:PORT of the xDS server
	shared *grpc.ClientConn
	notify chan struct{} // poked (non-blocking) when sig changes

	mu       sync.Mutex
	versions map[string]string    // by type URL: the last version ACKed
	seenAt   map[string]time.Time // by type URL: when that version arrived
	sig      string               // the versions of every type, as one string
	sigAt    time.Time            // when sig last changed
	need     map[string]bool      // the types a complete config holds
	live     bool                 // the current session has received a response
	cancel   context.CancelFunc   // ends the current session
	restart  bool                 // the session was ended on purpose: reconnect at once

	responses atomic.Int64 // every response received
	sessions  atomic.Int64 // streams opened
	refused   atomic.Int64 // sessions refused with RESOURCE_EXHAUSTED (proxy quota)
	failures  atomic.Int64 // other session ends (not asked for)
	lastErr   atomic.Pointer[string]

	errMu  sync.Mutex
	errors map[string]int64 // session ends not asked for, by reason
}

func newClient(idx, gw int, k kind, nodeID, target string, shared *grpc.ClientConn, notify chan struct{}) *client {
	return &client{idx: idx, gw: gw, kind: k, nodeID: nodeID, target: target, shared: shared, notify: notify,
		versions: map[string]string{}, seenAt: map[string]time.Time{}, need: map[string]bool{}}
}

// run keeps a session open until ctx ends, reconnecting with jittered
// back-off like Envoy and configclient do.
func (c *client) run(ctx context.Context) {
	const minBackoff, maxBackoff = 50 * time.Millisecond, 2 * time.Second
	backoff := minBackoff
	for ctx.Err() == nil {
		start := time.Now()
		err := c.session(ctx)
		if ctx.Err() != nil {
			return
		}
		c.mu.Lock()
		restart := c.restart
		c.restart, c.live = false, false
		c.mu.Unlock()
		if restart {
			backoff = minBackoff
			continue
		}
		if status.Code(err) == codes.ResourceExhausted {
			c.refused.Add(1)
		} else {
			c.failures.Add(1)
		}
		msg := err.Error()
		c.lastErr.Store(&msg)
		c.errMu.Lock()
		if c.errors == nil {
			c.errors = map[string]int64{}
		}
		c.errors[reason(err)]++
		c.errMu.Unlock()
		if time.Since(start) > 10*time.Second {
			backoff = minBackoff
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		backoff = min(backoff*2, maxBackoff)
	}
}

// reconnect ends the current session and opens a new one as a restarted
// proxy would: new connection, new stream, no versions remembered.
func (c *client) reconnect() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cancel != nil {
		c.restart = true
		c.cancel()
	}
}

type subscription struct {
	names          []string
	version, nonce string
}

// session runs one ADS stream until it ends.
func (c *client) session(ctx context.Context) error {
	conn := c.shared
	if conn == nil {
		var err error
		conn, err = grpc.NewClient("passthrough:///"+c.target, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return err
		}
		defer conn.Close()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c.mu.Lock()
	c.cancel = cancel
	c.mu.Unlock()

	stream, err := discovery.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(ctx)
	if err != nil {
		return err
	}
	c.sessions.Add(1)
	subs := map[string]*subscription{}
	node := &corev3.Node{Id: c.nodeID, Cluster: c.nodeID, UserAgentName: "xdsload"}
	send := func(typeURL string, names []string) error {
		s := subs[typeURL]
		if s == nil {
			s = &subscription{}
			subs[typeURL] = s
		}
		s.names = names
		req := &discovery.DiscoveryRequest{TypeUrl: typeURL, ResourceNames: names, VersionInfo: s.version, ResponseNonce: s.nonce}
		if node != nil {
			req.Node, node = node, nil
		}
		return stream.Send(req)
	}
	if c.kind == gatewayKind {
		c.setNeed(gwconfig.Type, true)
		if err := send(gwconfig.Type, []string{c.nodeID}); err != nil {
			return err
		}
	} else {
		c.setNeed(resource.ClusterType, true)
		c.setNeed(resource.ListenerType, true)
		if err := send(resource.ClusterType, nil); err != nil {
			return err
		}
		if err := send(resource.ListenerType, nil); err != nil {
			return err
		}
	}
	for {
		resp, err := stream.Recv()
		if err != nil {
			return err
		}
		now := time.Now()
		c.responses.Add(1)
		t := resp.GetTypeUrl()
		s := subs[t]
		if s == nil {
			return fmt.Errorf("response of type %s that was never requested", t)
		}
		s.nonce, s.version = resp.GetNonce(), resp.GetVersionInfo()
		// ACK first, as Envoy does once it applied the response.
		if err := send(t, s.names); err != nil {
			return err
		}
		var follow string
		var names []string
		switch t {
		case resource.ClusterType:
			follow = resource.EndpointType
			names, err = edsNames(resp)
		case resource.ListenerType:
			follow = resource.RouteType
			names, err = rdsNames(resp)
		}
		if err != nil {
			return err
		}
		if follow != "" {
			c.setNeed(follow, len(names) > 0)
			if len(names) > 0 && (subs[follow] == nil || !slices.Equal(subs[follow].names, names)) {
				if err := send(follow, names); err != nil {
					return err
				}
			}
		}
		c.record(t, s.version, now)
	}
}

var gwNumber = regexp.MustCompile(`gw[0-9]+`)

// reason groups session errors: the gRPC code and message, gateway names
// left out.
func reason(err error) string {
	st := status.Convert(err)
	msg := gwNumber.ReplaceAllString(st.Message(), "gwNN")
	if len(msg) > 160 {
		msg = msg[:160]
	}
	return st.Code().String() + ": " + msg
}

func (c *client) setNeed(typeURL string, on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if on {
		c.need[typeURL] = true
	} else {
		delete(c.need, typeURL)
	}
}

// record notes a version received at t.
func (c *client) record(typeURL, version string, t time.Time) {
	c.mu.Lock()
	c.live = true
	changed := false
	if c.versions[typeURL] != version {
		c.versions[typeURL], c.seenAt[typeURL] = version, t
		sig := signature(c.versions)
		if sig != c.sig {
			c.sig, c.sigAt, changed = sig, t, true
		}
	}
	c.mu.Unlock()
	if changed {
		select {
		case c.notify <- struct{}{}:
		default:
		}
	}
}

func signature(v map[string]string) string {
	var b strings.Builder
	for _, t := range slices.Sorted(maps.Keys(v)) {
		b.WriteString(t[strings.LastIndexByte(t, '.')+1:])
		b.WriteByte('=')
		b.WriteString(v[t])
		b.WriteByte(';')
	}
	return b.String()
}

// state is a consistent copy of what the client has.
type state struct {
	sig      string
	sigAt    time.Time
	complete bool // every type a full configuration needs has arrived
	live     bool
	versions map[string]string
}

func (c *client) state() state {
	c.mu.Lock()
	defer c.mu.Unlock()
	complete := len(c.need) > 0
	for t := range c.need {
		if c.versions[t] == "" {
			complete = false
		}
	}
	return state{sig: c.sig, sigAt: c.sigAt, complete: complete, live: c.live, versions: maps.Clone(c.versions)}
}

// edsNames are the EDS service names of a CDS response's EDS clusters.
func edsNames(resp *discovery.DiscoveryResponse) ([]string, error) {
	var out []string
	for _, a := range resp.GetResources() {
		cl := &clusterv3.Cluster{}
		if err := a.UnmarshalTo(cl); err != nil {
			return nil, fmt.Errorf("cluster: %w", err)
		}
		if cl.GetType() == clusterv3.Cluster_EDS {
			out = append(out, cmp.Or(cl.GetEdsClusterConfig().GetServiceName(), cl.GetName()))
		}
	}
	sort.Strings(out)
	return out, nil
}

// rdsNames are the route configurations an LDS response's listeners use.
func rdsNames(resp *discovery.DiscoveryResponse) ([]string, error) {
	set := map[string]bool{}
	for _, a := range resp.GetResources() {
		l := &listenerv3.Listener{}
		if err := a.UnmarshalTo(l); err != nil {
			return nil, fmt.Errorf("listener: %w", err)
		}
		for _, fc := range l.GetFilterChains() {
			for _, f := range fc.GetFilters() {
				hcm := &hcmv3.HttpConnectionManager{}
				if f.GetTypedConfig().MessageIs(hcm) {
					if err := f.GetTypedConfig().UnmarshalTo(hcm); err != nil {
						return nil, errors.New("http connection manager: " + err.Error())
					}
					if n := hcm.GetRds().GetRouteConfigName(); n != "" {
						set[n] = true
					}
				}
			}
		}
	}
	return slices.Sorted(maps.Keys(set)), nil
}
