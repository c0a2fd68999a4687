package router

import (
	"fmt"
	"net/http"
	"runtime"
	"testing"

	"github.com/meshgate/meshgate/internal/ir"
)

// benchGateway is one listener with one "*" virtual host of n gateway
// routes, in the shapes App Mesh produces: mostly prefix routes
// ("/svc-N/", rewritten to "/"), with some exact paths, a header match
// and a regex mixed in, each to its own node-provided virtual service.
// The last route is a catch-all "/" so that every request is routed.
func benchGateway(n int) *ir.Gateway {
	g := &ir.Gateway{Mesh: "m", Name: "bench"}
	var routes []ir.GatewayRoute
	for i := range n - 1 {
		svc := fmt.Sprintf("svc-%d.local", i)
		m := ir.Match{Prefix: fmt.Sprintf("/svc-%d/", i)}
		switch i % 10 {
		case 3:
			m = ir.Match{Path: fmt.Sprintf("/exact-%d", i)}
		case 7:
			m.Headers = []ir.HeaderMatch{{Name: "x-canary", Exact: new("true")}}
		case 9:
			if i%100 == 99 {
				m = ir.Match{PathRegex: fmt.Sprintf("/re-%d/[0-9]+", i)}
			}
		}
		routes = append(routes, ir.GatewayRoute{Name: fmt.Sprintf("r%d", i), Match: m,
			Action: ir.GatewayRouteAction{Service: svc, Port: 80, HostRewrite: svc, PrefixRewrite: new("/")}})
		g.Services = append(g.Services, benchService(svc, fmt.Sprintf("cl%d", i)))
		g.Clusters = append(g.Clusters, ir.Cluster{Name: fmt.Sprintf("cl%d", i)})
	}
	routes = append(routes, ir.GatewayRoute{Name: "default", Match: ir.Match{Prefix: "/"},
		Action: ir.GatewayRouteAction{Service: "default.local", Port: 80}})
	g.Services = append(g.Services, benchService("default.local", "cl-default"))
	g.Clusters = append(g.Clusters, ir.Cluster{Name: "cl-default"})
	// A router's routes are a fixed few per virtual service; the weighted
	// one is what the harness's route looks like.
	g.Listeners = []ir.Listener{{Port: 8080, Protocol: ir.HTTP, VirtualHosts: []ir.VirtualHost{
		{Name: "ingress", Domains: []string{"*"}, Routes: routes}}}}
	return g
}

func benchService(name, cluster string) ir.Service {
	return ir.Service{Name: name, Port: 80, Provider: "virtualNode/" + name, Routes: []ir.Route{{
		Targets: []ir.WeightedTarget{{Cluster: cluster, Weight: 1}}}}}
}

// BenchmarkRoute routes requests that match the first, the middle and the
// last prefix route (and the catch-all) of tables of 10, 1,000 and 10,000
// gateway routes. Matching must not grow linearly with the route count:
// ns/op of "last" at 10000 should be close to that at 10.
func BenchmarkRoute(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		tbl, err := Compile(benchGateway(n))
		if err != nil {
			b.Fatal(err)
		}
		targets := map[string]string{
			"first":    "/svc-0/color",
			"middle":   fmt.Sprintf("/svc-%d/color", (n/2)/10*10),
			"last":     fmt.Sprintf("/svc-%d/color", (n-2)/10*10),
			"fallback": "/nowhere/at/all",
		}
		for _, which := range []string{"first", "middle", "last", "fallback"} {
			b.Run(fmt.Sprintf("routes=%d/%s", n, which), func(b *testing.B) {
				req := &Request{Port: 8080, Method: http.MethodGet, Path: targets[which], Host: "gw.example:8080",
					Scheme: "http", Header: http.Header{"User-Agent": {"wrk"}, "Accept": {"*/*"}}}
				if d := tbl.Route(req, pickFirst); d.Status != 0 {
					b.Fatalf("%s: status %d", req.Path, d.Status)
				}
				b.ReportAllocs()
				for b.Loop() {
					tbl.Route(req, pickFirst)
				}
			})
		}
	}
}

// BenchmarkRouteQuery is the harness's route with a query string that no
// route looks at: the query should not be parsed.
func BenchmarkRouteQuery(b *testing.B) {
	tbl, err := Compile(benchGateway(10))
	if err != nil {
		b.Fatal(err)
	}
	req := &Request{Port: 8080, Method: http.MethodGet, Path: "/svc-0/color", RawQuery: "a=1&b=2&c=%20x",
		Host: "gw.example", Scheme: "http", Header: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		tbl.Route(req, pickFirst)
	}
}

func pickFirst(uint32) uint32 { return 0 }

// BenchmarkCompile compiles tables of 1,000 and 10,000 gateway routes (each
// to its own virtual service) and reports the heap a compiled table keeps
// per route beyond its IR: the gateway's RSS counts it about twice, as the
// garbage collector lets the heap grow to twice what is live.
func BenchmarkCompile(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("routes=%d", n), func(b *testing.B) {
			g := benchGateway(n)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Compile(g); err != nil {
					b.Fatal(err)
				}
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			tbl, err := Compile(g)
			if err != nil {
				b.Fatal(err)
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			runtime.KeepAlive(tbl)
			b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/float64(n), "retained-B/route")
			b.ReportMetric(float64(int64(after.HeapObjects)-int64(before.HeapObjects))/float64(n), "retained-objects/route")
		})
	}
}
