package translate

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/meshgate/meshgate/internal/appmesh"
	"github.com/meshgate/meshgate/internal/ir"
	"github.com/meshgate/meshgate/internal/model"
)

// Gateway translates one gateway snapshot into its IR. Gateway routes that
// no longer fit the gateway (a listener removed since) are left out rather
// than failing the whole gateway; the API keeps that from happening.
func Gateway(m *model.Gateway) (*ir.Gateway, error) {
	spec := m.Gateway.Spec
	g := &ir.Gateway{Mesh: m.Mesh, Name: m.Gateway.Name, UID: m.Gateway.UID}
	for _, l := range spec.Listeners {
		g.Listeners = append(g.Listeners, listener(l))
	}
	slices.SortFunc(g.Listeners, func(a, b ir.Listener) int { return cmp.Compare(a.Port, b.Port) })

	// Gateway routes, grouped by listener and hostname.
	type hostKey struct {
		port uint32
		host string // "*", "www.example.com" or "*.example.com"
	}
	byHost := map[hostKey][]ordered[ir.GatewayRoute]{}
	targets := &serviceSet{m: m, seen: map[serviceKey]bool{}}
	for _, r := range m.GatewayRoutes {
		l, ok := listenerFor(g.Listeners, r.Spec)
		if !ok {
			continue
		}
		gr, host, prio := gatewayRoute(m, r.Name, r.Spec, l)
		targets.add(gr.Action.Service, gr.Action.Port)
		k := hostKey{l.Port, host}
		byHost[k] = append(byHost[k], ordered[ir.GatewayRoute]{priority: prio, name: r.Name, match: gr.Match, route: gr})
	}
	for i := range g.Listeners {
		l := &g.Listeners[i]
		hosts := []string{"*"}
		for k := range byHost {
			if k.port == l.Port && k.host != "*" {
				hosts = append(hosts, k.host)
			}
		}
		slices.SortFunc(hosts, hostOrder)
		for _, h := range hosts {
			l.VirtualHosts = append(l.VirtualHosts, ir.VirtualHost{
				Name:    fmt.Sprintf("ingress_%d_%s", l.Port, h),
				Domains: []string{h},
				Routes:  sortRoutes(byHost[hostKey{l.Port, h}]),
			})
		}
		if l.VirtualHosts[0].Routes == nil {
			l.VirtualHosts[0].Routes = []ir.GatewayRoute{}
		}
	}
	g.Services, g.Clusters = targets.build()
	g.AccessLog = accessLog(spec.Logging)
	return g, nil
}

// hostOrder is Envoy's virtual-host precedence: exact domains first, then
// suffix wildcards longest first, then "*".
func hostOrder(a, b string) int {
	rank := func(h string) int {
		switch {
		case h == "*":
			return 2
		case strings.HasPrefix(h, "*"):
			return 1
		}
		return 0
	}
	return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(len(b), len(a)), cmp.Compare(a, b))
}

func listener(l appmesh.VirtualGatewayListener) ir.Listener {
	out := ir.Listener{Port: uint32(*l.PortMapping.Port), Protocol: ir.Protocol(*l.PortMapping.Protocol)}
	if t := l.Tls; t != nil {
		tls := &ir.ListenerTLS{Mode: ir.TLSMode(*t.Mode)}
		if c := t.Certificate; c != nil {
			if c.File != nil {
				tls.Certificate = ir.Certificate{CertificateChain: *c.File.CertificateChain, PrivateKey: *c.File.PrivateKey}
			} else if c.Sds != nil {
				tls.Certificate = ir.Certificate{SDS: *c.Sds.SecretName}
			}
		}
		if v := t.Validation; v != nil {
			tls.Validation = &ir.Validation{SubjectAltNames: sans(v.SubjectAlternativeNames)}
			if v.Trust.File != nil {
				tls.Validation.TrustChain = *v.Trust.File.CertificateChain
			} else if v.Trust.Sds != nil {
				tls.Validation.TrustSDS = *v.Trust.Sds.SecretName
			}
		}
		out.TLS = tls
	}
	if p := l.ConnectionPool; p != nil {
		switch {
		case p.Http != nil:
			out.Limits = &ir.ConnectionLimits{MaxConnections: u32(p.Http.MaxConnections), MaxPendingRequests: u32(p.Http.MaxPendingRequests)}
		case p.Http2 != nil:
			out.Limits = &ir.ConnectionLimits{MaxRequests: u32(p.Http2.MaxRequests)}
		case p.Grpc != nil:
			out.Limits = &ir.ConnectionLimits{MaxRequests: u32(p.Grpc.MaxRequests)}
		}
	}
	return out
}

func sans(s *appmesh.SubjectAlternativeNames) []string {
	if s == nil || s.Match == nil {
		return nil
	}
	return slices.Clone(s.Match.Exact)
}

// listenerFor is the listener a gateway route serves: the one its match.port
// names, or the only one; its protocol must be the route's.
func listenerFor(ls []ir.Listener, s *appmesh.GatewayRouteSpec) (ir.Listener, bool) {
	var port *int64
	var protocol ir.Protocol
	switch {
	case s.HttpRoute != nil:
		port, protocol = s.HttpRoute.Match.Port, ir.HTTP
	case s.Http2Route != nil:
		port, protocol = s.Http2Route.Match.Port, ir.HTTP2
	case s.GrpcRoute != nil:
		port, protocol = s.GrpcRoute.Match.Port, ir.GRPC
	}
	for _, l := range ls {
		if (port == nil && len(ls) == 1 || port != nil && uint32(*port) == l.Port) && l.Protocol == protocol {
			return l, true
		}
	}
	return ir.Listener{}, false
}

// gatewayRoute converts one gateway route and returns it with its virtual
// host ("*" when it has no hostname match) and priority.
func gatewayRoute(m *model.Gateway, name string, s *appmesh.GatewayRouteSpec, l ir.Listener) (ir.GatewayRoute, string, int64) {
	gr := ir.GatewayRoute{Name: name}
	var hostname *appmesh.GatewayRouteHostnameMatch
	var target *appmesh.GatewayRouteTarget
	var hostRewrite *appmesh.GatewayRouteHostnameRewrite
	switch {
	case s.HttpRoute != nil || s.Http2Route != nil:
		r := s.HttpRoute
		if r == nil {
			r = s.Http2Route
		}
		pathMatch(&gr.Match, r.Match.Prefix, r.Match.Path)
		gr.Match.Method = deref(r.Match.Method)
		for _, h := range r.Match.Headers {
			gr.Match.Headers = append(gr.Match.Headers, headerMatch(h.Name, h.Invert, h.Match))
		}
		gr.Match.Query = queryMatches(r.Match.QueryParameters)
		hostname, target = r.Match.Hostname, r.Action.Target
		rw := r.Action.Rewrite
		if rw != nil {
			hostRewrite = rw.Hostname
		}
		pathRewrite(&gr, rw)
	case s.GrpcRoute != nil:
		r := s.GrpcRoute
		grpcPath(&gr.Match, r.Match.ServiceName, nil)
		for _, md := range r.Match.Metadata {
			var mm *appmesh.HeaderMatchMethod
			if md.Match != nil {
				mm = (*appmesh.HeaderMatchMethod)(md.Match)
			}
			gr.Match.Headers = append(gr.Match.Headers, headerMatch(md.Name, md.Invert, mm))
		}
		hostname, target = r.Match.Hostname, r.Action.Target
		if r.Action.Rewrite != nil {
			hostRewrite = r.Action.Rewrite.Hostname
		}
	}
	svc := *target.VirtualService.VirtualServiceName
	gr.Action.Service = svc
	gr.Action.Port = targetPort(m, svc, target.Port)
	// App Mesh sends the target virtual service's name as the Host unless
	// the route turns that off.
	if hostRewrite == nil || deref(hostRewrite.DefaultTargetHostname) != "DISABLED" {
		gr.Action.HostRewrite = svc
	}
	host := "*"
	if hostname != nil {
		if hostname.Exact != nil {
			host = strings.ToLower(*hostname.Exact)
		} else if hostname.Suffix != nil {
			host = "*" + strings.ToLower(*hostname.Suffix)
		}
	}
	prio := int64(unprioritised)
	if s.Priority != nil {
		prio = *s.Priority
	}
	return gr, host, prio
}

// pathRewrite applies App Mesh's path rewrite rules: a prefix match
// replaces the matched prefix with "/" unless turned off or given another
// value; a whole-path match keeps the path unless rewrite.path says
// otherwise. A match with no path criterion behaves as prefix "/".
func pathRewrite(gr *ir.GatewayRoute, rw *appmesh.HttpGatewayRouteRewrite) {
	m := &gr.Match
	var prefix *appmesh.HttpGatewayRoutePrefixRewrite
	var path *appmesh.HttpGatewayRoutePathRewrite
	if rw != nil {
		prefix, path = rw.Prefix, rw.Path
	}
	if path != nil && path.Exact != nil {
		gr.Action.PathRewrite = *path.Exact
		return
	}
	if m.Path != "" || m.PathRegex != "" {
		return
	}
	switch {
	case prefix != nil && prefix.Value != nil:
		if m.Prefix == "" {
			m.Prefix = "/"
		}
		gr.Action.PrefixRewrite = prefix.Value
	case prefix != nil && deref(prefix.DefaultPrefix) == "DISABLED":
	case m.Prefix != "" && m.Prefix != "/":
		gr.Action.PrefixRewrite = new("/")
	}
}

// targetPort is the provider listener port a gateway route reaches: its
// target.port, or the provider's only listener port; 0 when there is none.
func targetPort(m *model.Gateway, service string, port *int64) uint32 {
	if port != nil {
		return uint32(*port)
	}
	ls := providerListeners(m, service)
	if len(ls) == 1 {
		return ls[0].port
	}
	return 0
}

func accessLog(l *appmesh.VirtualGatewayLogging) *ir.AccessLog {
	if l == nil || l.AccessLog == nil || l.AccessLog.File == nil {
		return nil
	}
	f := l.AccessLog.File
	out := &ir.AccessLog{Path: *f.Path}
	if f.Format != nil {
		out.Text = deref(f.Format.Text)
		for _, kv := range f.Format.Json {
			out.JSON = append(out.JSON, ir.JSONField{Key: *kv.Key, Value: *kv.Value})
		}
	}
	return out
}

func u32(p *int64) uint32 { return uint32(deref(p)) }
