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
	// GatewayRouteID numbers the matched gateway route's name among the
	// table's, from 0 to Table.GatewayRouteCount()-1: what a caller keeps
	// per route fits a slice.
	GatewayRouteID int
	Service        *Service
	Route          *Route // the router-stage route
	Cluster        string
	Path           string
	Host           string
}

// Table is a compiled gateway: safe for concurrent use, never modified.
type Table struct {
	listeners map[uint32]*listener
	services  map[serviceKey]*Service
	names     int // distinct gateway route names
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
	// text holds the strings of every route (intern), which routes hold
	// as spans of it.
	text     string
	routes   []gatewayRoute
	more     []*moreCriteria // the routes' matchers beyond the path
	services []*Service      // the routes' targets (nil: unknown)
	index    *routeIndex     // which routes can match a path; nil: scan them all
}

// gatewayRoute is what routing reads of a gateway route, copied out of
// the IR so that the gateway does not keep the decoded configuration. It
// holds no pointers: its strings are spans of the virtual host's text,
// its other criteria and its target indexes into the host's slices. The
// collector marks every pointer of what the gateway keeps at every
// cycle, and with 10,000 routes these were most of them.
type gatewayRoute struct {
	name, prefix, path span
	// The action's rewrites; prefixRewrite applies when hasPrefixRewrite
	// (an empty one replaces the prefix with nothing).
	hostRewrite, pathRewrite, prefixRewrite span
	more                                    int32 // index in vhost.more; -1: none
	service                                 int32 // index in vhost.services
	id                                      int32 // Decision.GatewayRouteID
	hasPrefixRewrite                        bool
}

// span is a substring of a virtual host's text.
type span struct{ off, n uint32 }

func (h *vhost) str(s span) string { return h.text[s.off : s.off+s.n] }

// matcher is route i's matcher, its strings in the host's text.
func (h *vhost) matcher(i int) matcher {
	gr := &h.routes[i]
	m := matcher{prefix: h.str(gr.prefix), path: h.str(gr.path)}
	if gr.more >= 0 {
		m.more = h.more[gr.more]
	}
	return m
}

// matches is h.matcher(i).matches(r, path, lq) without making the
// matcher: a linear scan tries every route.
func (h *vhost) matches(i int, r *Request, path string, lq *lazyQuery) bool {
	gr := &h.routes[i]
	switch {
	case gr.path.n > 0 && path != h.str(gr.path):
		return false
	case gr.prefix.n > 0 && !strings.HasPrefix(path, h.str(gr.prefix)):
		return false
	}
	return gr.more < 0 || h.more[gr.more].matches(r, path, lq)
}

// routeStrings are a gateway route's strings before they are interned, in
// gatewayRoute's order.
type routeStrings [6]string

func newGatewayRoute(gr *ir.GatewayRoute, m matcher) (gatewayRoute, routeStrings) {
	r := gatewayRoute{more: -1}
	s := routeStrings{gr.Name, m.prefix, m.path, gr.Action.HostRewrite, gr.Action.PathRewrite, ""}
	if gr.Action.PrefixRewrite != nil {
		s[5], r.hasPrefixRewrite = *gr.Action.PrefixRewrite, true
	}
	return r, s
}

// intern lays the strings of routes out in one string and points each
// route's spans into it. A decoded configuration allocates every string
// on its own: a table of 10,000 routes would keep tens of thousands of
// small objects for the collector to mark, where this keeps one. A value
// equal to the previous route's (the same rewrite, as a generated table
// has) is stored once.
func intern(routes []gatewayRoute, strs []routeStrings) string {
	spans := func(i int) [6]*span {
		r := &routes[i]
		return [...]*span{&r.name, &r.prefix, &r.path, &r.hostRewrite, &r.pathRewrite, &r.prefixRewrite}
	}
	repeats := func(i, j int) bool { return i > 0 && strs[i-1][j] == strs[i][j] }
	n := 0
	for i := range strs {
		for j, v := range strs[i] {
			if !repeats(i, j) {
				n += len(v)
			}
		}
	}
	var b strings.Builder
	b.Grow(n) // so that the builder's buffer is the string kept
	for i := range strs {
		for j, v := range strs[i] {
			sp := spans(i)[j]
			if repeats(i, j) {
				*sp = *spans(i - 1)[j]
				continue
			}
			*sp = span{off: uint32(b.Len()), n: uint32(len(v))}
			b.WriteString(v)
		}
	}
	return b.String()
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
	ids := map[string]int32{} // gateway route name → ID
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
			h, err := compileHost(vh.Routes, t.services, ids, linearMax)
			if err != nil {
				return nil, fmt.Errorf("listener %d %w", l.Port, err)
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
	t.names = len(ids)
	return t, nil
}

// compileHost compiles a virtual host's gateway routes, numbering their
// names in ids.
func compileHost(routes []ir.GatewayRoute, services map[serviceKey]*Service, ids map[string]int32, linearMax int) (*vhost, error) {
	h := &vhost{routes: make([]gatewayRoute, len(routes))}
	strs := make([]routeStrings, len(routes))
	serviceIndex := map[*Service]int32{}
	for i := range routes {
		gr := &routes[i]
		m, err := compileMatch(gr.Match)
		if err != nil {
			return nil, fmt.Errorf("gateway route %q: %w", gr.Name, err)
		}
		h.routes[i], strs[i] = newGatewayRoute(gr, m)
		if m.more != nil {
			h.routes[i].more = int32(len(h.more))
			h.more = append(h.more, m.more)
		}
		s := services[serviceKey{gr.Action.Service, gr.Action.Port}]
		si, ok := serviceIndex[s]
		if !ok {
			si = int32(len(h.services))
			serviceIndex[s] = si
			h.services = append(h.services, s)
		}
		h.routes[i].service = si
		id, ok := ids[gr.Name]
		if !ok {
			id = int32(len(ids))
			ids[gr.Name] = id
		}
		h.routes[i].id = id
	}
	h.text = intern(h.routes, strs)
	if len(routes) > linearMax {
		h.index = &routeIndex{}
		for i := range h.routes {
			m := h.matcher(i)
			h.index.add(int32(i), &m)
		}
		h.index.freeze()
	}
	return h, nil
}

// GatewayRouteCount is how many distinct gateway route names the table has.
func (t *Table) GatewayRouteCount() int { return t.names }

// GatewayRoutes yields each distinct gateway route name of the table with
// its GatewayRouteID.
func (t *Table) GatewayRoutes() iter.Seq2[int, string] {
	return func(yield func(int, string) bool) {
		seen := make([]bool, t.names) // a route can serve several hosts
		for _, l := range t.listeners {
			for _, h := range l.vhosts() {
				for i := range h.routes {
					gr := &h.routes[i]
					if seen[gr.id] {
						continue
					}
					seen[gr.id] = true
					if !yield(int(gr.id), h.str(gr.name)) {
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
	matched := -1
	if h.index == nil {
		for i := range h.routes {
			if h.matches(i, r, r.Path, &query) {
				matched = i
				break
			}
		}
	} else {
		h.index.candidates(r.Path, func(i int32) bool {
			if h.matches(int(i), r, r.Path, &query) {
				matched = int(i)
				return true
			}
			return false
		})
	}
	if matched < 0 {
		return Decision{Status: http.StatusNotFound}
	}
	return t.routerStage(r, h.services[h.routes[matched].service], h.decision(matched, r), &query, pick)
}

// decision is where gateway route i sends r, before the router stage.
func (h *vhost) decision(i int, r *Request) Decision {
	gr := &h.routes[i]
	d := Decision{GatewayRoute: h.str(gr.name), GatewayRouteID: int(gr.id), Path: r.Path, Host: r.Host}
	switch {
	case gr.pathRewrite.n > 0:
		d.Path = h.str(gr.pathRewrite)
	case gr.hasPrefixRewrite:
		d.Path = rewritePrefix(r.Path, int(gr.prefix.n), h.str(gr.prefixRewrite))
	}
	if gr.hostRewrite.n > 0 {
		d.Host = h.str(gr.hostRewrite)
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

// rewritePrefix replaces the first n bytes of path (the matched prefix)
// with repl, merging the slashes where the replacement and the rest of
// the path meet.
func rewritePrefix(path string, n int, repl string) string {
	rest := strings.TrimLeft(path[n:], "/")
	if rest == "" {
		return repl
	}
	return strings.TrimRight(repl, "/") + "/" + rest
}
