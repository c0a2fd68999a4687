// Package router evaluates a gateway's IR for one request: the listener's
// virtual host, the first matching gateway route and its rewrites, then the
// router stage of the target virtual service and a weighted pick of its
// cluster. It is the Go gateway's routing, and the reference the Envoy
// translation is checked against: both run the scenario case tables.
package router

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/meshgate/meshgate/internal/ir"
)

// Request is what routing looks at.
type Request struct {
	Port   uint32
	Method string
	// Path is the request path, already normalized (dot segments removed,
	// slashes merged), without the query.
	Path     string
	RawQuery string
	// Host is the authority as the client sent it (port included or not).
	Host   string
	Scheme string // "http" or "https"
	Header http.Header
}

// header returns the values of a header by its lower-case name and its
// canonical form (http.CanonicalHeaderKey of the name).
func (r *Request) header(lowerName, canonicalName string) ([]string, bool) {
	if lowerName == "host" || lowerName == ":authority" {
		return []string{r.Host}, r.Host != ""
	}
	if lowerName == ":method" {
		return []string{r.Method}, true
	}
	vs, ok := r.Header[canonicalName]
	return vs, ok
}

// lazyQuery is a request's query, parsed the first time a match looks at
// it: most routes have no query criterion.
type lazyQuery struct {
	raw    string
	parsed bool
	values url.Values
}

func (q *lazyQuery) get() url.Values {
	if !q.parsed {
		q.parsed = true
		if q.raw != "" {
			q.values, _ = url.ParseQuery(q.raw)
		}
	}
	return q.values
}

// Decision is where a request goes. Status is 0 when it is forwarded to
// Cluster with Path (and the original query) and Host; otherwise it is the
// gateway's own answer: 404 when no route matches, 503 when the target has
// no upstream.
type Decision struct {
	Status       int
	GatewayRoute string // name of the matched gateway route
	Service      *Service
	Route        *Route // the router-stage route
	Cluster      string
	Path         string
	Host         string
}

// Table is a compiled gateway: safe for concurrent use, never modified.
type Table struct {
	listeners map[uint32]*listener
	services  map[serviceKey]*Service
}

type serviceKey struct {
	name string
	port uint32
}

type listener struct {
	exact    map[string]*vhost // lower-case domain → host
	suffixes []*vhost          // "*.x" hosts, longest suffix first
	any      *vhost
}

type vhost struct {
	suffix string // for suffix hosts: ".example.com"
	routes []gatewayRoute
	index  *routeIndex // which routes can match a path; nil: scan them all
}

// gatewayRoute points into the IR, which the gateway keeps, rather than
// copying it: a table of 10,000 routes would hold two of them.
type gatewayRoute struct {
	*ir.GatewayRoute
	m       matcher
	service *Service
}

// Service is a compiled router stage.
type Service struct {
	ir.Service
	routes []*Route
}

// Route is a compiled router-stage route.
type Route struct {
	ir.Route
	m     matcher
	total uint32 // sum of weights
}

// Compile builds the routing table of a gateway.
func Compile(g *ir.Gateway) (*Table, error) { return compile(g, linearMax) }

// linearMax is the most gateway routes a virtual host has for routing to
// scan them all in order: for a few routes that is cheaper than the
// index's lookups. Tests compile with 0 to route every table through the
// index.
const linearMax = 16

func compile(g *ir.Gateway, linearMax int) (*Table, error) {
	t := &Table{listeners: map[uint32]*listener{}, services: map[serviceKey]*Service{}}
	for _, s := range g.Services {
		cs := &Service{Service: s}
		for _, r := range s.Routes {
			m, err := compileMatch(r.Match)
			if err != nil {
				return nil, fmt.Errorf("service %s:%d route %q: %w", s.Name, s.Port, r.Name, err)
			}
			cr := &Route{Route: r, m: m}
			for _, wt := range r.Targets {
				cr.total += wt.Weight
			}
			cs.routes = append(cs.routes, cr)
		}
		t.services[serviceKey{s.Name, s.Port}] = cs
	}
	for _, l := range g.Listeners {
		cl := &listener{exact: map[string]*vhost{}}
		for _, vh := range l.VirtualHosts {
			h := &vhost{routes: make([]gatewayRoute, 0, len(vh.Routes))}
			if len(vh.Routes) > linearMax {
				h.index = &routeIndex{}
			}
			for i := range vh.Routes {
				gr := &vh.Routes[i]
				m, err := compileMatch(gr.Match)
				if err != nil {
					return nil, fmt.Errorf("listener %d gateway route %q: %w", l.Port, gr.Name, err)
				}
				h.routes = append(h.routes, gatewayRoute{GatewayRoute: gr, m: m,
					service: t.services[serviceKey{gr.Action.Service, gr.Action.Port}]})
				if h.index != nil {
					h.index.add(int32(i), &h.routes[i].m)
				}
			}
			if h.index != nil {
				h.index.freeze()
			}
			for _, d := range vh.Domains {
				d = strings.ToLower(d)
				switch {
				case d == "*":
					cl.any = h
				case strings.HasPrefix(d, "*"):
					hs := *h
					hs.suffix = d[1:]
					cl.suffixes = append(cl.suffixes, &hs)
				default:
					cl.exact[d] = h
				}
			}
		}
		t.listeners[l.Port] = cl
	}
	return t, nil
}

// hostFor picks the virtual host the way Envoy does: exact domain, then the
// longest matching suffix wildcard (which must match at least one more
// character), then "*". The port of the authority is ignored.
func (l *listener) hostFor(authority string) *vhost {
	host := strings.ToLower(stripPort(authority))
	if h, ok := l.exact[host]; ok {
		return h
	}
	for _, h := range l.suffixes {
		if len(host) > len(h.suffix) && strings.HasSuffix(host, h.suffix) {
			return h
		}
	}
	return l.any
}

func stripPort(authority string) string {
	if strings.HasPrefix(authority, "[") { // IPv6 literal
		if i := strings.LastIndex(authority, "]"); i >= 0 {
			return authority[:i+1]
		}
		return authority
	}
	if i := strings.LastIndexByte(authority, ':'); i >= 0 {
		return authority[:i]
	}
	return authority
}

// Route decides where r goes. pick(n) must return a number in [0, n) and
// chooses among weighted targets.
func (t *Table) Route(r *Request, pick func(n uint32) uint32) Decision {
	l, ok := t.listeners[r.Port]
	if !ok {
		return Decision{Status: http.StatusNotFound}
	}
	h := l.hostFor(r.Host)
	if h == nil {
		return Decision{Status: http.StatusNotFound}
	}
	query := lazyQuery{raw: r.RawQuery}
	var gr *gatewayRoute
	if h.index == nil {
		for i := range h.routes {
			if h.routes[i].m.matches(r, r.Path, &query) {
				gr = &h.routes[i]
				break
			}
		}
	} else {
		h.index.candidates(r.Path, func(i int32) bool {
			if h.routes[i].m.matches(r, r.Path, &query) {
				gr = &h.routes[i]
				return true
			}
			return false
		})
	}
	if gr == nil {
		return Decision{Status: http.StatusNotFound}
	}
	d := Decision{GatewayRoute: gr.Name, Path: rewritePath(r.Path, gr), Host: r.Host}
	if gr.Action.HostRewrite != "" {
		d.Host = gr.Action.HostRewrite
	}
	return t.routerStage(r, gr.service, d, &query, pick)
}

// routerStage runs the target virtual service's routes on the rewritten
// request and picks a weighted target.
func (t *Table) routerStage(r *Request, s *Service, d Decision, query *lazyQuery, pick func(n uint32) uint32) Decision {
	d.Service = s
	if s == nil || s.Provider == "" {
		d.Status = http.StatusServiceUnavailable
		return d
	}
	staged := *r
	staged.Host = d.Host
	for _, rt := range s.routes {
		if !rt.m.matches(&staged, d.Path, query) {
			continue
		}
		d.Route = rt
		if rt.total == 0 {
			d.Status = http.StatusServiceUnavailable
			return d
		}
		n := pick(rt.total)
		for _, wt := range rt.Targets {
			if n < wt.Weight {
				d.Cluster = wt.Cluster
				return d
			}
			n -= wt.Weight
		}
	}
	d.Status = http.StatusNotFound
	return d
}

// rewritePath applies a gateway route's path rewrite: the whole path, or
// the matched prefix, merging the slashes where the replacement and the
// rest of the path meet.
func rewritePath(path string, gr *gatewayRoute) string {
	switch {
	case gr.Action.PathRewrite != "":
		return gr.Action.PathRewrite
	case gr.Action.PrefixRewrite != nil:
		rest := strings.TrimLeft(path[len(gr.Match.Prefix):], "/")
		repl := *gr.Action.PrefixRewrite
		if rest == "" {
			return repl
		}
		return strings.TrimRight(repl, "/") + "/" + rest
	}
	return path
}
