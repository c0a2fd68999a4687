package translate

import (
	"cmp"
	"slices"
	"time"

	"github.com/meshgate/meshgate/internal/appmesh"
	"github.com/meshgate/meshgate/internal/ir"
	"github.com/meshgate/meshgate/internal/model"
)

// App Mesh's defaults for a route without its own (reference §6.3,
// UG:envoy-defaults and UG:routes).
const (
	defaultTimeout     = ir.Duration(15 * time.Second)
	defaultIdleTimeout = ir.Duration(300 * time.Second)
	defaultMaxRetries  = 2
)

type serviceKey struct {
	name string
	port uint32
}

// serviceSet collects the (virtual service, port) pairs gateway routes
// target and builds their router stage and the clusters it uses.
type serviceSet struct {
	m        *model.Gateway
	seen     map[serviceKey]bool
	keys     []serviceKey
	clusters map[string]ir.Cluster
}

func (s *serviceSet) add(name string, port uint32) {
	k := serviceKey{name, port}
	if !s.seen[k] {
		s.seen[k] = true
		s.keys = append(s.keys, k)
	}
}

func (s *serviceSet) build() ([]ir.Service, []ir.Cluster) {
	s.clusters = map[string]ir.Cluster{}
	slices.SortFunc(s.keys, func(a, b serviceKey) int { return cmp.Or(cmp.Compare(a.name, b.name), cmp.Compare(a.port, b.port)) })
	var services []ir.Service
	for _, k := range s.keys {
		services = append(services, s.service(k))
	}
	var clusters []ir.Cluster
	for _, c := range s.clusters {
		clusters = append(clusters, c)
	}
	slices.SortFunc(clusters, func(a, b ir.Cluster) int { return cmp.Compare(a.Name, b.Name) })
	return services, clusters
}

// service resolves the router stage of one virtual service on one port. A
// service whose provider is missing, or has no listener on the port, gets
// no provider: requests to it fail with 503.
func (s *serviceSet) service(k serviceKey) ir.Service {
	out := ir.Service{Name: k.name, Port: k.port}
	vs, ok := s.m.Services[k.name]
	if !ok || vs.Spec.Provider == nil {
		return out
	}
	switch p := vs.Spec.Provider; {
	case p.VirtualNode != nil:
		node := *p.VirtualNode.VirtualNodeName
		c, ok := s.cluster(node, k.port)
		if !ok {
			return out
		}
		out.Provider, out.Protocol = "virtualNode/"+node, c.Protocol
		out.Routes = []ir.Route{{
			Targets: []ir.WeightedTarget{{Cluster: c.Name, Weight: 1}},
			Retry:   defaultRetry(c.Protocol),
			Timeout: defaultTimeout, IdleTimeout: defaultIdleTimeout,
		}}
	case p.VirtualRouter != nil:
		name := *p.VirtualRouter.VirtualRouterName
		vr, ok := s.m.Routers[name]
		if !ok {
			return out
		}
		var protocol ir.Protocol
		for _, l := range vr.Spec.Listeners {
			if uint32(*l.PortMapping.Port) == k.port {
				protocol = ir.Protocol(*l.PortMapping.Protocol)
			}
		}
		if protocol == "" {
			return out
		}
		out.Provider, out.Protocol = "virtualRouter/"+name, protocol
		var rs []ordered[ir.Route]
		for _, r := range s.m.Routes[name] {
			if route, prio, ok := s.route(r.Name, r.Spec, k.port, protocol, len(vr.Spec.Listeners)); ok {
				rs = append(rs, ordered[ir.Route]{priority: prio, name: r.Name, match: route.Match, route: route})
			}
		}
		out.Routes = sortRoutes(rs)
	}
	return out
}

// route converts a router route if it serves the listener on port.
func (s *serviceSet) route(name string, spec *appmesh.RouteSpec, port uint32, protocol ir.Protocol, listeners int) (ir.Route, int64, bool) {
	out := ir.Route{Name: name, Timeout: defaultTimeout, IdleTimeout: defaultIdleTimeout}
	var matchPort *int64
	var targets []appmesh.WeightedTarget
	var timeout *appmesh.HttpTimeout
	var routeProtocol ir.Protocol
	switch {
	case spec.HttpRoute != nil || spec.Http2Route != nil:
		r, p := spec.HttpRoute, ir.HTTP
		if r == nil {
			r, p = spec.Http2Route, ir.HTTP2
		}
		routeProtocol, matchPort, targets, timeout = p, r.Match.Port, r.Action.WeightedTargets, r.Timeout
		pathMatch(&out.Match, r.Match.Prefix, r.Match.Path)
		out.Match.Method, out.Match.Scheme = deref(r.Match.Method), deref(r.Match.Scheme)
		for _, h := range r.Match.Headers {
			out.Match.Headers = append(out.Match.Headers, headerMatch(h.Name, h.Invert, h.Match))
		}
		out.Match.Query = queryMatches(r.Match.QueryParameters)
		if rp := r.RetryPolicy; rp != nil {
			out.Retry = retry(rp.MaxRetries, rp.PerRetryTimeout, rp.HttpRetryEvents, rp.TcpRetryEvents, nil)
		}
	case spec.GrpcRoute != nil:
		r := spec.GrpcRoute
		routeProtocol, targets = ir.GRPC, r.Action.WeightedTargets
		if r.Match != nil {
			matchPort = r.Match.Port
			grpcPath(&out.Match, r.Match.ServiceName, r.Match.MethodName)
			for _, md := range r.Match.Metadata {
				var mm *appmesh.HeaderMatchMethod
				if md.Match != nil {
					mm = (*appmesh.HeaderMatchMethod)(md.Match)
				}
				out.Match.Headers = append(out.Match.Headers, headerMatch(md.Name, md.Invert, mm))
			}
		}
		if r.Timeout != nil {
			timeout = &appmesh.HttpTimeout{Idle: r.Timeout.Idle, PerRequest: r.Timeout.PerRequest}
		}
		if rp := r.RetryPolicy; rp != nil {
			out.Retry = retry(rp.MaxRetries, rp.PerRetryTimeout, rp.HttpRetryEvents, rp.TcpRetryEvents, rp.GrpcRetryEvents)
		}
	default:
		// tcpRoute: a virtual gateway has no tcp listeners, so a router
		// listener reached from a gateway route is never tcp.
		return out, 0, false
	}
	if routeProtocol != protocol || (matchPort == nil && listeners > 1) || (matchPort != nil && uint32(*matchPort) != port) {
		return out, 0, false
	}
	if timeout != nil {
		if timeout.PerRequest != nil {
			out.Timeout = duration(timeout.PerRequest)
		}
		if timeout.Idle != nil {
			out.IdleTimeout = duration(timeout.Idle)
		}
	}
	for _, t := range targets {
		node := *t.VirtualNode
		var tport uint32
		if t.Port != nil {
			tport = uint32(*t.Port)
		} else if ls := nodeListeners(s.m, node); len(ls) == 1 {
			tport = ls[0].port
		}
		c, ok := s.cluster(node, tport)
		if !ok {
			continue // the node or its listener is gone: its share is not routed
		}
		out.Targets = append(out.Targets, ir.WeightedTarget{Cluster: c.Name, Weight: uint32(*t.Weight)})
	}
	prio := int64(unprioritised)
	if spec.Priority != nil {
		prio = *spec.Priority
	}
	return out, prio, true
}

// defaultRetry is the retry policy App Mesh gives the implicit route to a
// node provider: two retries on connection failures, refused or reset
// streams, 503, and (gRPC) UNAVAILABLE.
func defaultRetry(p ir.Protocol) *ir.RetryPolicy {
	r := &ir.RetryPolicy{MaxRetries: defaultMaxRetries, HTTPEvents: []string{"stream-error"},
		TCPEvents: []string{"connection-error"}, StatusCodes: []uint32{503}}
	if p == ir.GRPC {
		r.GRPCEvents = []string{"unavailable"}
	}
	return r
}

func retry(max *int64, perTry *appmesh.Duration, http, tcp, grpc []string) *ir.RetryPolicy {
	return &ir.RetryPolicy{MaxRetries: u32(max), PerTryTimeout: duration(perTry),
		HTTPEvents: slices.Clone(http), TCPEvents: slices.Clone(tcp), GRPCEvents: slices.Clone(grpc)}
}

// duration converts an API duration; the rules guarantee value and unit.
func duration(d *appmesh.Duration) ir.Duration {
	if d == nil || d.Value == nil {
		return 0
	}
	unit := time.Second
	if deref(d.Unit) == "ms" {
		unit = time.Millisecond
	}
	return ir.Duration(time.Duration(*d.Value) * unit)
}

type portProtocol struct {
	port     uint32
	protocol ir.Protocol
}

func nodeListeners(m *model.Gateway, node string) []portProtocol {
	n, ok := m.Nodes[node]
	if !ok {
		return nil
	}
	var out []portProtocol
	for _, l := range n.Spec.Listeners {
		out = append(out, portProtocol{uint32(*l.PortMapping.Port), ir.Protocol(*l.PortMapping.Protocol)})
	}
	return out
}

// providerListeners returns the listeners of a virtual service's provider.
func providerListeners(m *model.Gateway, service string) []portProtocol {
	vs, ok := m.Services[service]
	if !ok || vs.Spec.Provider == nil {
		return nil
	}
	if p := vs.Spec.Provider.VirtualNode; p != nil {
		return nodeListeners(m, *p.VirtualNodeName)
	}
	vr, ok := m.Routers[*vs.Spec.Provider.VirtualRouter.VirtualRouterName]
	if !ok {
		return nil
	}
	var out []portProtocol
	for _, l := range vr.Spec.Listeners {
		out = append(out, portProtocol{uint32(*l.PortMapping.Port), ir.Protocol(*l.PortMapping.Protocol)})
	}
	return out
}
