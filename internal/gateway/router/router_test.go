package router

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/meshgate/meshgate/internal/ir"
	"github.com/meshgate/meshgate/internal/scenario"
)

// TestScenarioCases runs every case of every scenario through the router:
// the behaviour table the Envoy translation and the live gateway are held to.
func TestScenarioCases(t *testing.T) {
	all, err := scenario.All()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		t.Run(s.Name, func(t *testing.T) {
			g := s.IR(t)
			tbl, err := Compile(g)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range s.Cases {
				t.Run(c.Name, func(t *testing.T) { checkCase(t, g, tbl, c) })
			}
		})
	}
}

func checkCase(t *testing.T, g *ir.Gateway, tbl *Table, c scenario.Case) {
	req := toRequest(c.Request)
	// Every weighted target that can be picked, by trying each pick.
	d := tbl.Route(req, func(uint32) uint32 { return 0 })
	want := c.Expect.Status
	if c.Expect.Status == http.StatusOK {
		want = 0
	}
	if d.Status != want {
		t.Fatalf("status %d (gateway route %q), want %d", d.Status, d.GatewayRoute, c.Expect.Status)
	}
	if d.Status != 0 {
		return
	}
	var nodes []string
	for i := uint32(0); i < d.Route.total; i++ {
		d := tbl.Route(req, func(uint32) uint32 { return i })
		cl := cluster(g, d.Cluster)
		if cl.Port != c.Expect.NodePort {
			t.Errorf("cluster %s is on port %d, want %d", d.Cluster, cl.Port, c.Expect.NodePort)
		}
		if !slices.Contains(nodes, cl.Node) {
			nodes = append(nodes, cl.Node)
		}
	}
	slices.Sort(nodes)
	wantNodes := slices.Sorted(slices.Values(c.Expect.Nodes))
	if !slices.Equal(nodes, wantNodes) {
		t.Errorf("reaches nodes %v, want %v", nodes, wantNodes)
	}
	path := d.Path
	if req.RawQuery != "" {
		path += "?" + req.RawQuery
	}
	if path != c.Expect.Path {
		t.Errorf("upstream path %q, want %q", path, c.Expect.Path)
	}
	if d.Host != c.Expect.Host {
		t.Errorf("upstream Host %q, want %q", d.Host, c.Expect.Host)
	}
	if names := routeNames(tbl); names[d.GatewayRouteID] != d.GatewayRoute {
		t.Errorf("gateway route %q has ID %d, the table's name for which is %q", d.GatewayRoute, d.GatewayRouteID, names[d.GatewayRouteID])
	}
}

// routeNames is the table's gateway route names by ID.
func routeNames(tbl *Table) []string {
	names := make([]string, tbl.GatewayRouteCount())
	for id, name := range tbl.GatewayRoutes() {
		names[id] = name
	}
	return names
}

// TestGatewayRouteIDs: a gateway route name has one ID, however many
// listeners and virtual hosts serve it, and every name its own.
func TestGatewayRouteIDs(t *testing.T) {
	route := func(name, prefix string) ir.GatewayRoute {
		return ir.GatewayRoute{Name: name, Match: ir.Match{Prefix: prefix}, Action: ir.GatewayRouteAction{Service: "s", Port: 80}}
	}
	shared := []ir.GatewayRoute{route("a", "/a/"), route("b", "/b/")}
	g := &ir.Gateway{
		Services: []ir.Service{{Name: "s", Port: 80, Provider: "virtualNode/n",
			Routes: []ir.Route{{Targets: []ir.WeightedTarget{{Cluster: "c", Weight: 1}}}}}},
		Listeners: []ir.Listener{
			{Port: 80, VirtualHosts: []ir.VirtualHost{
				{Name: "x", Domains: []string{"x.example"}, Routes: append([]ir.GatewayRoute{route("c", "/c/")}, shared...)},
				{Name: "any", Domains: []string{"*", "*.y.example"}, Routes: shared}}},
			{Port: 81, VirtualHosts: []ir.VirtualHost{{Name: "any", Domains: []string{"*"}, Routes: []ir.GatewayRoute{route("b", "/")}}}},
		},
	}
	tbl, err := Compile(g)
	if err != nil {
		t.Fatal(err)
	}
	names := routeNames(tbl)
	if got := slices.Sorted(slices.Values(names)); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("names by ID %q, want a, b and c once each", names)
	}
	for _, r := range []struct {
		port       uint32
		host, path string
		want       string
	}{
		{80, "x.example", "/c/1", "c"}, {80, "x.example", "/b/1", "b"}, {80, "z.y.example", "/a/", "a"},
		{80, "other", "/b/", "b"}, {81, "x.example", "/c/", "b"},
	} {
		d := tbl.Route(&Request{Port: r.port, Method: "GET", Host: r.host, Path: r.path, Scheme: "http"}, func(uint32) uint32 { return 0 })
		if d.Status != 0 || d.GatewayRoute != r.want || names[d.GatewayRouteID] != r.want {
			t.Errorf("%d %s%s: status %d, route %q, ID %d (%q); want %q", r.port, r.host, r.path, d.Status, d.GatewayRoute, d.GatewayRouteID, names[d.GatewayRouteID], r.want)
		}
	}
}

func toRequest(r scenario.Request) *Request {
	path, query, _ := strings.Cut(r.Path, "?")
	req := &Request{Port: r.Port, Method: r.Method, Path: NormalizePath(path), RawQuery: query, Host: r.Host,
		Scheme: "http", Header: http.Header{}}
	for k, v := range r.Headers {
		req.Header.Set(k, v)
	}
	if r.GRPC {
		req.Method = http.MethodPost
		req.Header.Set("Content-Type", "application/grpc")
	}
	return req
}

func cluster(g *ir.Gateway, name string) ir.Cluster {
	for _, c := range g.Clusters {
		if c.Name == name {
			return c
		}
	}
	return ir.Cluster{Name: name + " (missing)"}
}

func TestNormalizePath(t *testing.T) {
	for in, want := range map[string]string{
		"":                "/",
		"/":               "/",
		"/a/b":            "/a/b",
		"//a///b":         "/a/b",
		"/a/./b":          "/a/b",
		"/a/../b":         "/b",
		"/../../b":        "/b",
		"/a/b/":           "/a/b/",
		"/a/b/..":         "/a/",
		"/a/.":            "/a/",
		"/a/..b/c":        "/a/..b/c",
		"/color1//tell":   "/color1/tell",
		"/%2e%2e/x":       "/x",
		"/a%2fb":          "/a%2Fb",
		"/%41b%7e":        "/Ab~",
		"/bad%zz%4":       "/bad%zz%4",
		"/paths/./green/": "/paths/green/",
	} {
		if got := NormalizePath(in); got != want {
			t.Errorf("NormalizePath(%q) = %q, want %q", in, got, want)
		}
	}
}
