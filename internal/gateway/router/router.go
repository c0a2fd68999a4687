// Package router evaluates a gateway's IR for one request: the listener's
// virtual host, the first matching gateway route and its rewrites, then the
// router stage of the target virtual service and a weighted pick of its
// cluster. It is the Go gateway's routing, and the reference the Envoy
// translation is checked against: both run the scenario case tables.
package router

import (
	"fmt"
	"iter"
	"maps"
	"net/http"
	"net/url"
	"slices"
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

// gatewayRoute is what routing reads of a gateway route, copied out of
// the IR so that the gateway does not keep the decoded configuration:
// with 10,000 routes that was most of the heap the collector marks at
// every cycle. Its strings are substrings of one per virtual host
// (intern).
type gatewayRoute struct {
	name    string
	m       matcher
	service *Service
	// The action's rewrites; prefixRewrite applies when hasPrefixRewrite
	// (an empty one replaces the prefix with nothing).
	hostRewrite, pathRewrite, prefixRewrite string
	hasPrefixRewrite                        bool
}

func newGatewayRoute(gr *ir.GatewayRoute, m matcher, s *Service) gatewayRoute {
	r := gatewayRoute{name: gr.Name, m: m, service: s,
		hostRewrite: gr.Action.HostRewrite, pathRewrite: gr.Action.PathRewrite}
	if gr.Action.PrefixRewrite != nil {
		r.prefixRewrite, r.hasPrefixRewrite = *gr.Action.PrefixRewrite, true
	}
	return r
}

// intern makes the strings of routes substrings of one string. A decoded
// configuration allocates every string on its own: a table of 10,000
// routes would keep tens of thousands of small objects for the collector
// to mark, where this keeps one. A value equal to the previous route's
// (the same service or rewrite, as a generated table has) is stored once.
func intern(routes []gatewayRoute) {
	fields := func(i int) [6]*string {
		r := &routes[i]
		return [...]*string{&r.name, &r.m.prefix, &r.m.path, &r.hostRewrite, &r.pathRewrite, &r.prefixRewrite}
	}
	repeats := func(i, j int) bool { return i > 0 && *fields(i - 1)[j] == *fields(i)[j] }
	// Sized first, so that the builder's buffer is the string kept.
	n := 0
	for i := range routes {
		for j, f := range fields(i) {
			if !repeats(i, j) {
				n += len(*f)
			}
		}
	}
	var b strings.Builder
	b.Grow(n)
	for i := range routes {
		for j, f := range fields(i) {
			if !repeats(i, j) {
				b.WriteString(*f)
			}
		}
	}
	all, at := b.String(), 0
	for i := range routes {
		for j, f := range fields(i) {
			if repeats(i, j) {
				*f = *fields(i - 1)[j]
				continue
			}
			*f, at = all[at:at+len(*f)], at+len(*f)
		}
	}
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
				h.routes = append(h.routes, newGatewayRoute(gr, m, t.services[serviceKey{gr.Action.Service, gr.Action.Port}]))
			}
			intern(h.routes) // before the index takes substrings of the prefixes
			if h.index != nil {
				for i := range h.routes {
					h.index.add(int32(i), &h.routes[i].m)
				}
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

// GatewayRoutes yields the name of every gateway route of the table, once
// for each virtual host that has it.
func (t *Table) GatewayRoutes() iter.Seq[string] {
	return func(yield func(string) bool) {
		for _, l := range t.listeners {
			for _, h := range l.vhosts() {
				for i := range h.routes {
					if !yield(h.routes[i].name) {
						return
					}
				}
			}
		}
	}
}

// vhosts are the listener's virtual hosts; a host with several domains
// may be among them more than once.
func (l *listener) vhosts() []*vhost {
	hs := slices.Collect(maps.Values(l.exact))
	hs = append(hs, l.suffixes...)
	if l.any != nil {
		hs = append(hs, l.any)
	}
	return hs
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
	return t.routerStage(r, gr.service, gr.decision(r), &query, pick)
}

// decision is where the gateway route sends r, before the router stage.
func (gr *gatewayRoute) decision(r *Request) Decision {
	d := Decision{GatewayRoute: gr.name, Path: rewritePath(r.Path, gr), Host: r.Host}
	if gr.hostRewrite != "" {
		d.Host = gr.hostRewrite
	}
	return d
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
	case gr.pathRewrite != "":
		return gr.pathRewrite
	case gr.hasPrefixRewrite:
		rest := strings.TrimLeft(path[len(gr.m.prefix):], "/")
		repl := gr.prefixRewrite
		if rest == "" {
			return repl
		}
		return strings.TrimRight(repl, "/") + "/" + rest
	}
	return path
}
