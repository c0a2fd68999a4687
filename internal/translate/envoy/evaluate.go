package envoy

import (
	"fmt"
	"maps"
	"strings"

	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	headermutation "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/header_mutation/v3"
	router "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcm "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
)

// The evaluator walks generated Envoy resources the way Envoy routes a
// request, so tests can hold the Envoy configuration to the same behaviour
// tables as the Go gateway without starting Envoy. It models what this
// package generates (and refuses, with an error, what it does not model):
// listener by port, filter chain, connection manager path normalization,
// RDS, virtual host by authority, first matching route, header mutations,
// host and path rewrites, weighted clusters, direct responses, and the
// loop through a static loopback cluster into another listener.

// Request is what a client sends. It has the fields of scenario.Request,
// in the same order, so one converts with envoy.Request(r).
type Request struct {
	Port    uint32            `json:"port"`
	Method  string            `json:"method,omitempty"` // default GET (POST for gRPC)
	Path    string            `json:"path"`             // with the query string
	Host    string            `json:"host,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
	GRPC    bool              `json:"grpc,omitempty"`
}

// Outcome is what Envoy does with a request.
type Outcome struct {
	// Status is 200 when the request reaches an upstream cluster, otherwise
	// the status Envoy answers with itself (404 no route, 503 no upstream).
	Status int
	// Cluster is the upstream chosen: the first target with a weight.
	Cluster string
	// Targets are every cluster the route can pick, weight > 0 only.
	Targets []Target
	// Path (with query) and Host as the upstream receives them.
	Path string
	Host string
	// Headers are the other request headers the upstream receives, lower case.
	Headers map[string]string
	// GRPCStatus is the grpc-status of Envoy's own answer to a gRPC request
	// (Envoy maps 404 to 12 UNIMPLEMENTED, 503 to 14 UNAVAILABLE).
	GRPCStatus int
	// Trace lists the listeners, virtual hosts and routes taken.
	Trace []string
}

// Target is one weighted cluster.
type Target struct {
	Cluster string
	Weight  uint32
}

// maxHops bounds loopback redirects, so a configuration that loops fails
// instead of hanging.
const maxHops = 4

// Evaluate routes req through res.
func Evaluate(res *Resources, req Request) (Outcome, error) {
	ev := newEvaluator(res)
	r := &request{
		method:    req.Method,
		path:      req.Path,
		authority: req.Host,
		headers:   map[string]string{},
	}
	for k, v := range req.Headers {
		r.headers[strings.ToLower(k)] = v
	}
	if r.method == "" {
		r.method = "GET"
	}
	if req.GRPC {
		r.method = "POST"
		r.headers["content-type"] = "application/grpc"
		r.headers["te"] = "trailers"
	}
	if !strings.HasPrefix(r.path, "/") {
		return Outcome{}, fmt.Errorf("path %q does not start with /", r.path)
	}
	out := Outcome{}
	if err := ev.serve("0.0.0.0", req.Port, r, &out, 0); err != nil {
		return out, err
	}
	if req.GRPC && out.Status != 200 {
		out.GRPCStatus = grpcStatus(out.Status)
	}
	return out, nil
}

type evaluator struct {
	listeners map[string]*listener.Listener // by "address:port"
	routes    map[string]*route.RouteConfiguration
	clusters  map[string]*cluster.Cluster
}

func newEvaluator(res *Resources) *evaluator {
	ev := &evaluator{listeners: map[string]*listener.Listener{}, routes: map[string]*route.RouteConfiguration{}, clusters: map[string]*cluster.Cluster{}}
	for _, x := range res.Listeners {
		if l, ok := x.(*listener.Listener); ok {
			sa := l.GetAddress().GetSocketAddress()
			ev.listeners[fmt.Sprintf("%s:%d", sa.GetAddress(), sa.GetPortValue())] = l
		}
	}
	for _, x := range res.Routes {
		if rc, ok := x.(*route.RouteConfiguration); ok {
			ev.routes[rc.GetName()] = rc
		}
	}
	for _, x := range res.Clusters {
		if c, ok := x.(*cluster.Cluster); ok {
			ev.clusters[c.GetName()] = c
		}
	}
	return ev
}

// request is the request as it stands at some point on its way.
type request struct {
	method, path, authority, scheme string
	headers                         map[string]string // regular headers, lower case
}

// header reads a header the way Envoy's matchers see it, pseudo-headers
// included.
func (r *request) header(name string) (string, bool) {
	switch name {
	case ":method":
		return r.method, true
	case ":path":
		return r.path, true
	case ":authority", "host":
		return r.authority, r.authority != ""
	case ":scheme":
		return r.scheme, true
	}
	v, ok := r.headers[name]
	return v, ok
}

// serve is one listener handling the request.
func (ev *evaluator) serve(addr string, port uint32, r *request, out *Outcome, hops int) error {
	if hops >= maxHops {
		return fmt.Errorf("more than %d loopback hops: the configuration loops", maxHops)
	}
	l := ev.listeners[fmt.Sprintf("%s:%d", addr, port)]
	if l == nil && addr != "0.0.0.0" {
		l = ev.listeners[fmt.Sprintf("0.0.0.0:%d", port)] // a wildcard listener takes loopback traffic
	}
	if l == nil {
		return fmt.Errorf("no listener on %s:%d (connection refused)", addr, port)
	}
	out.Trace = append(out.Trace, "listener "+l.GetName())
	chain, scheme := pickChain(l)
	if chain == nil {
		return fmt.Errorf("listener %s has no filter chain", l.GetName())
	}
	r.scheme = scheme
	m, err := connectionManager(chain)
	if err != nil {
		return fmt.Errorf("listener %s: %w", l.GetName(), err)
	}
	if m.GetNormalizePath().GetValue() {
		r.path = normalizePath(r.path)
	}
	if m.GetMergeSlashes() {
		r.path = mergeSlashes(r.path)
	}
	if m.GetUseRemoteAddress().GetValue() {
		r.headers["x-forwarded-proto"] = r.scheme // an edge proxy overwrites it
	} else if _, ok := r.headers["x-forwarded-proto"]; !ok {
		r.headers["x-forwarded-proto"] = r.scheme
	}
	rds := m.GetRds().GetRouteConfigName()
	rc := ev.routes[rds]
	if rc == nil {
		return fmt.Errorf("listener %s: route configuration %q does not exist", l.GetName(), rds)
	}
	vh := pickVirtualHost(rc, r.authority, m.GetStripAnyHostPort())
	if vh == nil {
		out.Trace = append(out.Trace, "no virtual host in "+rc.GetName())
		out.Status = 404
		return nil
	}
	out.Trace = append(out.Trace, "virtual host "+vh.GetName())
	rt, err := pickRoute(vh, r)
	if err != nil {
		return fmt.Errorf("route configuration %s, virtual host %s: %w", rc.GetName(), vh.GetName(), err)
	}
	if rt == nil {
		out.Trace = append(out.Trace, "no route")
		out.Status = 404
		return nil
	}
	out.Trace = append(out.Trace, "route "+rt.GetName())
	if d := rt.GetDirectResponse(); d != nil {
		out.Status = int(d.GetStatus())
		return nil
	}
	a := rt.GetRoute()
	if a == nil {
		return fmt.Errorf("route %q has neither a route action nor a direct response", rt.GetName())
	}
	if err := finalizeRequest(r, rt, vh, rc); err != nil {
		return fmt.Errorf("route %q: %w", rt.GetName(), err)
	}
	targets := routeTargets(a)
	if len(targets) == 0 {
		return fmt.Errorf("route %q: no cluster with a weight", rt.GetName())
	}
	c := ev.clusters[targets[0].Cluster]
	if c == nil {
		out.Status = 503 // cluster_not_found_response_code's default
		return nil
	}
	if err := upstreamFilters(m, r); err != nil {
		return fmt.Errorf("listener %s: %w", l.GetName(), err)
	}
	if hop, ok := loopback(c); ok {
		if len(targets) > 1 {
			return fmt.Errorf("route %q splits between a loopback and other clusters", rt.GetName())
		}
		out.Trace = append(out.Trace, "cluster "+c.GetName())
		return ev.serve("127.0.0.1", hop, r, out, hops+1)
	}
	for _, t := range targets {
		if ev.clusters[t.Cluster] == nil {
			return fmt.Errorf("route %q: cluster %q does not exist", rt.GetName(), t.Cluster)
		}
	}
	out.Status = 200
	out.Cluster = targets[0].Cluster
	out.Targets = targets
	out.Path = r.path
	out.Host = r.authority
	out.Headers = maps.Clone(r.headers)
	return nil
}

// pickChain is the chain a client gets: plaintext when the listener takes
// it, otherwise TLS (the client is assumed to speak what the port wants).
func pickChain(l *listener.Listener) (*listener.FilterChain, string) {
	var tls *listener.FilterChain
	for _, fc := range l.GetFilterChains() {
		if fc.GetTransportSocket() == nil {
			return fc, "http"
		}
		if tls == nil {
			tls = fc
		}
	}
	return tls, "https"
}

func connectionManager(fc *listener.FilterChain) (*hcm.HttpConnectionManager, error) {
	for _, f := range fc.GetFilters() {
		m := &hcm.HttpConnectionManager{}
		if f.GetTypedConfig() != nil && f.GetTypedConfig().UnmarshalTo(m) == nil {
			if m.GetRds() == nil {
				return nil, fmt.Errorf("connection manager without RDS (not modelled)")
			}
			return m, nil
		}
	}
	return nil, fmt.Errorf("no HTTP connection manager")
}

// routeTargets are the clusters of a route action with a weight.
func routeTargets(a *route.RouteAction) []Target {
	if c := a.GetCluster(); c != "" {
		return []Target{{Cluster: c, Weight: 1}}
	}
	var out []Target
	for _, w := range a.GetWeightedClusters().GetClusters() {
		if w.GetWeight().GetValue() > 0 {
			out = append(out, Target{Cluster: w.GetName(), Weight: w.GetWeight().GetValue()})
		}
	}
	return out
}

// loopback is the port of a static cluster that points back into this
// Envoy.
func loopback(c *cluster.Cluster) (uint32, bool) {
	if c.GetType() != cluster.Cluster_STATIC {
		return 0, false
	}
	for _, lep := range c.GetLoadAssignment().GetEndpoints() {
		for _, ep := range lep.GetLbEndpoints() {
			sa := ep.GetEndpoint().GetAddress().GetSocketAddress()
			if sa.GetAddress() == "127.0.0.1" {
				return sa.GetPortValue(), true
			}
		}
	}
	return 0, false
}

// upstreamFilters applies the router's upstream filters to the request on
// its way out (header removals; the codec filter sends it).
func upstreamFilters(m *hcm.HttpConnectionManager, r *request) error {
	for _, f := range m.GetHttpFilters() {
		rt := &router.Router{}
		if f.GetTypedConfig() == nil || f.GetTypedConfig().UnmarshalTo(rt) != nil {
			continue
		}
		for _, uf := range rt.GetUpstreamHttpFilters() {
			hm := &headermutation.HeaderMutation{}
			if uf.GetTypedConfig() == nil || uf.GetTypedConfig().UnmarshalTo(hm) != nil {
				continue // the upstream codec
			}
			for _, mu := range hm.GetMutations().GetRequestMutations() {
				name := mu.GetRemove()
				if name == "" {
					return fmt.Errorf("upstream header mutation other than remove (not modelled)")
				}
				delete(r.headers, strings.ToLower(name))
			}
		}
	}
	return nil
}

// grpcStatus is Envoy's mapping of its own HTTP answers to gRPC statuses
// (Grpc::Utility::httpToGrpcStatus).
func grpcStatus(http int) int {
	switch http {
	case 400:
		return 13 // INTERNAL
	case 401:
		return 16 // UNAUTHENTICATED
	case 403:
		return 7 // PERMISSION_DENIED
	case 404:
		return 12 // UNIMPLEMENTED
	case 429, 502, 503, 504:
		return 14 // UNAVAILABLE
	}
	return 2 // UNKNOWN
}
