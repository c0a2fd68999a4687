package router

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/meshgate/meshgate/internal/ir"
)

// routeLinear is the router before the index: every gateway route of the
// virtual host in order, the query parsed up front. The indexed Route
// must decide exactly as it does.
func (t *Table) routeLinear(r *Request, pick func(n uint32) uint32) Decision {
	l, ok := t.listeners[r.Port]
	if !ok {
		return Decision{Status: http.StatusNotFound}
	}
	h := l.hostFor(r.Host)
	if h == nil {
		return Decision{Status: http.StatusNotFound}
	}
	query := lazyQuery{parsed: true}
	if r.RawQuery != "" {
		query.values, _ = url.ParseQuery(r.RawQuery)
	}
	for i := range h.routes {
		if !h.matches(i, r, r.Path, &query) {
			continue
		}
		return t.routerStage(r, h.services[h.routes[i].service], h.decision(i, r), &query, pick)
	}
	return Decision{Status: http.StatusNotFound}
}

func checkSameAsLinear(t *testing.T, tbl *Table, r *Request, pick func(uint32) uint32) {
	t.Helper()
	got, want := tbl.Route(r, pick), tbl.routeLinear(r, pick)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("request %+v:\nindexed %+v\nlinear  %+v", *r, got, want)
	}
}

// TestIndexMatchesLinear routes many paths through gateways whose routes
// overlap in every way the index distinguishes (nested and equal
// prefixes, prefixes that split each other's trie edges, exact paths
// equal to prefixes, regexes and header-only routes in between, the same
// prefix with different methods and queries) and checks the indexed
// decision against the linear scan.
func TestIndexMatchesLinear(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	words := []string{"", "/", "/a", "/a/", "/ab", "/abc", "/a/b", "/a/b/", "/a/bc", "/b", "/ba", "/color", "/color/",
		"/colorful", "/color/x", "/%2F", "/a%2Fb", "/x/y/z", "/api/v1/", "/api/v1/users", "/api/v2"}
	for round := range 200 {
		g := &ir.Gateway{Mesh: "m", Name: "idx"}
		var routes []ir.GatewayRoute
		n := 1 + rnd.IntN(40)
		for i := range n {
			var m ir.Match
			switch rnd.IntN(6) {
			case 0, 1, 2:
				m.Prefix = words[1+rnd.IntN(len(words)-1)]
			case 3:
				m.Path = words[1+rnd.IntN(len(words)-1)]
			case 4:
				m.PathRegex = []string{"/a.*", "/a/b[a-z]*", "(?i)/A/.*", "/colo(r|ur)/?", "(/x)?/y", ".*", "/api/v[0-9]+/.*"}[rnd.IntN(7)]
			}
			if rnd.IntN(4) == 0 {
				m.Method = []string{"GET", "POST"}[rnd.IntN(2)]
			}
			if rnd.IntN(5) == 0 {
				m.Headers = []ir.HeaderMatch{{Name: "X-Canary", Exact: new("1")}}
			}
			if rnd.IntN(6) == 0 {
				m.Query = []ir.QueryMatch{{Name: "v", Exact: new("2")}}
			}
			if rnd.IntN(8) == 0 && m.Prefix != "" {
				m.Path = m.Prefix // both criteria
			}
			svc := fmt.Sprintf("s%d.local", i%3)
			routes = append(routes, ir.GatewayRoute{Name: fmt.Sprintf("r%d", i), Match: m,
				Action: ir.GatewayRouteAction{Service: svc, Port: 80, PrefixRewrite: new("/p/")}})
		}
		for i := range 3 {
			g.Services = append(g.Services, benchService(fmt.Sprintf("s%d.local", i), fmt.Sprintf("c%d", i)))
			g.Clusters = append(g.Clusters, ir.Cluster{Name: fmt.Sprintf("c%d", i)})
		}
		g.Listeners = []ir.Listener{{Port: 8080, VirtualHosts: []ir.VirtualHost{
			{Name: "a", Domains: []string{"a.example", "*.wild.example"}, Routes: routes},
			{Name: "any", Domains: []string{"*"}, Routes: routes[len(routes)/2:]},
		}}}
		tbl, err := compile(g, 0) // every table through the index
		if err != nil {
			t.Fatal(err)
		}
		for range 60 {
			p := words[rnd.IntN(len(words))] + words[rnd.IntN(len(words))]
			if !strings.HasPrefix(p, "/") {
				p = "/" + p
			}
			r := &Request{Port: 8080, Method: []string{"GET", "POST"}[rnd.IntN(2)], Path: NormalizePath(p),
				RawQuery: []string{"", "v=2", "v=1&v=2", "x=%zz&v=2"}[rnd.IntN(4)],
				Host:     []string{"a.example", "x.wild.example:80", "other", ""}[rnd.IntN(4)], Scheme: "http",
				Header: http.Header{}}
			if rnd.IntN(2) == 0 {
				r.Header.Set("X-Canary", "1")
			}
			checkSameAsLinear(t, tbl, r, pickFirst)
		}
		_ = round
	}
}

// TestIndexLargeTable checks the benchmark's tables of 1,000 and 10,000
// routes against the linear scan on every route's own path and a few
// others.
func TestIndexLargeTable(t *testing.T) {
	for _, n := range []int{1000, 10000} {
		tbl, err := compile(benchGateway(n), 0)
		if err != nil {
			t.Fatal(err)
		}
		step := n / 1000 // a sample: the linear scan is slow under -race
		for i := 0; i < n; i += step + i%3 {
			for _, p := range []string{fmt.Sprintf("/svc-%d/x", i), fmt.Sprintf("/exact-%d", i), fmt.Sprintf("/re-%d/12", i)} {
				r := &Request{Port: 8080, Method: "GET", Path: p, Host: "h", Scheme: "http", Header: http.Header{}}
				if i%7 == 0 {
					r.Header.Set("X-Canary", "true")
				}
				checkSameAsLinear(t, tbl, r, pickFirst)
			}
		}
	}
}

// TestIndexWideNode: a trie node with more children than the lookup scans
// byte by byte (26 prefixes under "/", and paths under each and none)
// routes as the linear scan does.
func TestIndexWideNode(t *testing.T) {
	g := &ir.Gateway{Mesh: "m", Name: "wide", Services: []ir.Service{benchService("s.local", "c")},
		Clusters: []ir.Cluster{{Name: "c"}}}
	var routes []ir.GatewayRoute
	for c := 'a'; c <= 'z'; c++ {
		routes = append(routes, ir.GatewayRoute{Name: "r" + string(c), Match: ir.Match{Prefix: "/" + string(c) + "/"},
			Action: ir.GatewayRouteAction{Service: "s.local", Port: 80}})
	}
	g.Listeners = []ir.Listener{{Port: 8080, VirtualHosts: []ir.VirtualHost{{Name: "v", Domains: []string{"*"}, Routes: routes}}}}
	tbl, err := compile(g, 0)
	if err != nil {
		t.Fatal(err)
	}
	for c := 'a'; c <= 'z'+1; c++ {
		for _, p := range []string{"/" + string(c) + "/x", "/" + string(c), "/" + string(c) + "x/"} {
			r := &Request{Port: 8080, Method: "GET", Path: p, Host: "h", Scheme: "http", Header: http.Header{}}
			checkSameAsLinear(t, tbl, r, pickFirst)
		}
		if d := tbl.Route(&Request{Port: 8080, Method: "GET", Path: "/" + string(c) + "/x", Host: "h", Scheme: "http",
			Header: http.Header{}}, pickFirst); c <= 'z' && d.GatewayRoute != "r"+string(c) {
			t.Errorf("/%c/x routed to %q", c, d.GatewayRoute)
		}
	}
}
