package router

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/meshgate/meshgate/internal/ir"
)

// fuzzFixtures are the fixed IR gateways routed by FuzzRoute: the
// translator's golden IR examples, plus words taken from them (header
// names and values, query names, domains, paths) that steer generated
// requests towards their routes.
type fuzzFixtures struct {
	gateways []*ir.Gateway
	tables   []*Table
	headers  []string // lower-case header names some match looks at
	values   []string // header and query values some match looks for
	queries  []string
	hosts    []string
	paths    []string
}

var (
	fixturesOnce sync.Once
	fixtures     fuzzFixtures
	fixturesErr  error
)

func loadFuzzFixtures() (*fuzzFixtures, error) {
	fixturesOnce.Do(func() {
		files, err := filepath.Glob(filepath.Join("..", "..", "translate", "testdata", "ir", "*.json"))
		if err != nil || len(files) == 0 {
			fixturesErr = fmt.Errorf("no IR fixtures found: %v", err)
			return
		}
		f := &fixtures
		words := map[*[]string]map[string]bool{}
		addWord := func(list *[]string, s string) {
			if s == "" {
				return
			}
			if words[list] == nil {
				words[list] = map[string]bool{}
			}
			if !words[list][s] {
				words[list][s] = true
				*list = append(*list, s)
			}
		}
		addMatch := func(m ir.Match) {
			addWord(&f.paths, m.Prefix)
			addWord(&f.paths, m.Path)
			for _, h := range m.Headers {
				addWord(&f.headers, strings.ToLower(h.Name))
				for _, v := range []*string{h.Exact, h.Prefix, h.Suffix} {
					if v != nil {
						addWord(&f.values, *v)
					}
				}
				if h.Range != nil {
					addWord(&f.values, fmt.Sprint(h.Range.Start))
					addWord(&f.values, fmt.Sprint(h.Range.End-1))
				}
			}
			for _, q := range m.Query {
				addWord(&f.queries, q.Name)
				if q.Exact != nil {
					addWord(&f.values, *q.Exact)
				}
			}
		}
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				fixturesErr = err
				return
			}
			var g ir.Gateway
			if err := json.Unmarshal(b, &g); err != nil {
				fixturesErr = fmt.Errorf("%s: %w", file, err)
				return
			}
			tbl, err := compile(&g, 0) // through the index, checked against the linear scan
			if err != nil {
				fixturesErr = fmt.Errorf("%s: %w", file, err)
				return
			}
			f.gateways = append(f.gateways, &g)
			f.tables = append(f.tables, tbl)
			for _, l := range g.Listeners {
				for _, vh := range l.VirtualHosts {
					for _, d := range vh.Domains {
						addWord(&f.hosts, strings.Replace(d, "*", "sub", 1))
					}
					for _, r := range vh.Routes {
						addMatch(r.Match)
					}
				}
			}
			for _, s := range g.Services {
				addWord(&f.hosts, s.Name)
				for _, r := range s.Routes {
					addMatch(r.Match)
				}
			}
		}
		slices.Sort(f.headers) // stable bit positions for the header mask
	})
	return &fixtures, fixturesErr
}

// regexOK reports whether expr is a valid RE2 expression on its own, as
// App Mesh and Envoy require.
func regexOK(expr string) bool {
	_, err := regexp.Compile(expr)
	return err == nil
}

// syntheticGateway is a gateway shaped by fuzz input: a prefix, a path
// regex, a header value (used as exact, prefix, suffix and as a regex) and
// target weights, on every kind of virtual host and every kind of match,
// with a router stage of several routes and weighted targets.
func syntheticGateway(prefix, regex, hv string, w1, w2 uint32) *ir.Gateway {
	if !strings.HasPrefix(prefix, "/") {
		prefix = "/" + prefix
	}
	act := func(svc string) ir.GatewayRouteAction {
		return ir.GatewayRouteAction{Service: svc, Port: 80}
	}
	rewrite := act("a.svc")
	rewrite.PrefixRewrite = new("/rewritten/")
	rewrite.HostRewrite = "a.svc"
	pathRewrite := act("b.svc")
	pathRewrite.PathRewrite = "/fixed"
	routes := []ir.GatewayRoute{
		{Name: "exact-path", Match: ir.Match{Path: prefix, Method: "POST", Query: []ir.QueryMatch{{Name: "q", Exact: new(hv)}}}, Action: act("c.svc")},
		{Name: "hdr-exact", Match: ir.Match{Prefix: "/", Headers: []ir.HeaderMatch{{Name: "x-exact", Exact: new(hv)}}}, Action: act("b.svc")},
		{Name: "hdr-prefix", Match: ir.Match{Prefix: "/", Headers: []ir.HeaderMatch{{Name: "x-prefix", Prefix: new(hv)}}}, Action: act("c.svc")},
		{Name: "hdr-suffix-invert", Match: ir.Match{Prefix: "/", Headers: []ir.HeaderMatch{{Name: "x-suffix", Suffix: new(hv), Invert: true}, {Name: "x-gate"}}}, Action: act("a.svc")},
		{Name: "hdr-regex", Match: ir.Match{Prefix: "/", Headers: []ir.HeaderMatch{{Name: "x-regex", Regex: new(hv)}}}, Action: pathRewrite},
		{Name: "hdr-range", Match: ir.Match{Prefix: "/", Headers: []ir.HeaderMatch{{Name: "x-n", Range: &ir.Range{Start: -5, End: 10}}}}, Action: act("b.svc")},
		{Name: "query-present", Match: ir.Match{Prefix: "/", Query: []ir.QueryMatch{{Name: "debug"}}}, Action: act("orphan.svc")},
		{Name: "regex", Match: ir.Match{PathRegex: regex}, Action: act("b.svc")},
		{Name: "prefix-rewrite", Match: ir.Match{Prefix: prefix}, Action: rewrite},
		{Name: "https-only", Match: ir.Match{Prefix: "/", Scheme: "https"}, Action: act("c.svc")},
	}
	catchAll := []ir.GatewayRoute{{Name: "catch-all", Match: ir.Match{Prefix: "/"}, Action: act("missing.svc")}}
	node := func(name, cluster string) ir.Service {
		return ir.Service{Name: name, Port: 80, Provider: "virtualNode/" + name, Routes: []ir.Route{{
			Targets: []ir.WeightedTarget{{Cluster: cluster, Weight: 1}}}}}
	}
	return &ir.Gateway{
		Mesh: "m", Name: "fuzz",
		Listeners: []ir.Listener{{Port: 8080, Protocol: ir.HTTP, VirtualHosts: []ir.VirtualHost{
			{Name: "exact", Domains: []string{"Exact.Example", hv}, Routes: routes},
			{Name: "suffix-long", Domains: []string{"*.api.example.com"}, Routes: routes[5:]},
			{Name: "suffix", Domains: []string{"*.example.com"}, Routes: catchAll},
			{Name: "any", Domains: []string{"*"}, Routes: routes},
		}}},
		Services: []ir.Service{
			node("a.svc", "cl_a"),
			{Name: "b.svc", Port: 80, Provider: "virtualRouter/r", Routes: []ir.Route{
				{Name: "weighted", Match: ir.Match{Prefix: prefix}, Targets: []ir.WeightedTarget{
					{Cluster: "cl_b1", Weight: w1}, {Cluster: "cl_b2", Weight: w2}, {Cluster: "cl_zero", Weight: 0}}},
				{Name: "by-header", Match: ir.Match{Prefix: "/", Headers: []ir.HeaderMatch{{Name: "x-exact", Exact: new(hv)}}},
					Targets: []ir.WeightedTarget{{Cluster: "cl_b2", Weight: 3}}},
				{Name: "rest", Match: ir.Match{PathRegex: regex}, Targets: []ir.WeightedTarget{{Cluster: "cl_a", Weight: 1}}},
			}},
			{Name: "c.svc", Port: 80, Provider: "virtualRouter/rc", Routes: []ir.Route{
				{Name: "https", Match: ir.Match{Scheme: "https", Method: "GET"}, Targets: []ir.WeightedTarget{{Cluster: "cl_c", Weight: 1}}},
			}},
			{Name: "orphan.svc", Port: 80},
		},
		Clusters: []ir.Cluster{{Name: "cl_a"}, {Name: "cl_b1"}, {Name: "cl_b2"}, {Name: "cl_c"}, {Name: "cl_zero"}},
	}
}

// fuzzRequest turns fuzz input into a request, choosing among the words
// of the fixtures by sel's bits.
func fuzzRequest(fx *fuzzFixtures, path, host, method, query, hv string, sel uint64) *Request {
	bits := func(n uint) uint64 { v := sel & (1<<n - 1); sel >>= n; return v }
	pick := func(list []string, n uint64) string {
		if len(list) == 0 {
			return ""
		}
		return list[n%uint64(len(list))]
	}
	r := &Request{Method: method, Scheme: "http", Header: http.Header{}}
	// Path: as fuzzed, or a known prefix with the fuzzed rest.
	if ps := bits(8); ps%4 != 0 {
		path = pick(fx.paths, ps) + path
	}
	if p, q, ok := strings.Cut(path, "?"); ok {
		path, query = p, q+"&"+query
	}
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	r.Path = NormalizePath(path)
	r.RawQuery = query
	if bits(1) == 1 {
		r.RawQuery += "&" + pick(fx.queries, bits(6)) + "=" + pick(fx.values, bits(6))
	}
	// Host: as fuzzed, or a known domain, in any case, with a port or not.
	switch hs := bits(8); hs % 4 {
	case 1:
		host = pick(fx.hosts, hs>>2)
	case 2:
		host = strings.ToUpper(pick(fx.hosts, hs>>2)) + ":8080"
	case 3:
		host = "Exact.EXAMPLE:1"
	}
	r.Host = host
	switch ms := bits(3); ms {
	case 0, 1, 2, 3:
		r.Method = []string{"GET", "POST", "PUT", "DELETE"}[ms]
	}
	if bits(1) == 1 {
		r.Scheme = "https"
	}
	// Headers: each known name (fixtures' and the synthetic gateway's) on
	// or off, with the fuzzed value or a known one, sometimes twice.
	names := append([]string{"x-exact", "x-prefix", "x-suffix", "x-gate", "x-regex", "x-n", ":method"}, fx.headers...)
	mask := bits(24)
	for i, name := range names {
		if i >= 24 || mask&(1<<i) == 0 {
			continue
		}
		v := hv
		if bits(1) == 1 {
			v = pick(fx.values, bits(5))
		}
		key := http.CanonicalHeaderKey(name)
		r.Header[key] = append(r.Header[key], v)
		if bits(1) == 1 {
			r.Header[key] = append(r.Header[key], hv)
		}
	}
	return r
}

func cloneRequest(r *Request) Request {
	c := *r
	c.Header = r.Header.Clone()
	return c
}

// checkDecisions routes r on every listener port of tbl (and one that
// does not exist) and checks each decision's invariants.
func checkDecisions(t *testing.T, g *ir.Gateway, tbl *Table, r *Request, seed uint32) {
	clusters := map[string]bool{}
	for _, c := range g.Clusters {
		clusters[c.Name] = true
	}
	ports := []uint32{65535}
	for _, l := range g.Listeners {
		ports = append(ports, l.Port)
	}
	for _, port := range ports {
		r.Port = port
		before := cloneRequest(r)
		var asked []uint32
		pickWith := func(f func(n uint32) uint32) func(uint32) uint32 {
			return func(n uint32) uint32 {
				if n == 0 {
					t.Fatalf("pick(0) called: no valid choice")
				}
				asked = append(asked, n)
				return f(n)
			}
		}
		d := tbl.Route(r, pickWith(func(n uint32) uint32 { return seed % n }))
		// The index decides as the linear scan over every route does.
		if lin := tbl.routeLinear(r, func(n uint32) uint32 { return seed % n }); !reflect.DeepEqual(d, lin) {
			t.Fatalf("gateway %s port %d request %+v:\nindexed %+v\nlinear  %+v", g.Name, port, *r, d, lin)
		}
		if !reflect.DeepEqual(before, cloneRequest(r)) || !maps.EqualFunc(before.Header, r.Header, slices.Equal) {
			t.Fatalf("Route changed the request: %+v -> %+v", before, *r)
		}
		ctx := fmt.Sprintf("gateway %s port %d request %+v: decision %+v", g.Name, port, *r, d)

		// Consistent: the same request and pick give the same decision;
		// another pick changes at most the cluster.
		if again := tbl.Route(r, pickWith(func(n uint32) uint32 { return seed % n })); !reflect.DeepEqual(d, again) {
			t.Fatalf("%s\nrouted again: %+v", ctx, again)
		}
		for _, f := range []func(uint32) uint32{func(uint32) uint32 { return 0 }, func(n uint32) uint32 { return n - 1 }} {
			o := tbl.Route(r, pickWith(f))
			if o.Status != d.Status || o.GatewayRoute != d.GatewayRoute || o.Path != d.Path || o.Host != d.Host ||
				o.Route != d.Route || o.Service != d.Service {
				t.Fatalf("%s\nwith another pick: %+v", ctx, o)
			}
		}

		switch d.Status {
		case 0:
			if !clusters[d.Cluster] {
				t.Fatalf("%s\nforwarded to %q, not a cluster of the IR", ctx, d.Cluster)
			}
			if d.Service == nil || d.Service.Provider == "" || d.Route == nil || d.GatewayRoute == "" {
				t.Fatalf("%s\nforwarded without a service, provider, route or gateway route", ctx)
			}
			if !slices.ContainsFunc(d.Route.Targets, func(w ir.WeightedTarget) bool { return w.Cluster == d.Cluster && w.Weight > 0 }) {
				t.Fatalf("%s\ncluster %q is not a target of weight > 0 of route %+v", ctx, d.Cluster, d.Route.Route)
			}
			var sum uint64
			for _, w := range d.Route.Targets {
				sum += uint64(w.Weight)
			}
			if len(asked) == 0 || uint64(asked[0]) != sum {
				t.Fatalf("%s\npick asked for %v, want the weight sum %d", ctx, asked, sum)
			}
		case http.StatusNotFound:
			if d.Cluster != "" {
				t.Fatalf("%s\n404 with a cluster", ctx)
			}
		case http.StatusServiceUnavailable:
			if d.Cluster != "" || d.GatewayRoute == "" {
				t.Fatalf("%s\n503 with a cluster or without a gateway route", ctx)
			}
			if d.Service != nil && d.Service.Provider != "" && (d.Route == nil || d.Route.total != 0) {
				t.Fatalf("%s\n503 although the service has a provider and a route with weights", ctx)
			}
		default:
			t.Fatalf("%s\nunexpected status", ctx)
		}

		// The gateway route's rewrites, and nothing else, shape the
		// forwarded path and Host.
		if d.GatewayRoute != "" {
			gr := findGatewayRoute(g, port, d.GatewayRoute)
			if gr == nil {
				t.Fatalf("%s\nno gateway route %q on the listener", ctx, d.GatewayRoute)
			}
			switch {
			case gr.Action.PathRewrite != "":
				if d.Path != gr.Action.PathRewrite {
					t.Fatalf("%s\npath %q, want the rewrite %q", ctx, d.Path, gr.Action.PathRewrite)
				}
			case gr.Action.PrefixRewrite != nil:
				if !strings.HasPrefix(d.Path, strings.TrimRight(*gr.Action.PrefixRewrite, "/")) {
					t.Fatalf("%s\npath %q does not start with the prefix rewrite %q", ctx, d.Path, *gr.Action.PrefixRewrite)
				}
			default:
				if d.Path != r.Path {
					t.Fatalf("%s\npath %q changed without a rewrite", ctx, d.Path)
				}
			}
			wantHost := r.Host
			if gr.Action.HostRewrite != "" {
				wantHost = gr.Action.HostRewrite
			}
			if d.Host != wantHost {
				t.Fatalf("%s\nhost %q, want %q", ctx, d.Host, wantHost)
			}
		}
	}
}

func findGatewayRoute(g *ir.Gateway, port uint32, name string) *ir.GatewayRoute {
	for _, l := range g.Listeners {
		if l.Port != port {
			continue
		}
		for _, vh := range l.VirtualHosts {
			for i := range vh.Routes {
				if vh.Routes[i].Name == name {
					return &vh.Routes[i]
				}
			}
		}
	}
	return nil
}

// checkNormalize: NormalizePath is idempotent and leaves no empty, "."
// or ".." segment in a path that starts with "/".
func checkNormalize(t *testing.T, p string) {
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	n := NormalizePath(p)
	if !strings.HasPrefix(n, "/") {
		t.Fatalf("NormalizePath(%q) = %q does not start with /", p, n)
	}
	if nn := NormalizePath(n); nn != n {
		t.Fatalf("NormalizePath not idempotent: %q -> %q -> %q", p, n, nn)
	}
	if strings.Contains(n, "//") || strings.Contains(n, "/./") || strings.Contains(n, "/../") ||
		strings.HasSuffix(n, "/.") || strings.HasSuffix(n, "/..") {
		t.Fatalf("NormalizePath(%q) = %q keeps an empty, . or .. segment", p, n)
	}
}

// FuzzRoute routes generated requests (path, host, method, query,
// headers, scheme) through the golden IR gateways and through a gateway
// shaped by fuzzed regexes, prefixes and header values. Routing must never
// panic; Compile must refuse exactly the configurations with an invalid
// regex; every decision must be consistent (deterministic, independent of
// the weighted pick but for the cluster, status 0 only towards a cluster
// of the IR that is a target of weight > 0 of the matched route, rewrites
// as configured).
func FuzzRoute(f *testing.F) {
	fx, err := loadFuzzFixtures()
	if err != nil {
		f.Fatal(err)
	}
	seed := func(sel ...byte) uint64 {
		var b [8]byte
		copy(b[:], sel)
		return binary.LittleEndian.Uint64(b[:])
	}
	f.Add("/h/x", "www.example.com", "GET", "debug=1", "abyz", "/re/[0-9]+", "/color1", uint32(1), uint64(0xffffffffffffffff), byte(50), byte(50))
	f.Add("/color1//tell/../x", "Exact.Example:8080", "POST", "q=v", "v1", "/a.*", "/color1", uint32(7), seed(1, 1, 0xff, 0xff, 0xff), byte(0), byte(1))
	f.Add("/%2e%2e/paths/green/", "sub.api.example.com", "PUT", "", "15", "(?i)/PATHS/.*", "/paths", uint32(3), seed(0, 2, 3, 4, 5, 6, 7, 8), byte(1), byte(0))
	f.Add("/re/123", "", "DELETE", "%zz&debug", "iphone", "a)|(b", "/", uint32(0), seed(4, 0, 0x10), byte(0), byte(0))
	f.Add("/fixed?x=1", "x.example.com", "OPTIONS", "q", "[z-a]", "", "", uint32(99), seed(0xaa, 0x55, 0xaa, 0x55), byte(100), byte(3))

	f.Fuzz(func(t *testing.T, path, host, method, query, hv, regex, prefix string, pickSeed uint32, sel uint64, w1, w2 byte) {
		if len(regex) > 128 || len(hv) > 128 || len(prefix) > 128 || len(path) > 1024 {
			return // bounded: regex compile time grows with length, not what this tests
		}
		checkNormalize(t, path)
		r := fuzzRequest(fx, path, host, method, query, hv, sel)
		for i, tbl := range fx.tables {
			checkDecisions(t, fx.gateways[i], tbl, r, pickSeed)
		}

		// App Mesh weights are 0..100.
		sg := syntheticGateway(prefix, regex, hv, uint32(w1)%101, uint32(w2)%101)
		tbl, err := compile(sg, 0)
		valid := (regex == "" || regexOK(regex)) && regexOK(hv)
		if (err == nil) != valid {
			t.Fatalf("Compile with path regex %q and header regex %q: err %v, but the regexes valid = %v", regex, hv, err, valid)
		}
		if err != nil {
			// Without the regexes, the rest must compile and route.
			for i := range sg.Listeners[0].VirtualHosts {
				for j := range sg.Listeners[0].VirtualHosts[i].Routes {
					rt := &sg.Listeners[0].VirtualHosts[i].Routes[j]
					if rt.Match.PathRegex != "" {
						rt.Match.PathRegex = "/static"
					}
					for k := range rt.Match.Headers {
						if rt.Match.Headers[k].Regex != nil {
							rt.Match.Headers[k].Regex = new("v[0-9]")
						}
					}
				}
			}
			sg.Services[1].Routes[2].Match.PathRegex = "/static"
			if tbl, err = compile(sg, 0); err != nil {
				t.Fatalf("Compile without the fuzzed regexes: %v", err)
			}
		}
		checkDecisions(t, sg, tbl, r, pickSeed)
	})
}

// TestCompileRejectsInvalidRegex: a regex that is invalid on its own is
// refused even when wrapping it in ^(?:...)$ would make it parse (and
// change what it matches), as App Mesh's validation and the Envoy
// translation's evaluator refuse it.
func TestCompileRejectsInvalidRegex(t *testing.T) {
	for _, expr := range []string{"a)|(b", ")(", "x)|.*|(y", "(", "[z-a]"} {
		g := syntheticGateway("/", "/ok", "v", 1, 1)
		g.Listeners[0].VirtualHosts[0].Routes[7].Match.PathRegex = expr
		if _, err := Compile(g); err == nil {
			t.Errorf("path regex %q compiled", expr)
		}
		g = syntheticGateway("/", "/ok", "v", 1, 1)
		g.Listeners[0].VirtualHosts[0].Routes[4].Match.Headers[0].Regex = new(expr)
		if _, err := Compile(g); err == nil {
			t.Errorf("header regex %q compiled", expr)
		}
	}
}
