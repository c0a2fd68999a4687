package envoy

import (
	"fmt"
	"strings"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"github.com/meshgate/meshgate/internal/ir"
)

// ingressRoutes is the route configuration of one gateway listener: its
// virtual hosts and gateway routes in the IR's order, each route sending to
// the listener's self-redirect cluster.
func (t *translator) ingressRoutes(l ir.Listener) (*route.RouteConfiguration, error) {
	rc := &route.RouteConfiguration{
		Name: t.names.ingressRoutes(l),
		// Domains match the authority without its port (IR), and the Host
		// sent on stays the client's when the route keeps it: so ports are
		// ignored for matching only, rather than stripped from the request
		// (strip_any_host_port would also change what the upstream sees).
		IgnorePortInHostMatching: true,
	}
	domains := map[string]string{}
	hop := t.names.selfRedirect(l)
	services := map[string]bool{}
	for _, s := range t.g.Services {
		services[internalAuthority(s.Name, s.Port)] = true
	}
	for _, vh := range l.VirtualHosts {
		v := &route.VirtualHost{Name: vh.Name, Domains: vh.Domains}
		if err := uniqueHost(domains, vh); err != nil {
			return nil, err
		}
		for _, gr := range vh.Routes {
			authority := internalAuthority(gr.Action.Service, gr.Action.Port)
			if !services[authority] {
				return nil, fmt.Errorf("gateway route %s: target %s port %d is not among the gateway's services", gr.Name, gr.Action.Service, gr.Action.Port)
			}
			rs, err := ingressRoute(hop, authority, gr)
			if err != nil {
				return nil, fmt.Errorf("gateway route %s: %w", gr.Name, err)
			}
			v.Routes = append(v.Routes, rs...)
		}
		rc.VirtualHosts = append(rc.VirtualHosts, v)
	}
	return rc, nil
}

// ingressRoute hands a matched request to the router stage of its target
// (virtual service, port) in the egress listener. The authority of the hop
// names that pair, whatever the gateway route does to Host, so the router
// stage is the right one even with the hostname rewrite off (App Mesh got
// that wrong, RM#376); the Host the upstream must see travels in
// hostHeader, where the egress route takes it back from.
func ingressRoute(hop, authority string, gr ir.GatewayRoute) ([]*route.Route, error) {
	matches, err := routeMatches(gr.Match, ingressStage)
	if err != nil {
		return nil, err
	}
	rws, err := rewrites(gr.Match, gr.Action)
	if err != nil {
		return nil, err
	}
	if gr.Action.Service == "" {
		return nil, fmt.Errorf("no target virtual service")
	}
	host := "%REQ(:AUTHORITY)%" // the client's Host, read before the rewrite below
	if strings.ContainsAny(gr.Action.HostRewrite, "\x00\r\n") {
		return nil, fmt.Errorf("host rewrite %q is not a header value", gr.Action.HostRewrite)
	}
	if gr.Action.HostRewrite != "" {
		host = strings.ReplaceAll(gr.Action.HostRewrite, "%", "%%") // a literal, not a format
	}
	var out []*route.Route
	for _, m := range matches {
		for _, rw := range rws {
			a := &route.RouteAction{
				ClusterSpecifier:     &route.RouteAction_Cluster{Cluster: hop},
				HostRewriteSpecifier: &route.RouteAction_HostRewriteLiteral{HostRewriteLiteral: authority},
				// The router stage owns timeouts (route timeout and idle
				// timeout of the target's routes); the hop adds none.
				Timeout:     dur(0),
				IdleTimeout: dur(0),
			}
			rm := m
			if len(rws) > 1 {
				rm = cloneMatch(m)
			}
			rw.apply(rm, a)
			out = append(out, &route.Route{
				Name:   gr.Name,
				Match:  rm,
				Action: &route.Route_Route{Route: a},
				// Removed first, then set: a client's copy never survives,
				// even when the value turns out empty and is not added.
				RequestHeadersToRemove: []string{hostHeader},
				RequestHeadersToAdd: []*core.HeaderValueOption{{
					Header:       &core.HeaderValue{Key: hostHeader, Value: host},
					AppendAction: core.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD,
				}},
			})
		}
	}
	return out, nil
}

// egressRoutes is the router stage: one virtual host per targeted
// (virtual service, port), reached by the hop's internal authority, and a
// catch-all that answers 404.
func (t *translator) egressRoutes() (*route.RouteConfiguration, error) {
	rc := &route.RouteConfiguration{Name: t.names.egressRoutes()}
	clusters := map[string]bool{}
	for _, c := range t.g.Clusters {
		clusters[c.Name] = true
	}
	domains := map[string]string{}
	for _, s := range t.g.Services {
		v := &route.VirtualHost{
			Name:    fmt.Sprintf("egress_%s_%d", s.Name, s.Port),
			Domains: []string{internalAuthority(s.Name, s.Port)},
		}
		if s.Name == "" {
			return nil, fmt.Errorf("service without a name")
		}
		if other, dup := domains[v.Domains[0]]; dup {
			return nil, fmt.Errorf("service %s port %d appears twice (%s)", s.Name, s.Port, other)
		}
		domains[v.Domains[0]] = v.Name
		switch {
		case s.Provider == "":
			// No provider (or none serving the port): App Mesh's requests to
			// it fail; Envoy would say 503 for a missing cluster too.
			v.Routes = []*route.Route{directResponse("no_provider", 503)}
		case len(s.Routes) == 0:
			// No route serves the port: the catch-all's 404 applies.
			continue
		default:
			for _, r := range s.Routes {
				rs, err := egressRoute(r, clusters)
				if err != nil {
					return nil, fmt.Errorf("service %s port %d route %q: %w", s.Name, s.Port, r.Name, err)
				}
				v.Routes = append(v.Routes, rs...)
			}
		}
		rc.VirtualHosts = append(rc.VirtualHosts, v)
	}
	rc.VirtualHosts = append(rc.VirtualHosts, &route.VirtualHost{
		Name:    "egress_not_found",
		Domains: []string{"*"},
		Routes:  []*route.Route{directResponse("not_found", 404)},
	})
	return rc, nil
}

// egressRoute is one router route: Host restored, then the weighted pick.
func egressRoute(r ir.Route, clusters map[string]bool) ([]*route.Route, error) {
	matches, err := routeMatches(r.Match, egressStage)
	if err != nil {
		return nil, err
	}
	if r.Timeout < 0 || r.IdleTimeout < 0 {
		return nil, fmt.Errorf("negative timeout")
	}
	retry, err := retryPolicy(r.Retry)
	if err != nil {
		return nil, err
	}
	var targets []ir.WeightedTarget
	for _, w := range r.Targets {
		if !clusters[w.Cluster] {
			return nil, fmt.Errorf("target cluster %q is not among the gateway's clusters", w.Cluster)
		}
		if w.Weight > 0 { // weight 0 gets nothing; Envoy would still count it
			targets = append(targets, w)
		}
	}
	var out []*route.Route
	for _, m := range matches {
		if len(targets) == 0 {
			// Nothing to send to: App Mesh answers 503 (no healthy upstream).
			rt := directResponse(r.Name, 503)
			rt.Match = m
			out = append(out, rt)
			continue
		}
		a := &route.RouteAction{
			HostRewriteSpecifier: &route.RouteAction_HostRewriteHeader{HostRewriteHeader: hostHeader},
			// Always explicit: an unset Envoy timeout means 15 s, while 0 in
			// the IR means none.
			Timeout:     dur(r.Timeout.D()),
			IdleTimeout: dur(r.IdleTimeout.D()),
			RetryPolicy: retry,
		}
		if len(targets) == 1 {
			a.ClusterSpecifier = &route.RouteAction_Cluster{Cluster: targets[0].Cluster}
		} else {
			wc := &route.WeightedCluster{}
			for _, w := range targets {
				wc.Clusters = append(wc.Clusters, &route.WeightedCluster_ClusterWeight{Name: w.Cluster, Weight: u32(w.Weight)})
			}
			a.ClusterSpecifier = &route.RouteAction_WeightedClusters{WeightedClusters: wc}
		}
		out = append(out, &route.Route{Name: r.Name, Match: m, Action: &route.Route_Route{Route: a}})
	}
	return out, nil
}

func directResponse(name string, status uint32) *route.Route {
	return &route.Route{
		Name:   name,
		Match:  &route.RouteMatch{PathSpecifier: &route.RouteMatch_Prefix{Prefix: "/"}},
		Action: &route.Route_DirectResponse{DirectResponse: &route.DirectResponseAction{Status: status}},
	}
}

// uniqueHost refuses what Envoy would: a virtual host name or a domain used
// twice in one route configuration.
func uniqueHost(seen map[string]string, vh ir.VirtualHost) error {
	if vh.Name == "" || len(vh.Domains) == 0 {
		return fmt.Errorf("virtual host %q needs a name and a domain", vh.Name)
	}
	if _, dup := seen["name:"+vh.Name]; dup {
		return fmt.Errorf("virtual host %q appears twice", vh.Name)
	}
	seen["name:"+vh.Name] = vh.Name
	for _, d := range vh.Domains {
		if d == "" || strings.Count(d, "*") > 1 || strings.Contains(d[1:], "*") && !strings.HasSuffix(d, "*") {
			return fmt.Errorf("virtual host %q: domain %q is not exact, *.suffix, prefix.* or *", vh.Name, d)
		}
		if other, dup := seen["domain:"+strings.ToLower(d)]; dup {
			return fmt.Errorf("domain %q is in virtual hosts %q and %q", d, other, vh.Name)
		}
		seen["domain:"+strings.ToLower(d)] = vh.Name
	}
	return nil
}
