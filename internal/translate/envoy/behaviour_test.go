package envoy_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"github.com/meshgate/meshgate/internal/ir"
	"github.com/meshgate/meshgate/internal/translate/envoy"
)

// Behaviour the scenarios do not reach, on small hand-made IRs: each case
// is a gateway route (and router route) plus requests through the evaluator.

// oneRoute is a gateway with one http listener on 8080, one gateway route
// and a virtual service "svc.local:9080" whose router has one route to
// node "n".
func oneRoute(gr ir.GatewayRoute, r ir.Route) *ir.Gateway {
	gr.Action.Service, gr.Action.Port = "svc.local", 9080
	if r.Targets == nil {
		r.Targets = []ir.WeightedTarget{{Cluster: "cds_egress_m_n_http_9080", Weight: 1}}
	}
	return &ir.Gateway{
		Mesh: "m", Name: "gw",
		Listeners: []ir.Listener{{Port: 8080, Protocol: ir.HTTP, VirtualHosts: []ir.VirtualHost{{
			Name: "ingress_8080_*", Domains: []string{"*"}, Routes: []ir.GatewayRoute{gr},
		}}}},
		Services: []ir.Service{{Name: "svc.local", Port: 9080, Provider: "virtualRouter/vr", Protocol: ir.HTTP, Routes: []ir.Route{r}}},
		Clusters: []ir.Cluster{{Name: "cds_egress_m_n_http_9080", Node: "n", Port: 9080, Protocol: ir.HTTP,
			Discovery: ir.Discovery{Hostname: "n.local", Port: 9080}}},
	}
}

type probe struct {
	name    string
	req     envoy.Request
	status  int
	path    string
	host    string
	headers map[string]string // must reach the upstream with these values; "" = must not
}

func run(t *testing.T, g *ir.Gateway, probes []probe) *envoy.Resources {
	t.Helper()
	res, err := envoy.Translate(g, envoy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range probes {
		if p.req.Port == 0 {
			p.req.Port = 8080
		}
		if p.req.Host == "" {
			p.req.Host = "gateway.example"
		}
		got, err := envoy.Evaluate(res, p.req)
		if err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		trace := "\n  " + strings.Join(got.Trace, "\n  ")
		if got.Status != p.status {
			t.Errorf("%s: status %d, want %d%s", p.name, got.Status, p.status, trace)
			continue
		}
		if p.status != 200 {
			continue
		}
		if p.path != "" && got.Path != p.path {
			t.Errorf("%s: path %q, want %q%s", p.name, got.Path, p.path, trace)
		}
		if p.host != "" && got.Host != p.host {
			t.Errorf("%s: host %q, want %q%s", p.name, got.Host, p.host, trace)
		}
		for k, v := range p.headers {
			if got.Headers[k] != v {
				t.Errorf("%s: header %s = %q, want %q", p.name, k, got.Headers[k], v)
			}
		}
	}
	return res
}

func TestPrefixRewriteJunction(t *testing.T) {
	long := "/" + strings.Repeat("l", 70) // beyond the regex form: prefix_rewrite routes
	for _, c := range []struct {
		prefix, value, in, want string
	}{
		{long, "/", long + "/tell?q=1", "/tell?q=1"},
		{long, "/", long, "/"},
		{long, "/", long + "1", "/1"},
		{long + "/", "/red/", long + "/tell", "/red/tell"},
		{long, "/b", long + "/x", "/b/x"},
		{long, "/b", long + "x", "/bx"},
		{long, "/b//", long + "/x", "/b/x"},
		{long, "/b", long + "//x", "/b/x"}, // merge_slashes first
		{"/color1", "/", "/color1/tell", "/tell"},
		{"/color1", "/", "/color1", "/"},
		{"/color1", "/", "/color1/tell/x?q=1", "/tell/x?q=1"},
		{"/chapter", "/", "/chapter1", "/1"},
		{"/maroon/", "/red/", "/maroon/tell?fishes=nemo", "/red/tell?fishes=nemo"},
		{"/test/", "/red/", "/test/", "/red/"},
		{"/", "/v2/", "/users?id=1", "/v2/users?id=1"},
		{"/a", "/b", "/a/x", "/b/x"},
		{"/a", "/b", "/ax", "/bx"},
		{"/a", "/b", "/a", "/b"},
		{"/a", "/b//", "/a/x", "/b/x"},
		{"/a.b", "/", "/a.b/c", "/c"},
		{"/a.b", "/", "/aXb/c", ""}, // the dot is literal: no match, 404
		{"/(x)", `/\1/`, "/(x)/y", `/\1/y`},
	} {
		g := oneRoute(ir.GatewayRoute{Name: "r", Match: ir.Match{Prefix: c.prefix}, Action: ir.GatewayRouteAction{PrefixRewrite: &c.value}}, ir.Route{})
		status := 200
		if c.want == "" {
			status = 404
		}
		run(t, g, []probe{{name: c.prefix + " " + c.value + " " + c.in, req: envoy.Request{Path: c.in}, status: status, path: c.want}})
	}
}

func TestPathRewriteKeepsQuery(t *testing.T) {
	g := oneRoute(ir.GatewayRoute{Name: "r", Match: ir.Match{Path: "/rewrite/path/blue"}, Action: ir.GatewayRouteAction{PathRewrite: "/blue"}}, ir.Route{})
	run(t, g, []probe{
		{name: "rewritten", req: envoy.Request{Path: "/rewrite/path/blue?a=b"}, status: 200, path: "/blue?a=b"},
		{name: "other path", req: envoy.Request{Path: "/rewrite/path/blue/x"}, status: 404},
	})
}

// TestHostCarriedAcrossTheHop: the upstream sees the route's Host, or the
// client's (port included) when the route keeps it; the router stage is
// the target's either way, and a client cannot smuggle the internal header.
func TestHostCarriedAcrossTheHop(t *testing.T) {
	keep := oneRoute(ir.GatewayRoute{Name: "r", Match: ir.Match{Prefix: "/"}}, ir.Route{Match: ir.Match{Prefix: "/"}})
	run(t, keep, []probe{
		{name: "client Host kept", req: envoy.Request{Path: "/x", Host: "www.example.com:8080"}, status: 200, host: "www.example.com:8080"},
		{name: "client copy of the internal header", req: envoy.Request{Path: "/x", Host: "a.example", Headers: map[string]string{"x-meshgate-host": "evil.example"}}, status: 200, host: "a.example", headers: map[string]string{"x-meshgate-host": ""}},
	})
	lit := oneRoute(ir.GatewayRoute{Name: "r", Match: ir.Match{Prefix: "/"}, Action: ir.GatewayRouteAction{HostRewrite: "svc.local"}}, ir.Route{Match: ir.Match{Prefix: "/"}})
	run(t, lit, []probe{
		{name: "rewritten", req: envoy.Request{Path: "/x", Host: "www.example.com"}, status: 200, host: "svc.local"},
		{name: "client copy ignored", req: envoy.Request{Path: "/x", Headers: map[string]string{"x-meshgate-host": "evil.example"}}, status: 200, host: "svc.local"},
	})
}

// TestRouterStageSeesFinalHost: a router route matching Host sees the Host
// the upstream will get, not the hop's internal authority.
func TestRouterStageSeesFinalHost(t *testing.T) {
	v := "www.example.com"
	g := oneRoute(ir.GatewayRoute{Name: "r", Match: ir.Match{Prefix: "/"}},
		ir.Route{Match: ir.Match{Prefix: "/", Headers: []ir.HeaderMatch{{Name: "host", Exact: &v}}}})
	run(t, g, []probe{
		{name: "matching Host", req: envoy.Request{Path: "/", Host: v}, status: 200, host: v},
		{name: "other Host", req: envoy.Request{Path: "/", Host: "other.example"}, status: 404},
	})
}

func TestSchemeMatchAfterTheHop(t *testing.T) {
	g := oneRoute(ir.GatewayRoute{Name: "r", Match: ir.Match{Prefix: "/"}}, ir.Route{Match: ir.Match{Prefix: "/", Scheme: "http"}})
	run(t, g, []probe{{name: "plaintext client", req: envoy.Request{Path: "/"}, status: 200}})
	g = oneRoute(ir.GatewayRoute{Name: "r", Match: ir.Match{Prefix: "/"}}, ir.Route{Match: ir.Match{Prefix: "/", Scheme: "https"}})
	run(t, g, []probe{{name: "plaintext client, https route", req: envoy.Request{Path: "/"}, status: 404}})
}

// TestInvertedMatchAcceptingEmpty: an inverted criterion that accepts the
// empty value still accepts a request without the header (IR semantics),
// which takes two Envoy routes.
func TestInvertedMatchAcceptingEmpty(t *testing.T) {
	re, empty := "a*", ""
	for _, h := range []ir.HeaderMatch{{Name: "x-h", Regex: &re, Invert: true}, {Name: "x-h", Exact: &empty, Invert: true}} {
		g := oneRoute(ir.GatewayRoute{Name: "r", Match: ir.Match{Prefix: "/", Headers: []ir.HeaderMatch{h}}}, ir.Route{})
		res := run(t, g, []probe{
			{name: "absent", req: envoy.Request{Path: "/"}, status: 200},
			{name: "empty", req: envoy.Request{Path: "/", Headers: map[string]string{"x-h": ""}}, status: 404},
			{name: "other", req: envoy.Request{Path: "/", Headers: map[string]string{"x-h": "b"}}, status: 200},
		})
		if n := len(routesOf(t, res, "rds_ingress_http_8080")); n != 2 {
			t.Errorf("%d Envoy routes, want 2", n)
		}
	}
	// Criteria refusing the empty value need no expansion.
	v := "1"
	g := oneRoute(ir.GatewayRoute{Name: "r", Match: ir.Match{Prefix: "/", Headers: []ir.HeaderMatch{{Name: "x-h", Exact: &v, Invert: true}, {Name: "x-p", Invert: true}}}}, ir.Route{})
	res := run(t, g, []probe{
		{name: "both absent", req: envoy.Request{Path: "/"}, status: 200},
		{name: "refused value", req: envoy.Request{Path: "/", Headers: map[string]string{"x-h": "1"}}, status: 404},
		{name: "inverted presence", req: envoy.Request{Path: "/", Headers: map[string]string{"x-p": ""}}, status: 404},
	})
	if n := len(routesOf(t, res, "rds_ingress_http_8080")); n != 1 {
		t.Errorf("%d Envoy routes, want 1", n)
	}
}

// TestServiceNamesInTheHop: names differing only in case, or holding
// characters an authority cannot, still reach their own router stage.
func TestServiceNamesInTheHop(t *testing.T) {
	names := []string{"Svc.Local", "svc.local", "a b:c%d", "a%20b:c%25d"}
	g := &ir.Gateway{Mesh: "m", Name: "gw", Listeners: []ir.Listener{{Port: 8080, Protocol: ir.HTTP,
		VirtualHosts: []ir.VirtualHost{{Name: "any", Domains: []string{"*"}}}}}}
	var probes []probe
	for i, n := range names {
		cluster := fmt.Sprintf("cds_egress_m_n%d_http_9080", i)
		g.Listeners[0].VirtualHosts[0].Routes = append(g.Listeners[0].VirtualHosts[0].Routes, ir.GatewayRoute{
			Name: n, Match: ir.Match{Prefix: fmt.Sprintf("/%d", i)}, Action: ir.GatewayRouteAction{Service: n, Port: 9080, HostRewrite: n}})
		g.Services = append(g.Services, ir.Service{Name: n, Port: 9080, Provider: "virtualNode/n", Protocol: ir.HTTP,
			Routes: []ir.Route{{Targets: []ir.WeightedTarget{{Cluster: cluster, Weight: 1}}}}})
		g.Clusters = append(g.Clusters, ir.Cluster{Name: cluster, Node: "n", Port: 9080, Protocol: ir.HTTP,
			Discovery: ir.Discovery{Hostname: "n.local", Port: 9080}})
		probes = append(probes, probe{name: n, req: envoy.Request{Path: fmt.Sprintf("/%d", i)}, status: 200, host: n})
	}
	res := run(t, g, probes)
	for i, p := range probes {
		got, err := envoy.Evaluate(res, envoy.Request{Port: 8080, Path: p.req.Path})
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("cds_egress_m_n%d_http_9080", i); got.Cluster != want {
			t.Errorf("%s: cluster %s, want %s", p.name, got.Cluster, want)
		}
	}
}

func TestWeightsAndTimeouts(t *testing.T) {
	g := oneRoute(ir.GatewayRoute{Name: "r", Match: ir.Match{Prefix: "/"}}, ir.Route{Name: "zero", Match: ir.Match{Prefix: "/"},
		Targets: []ir.WeightedTarget{{Cluster: "cds_egress_m_n_http_9080", Weight: 0}}})
	run(t, g, []probe{{name: "all weights 0", req: envoy.Request{Path: "/"}, status: 503}})

	g = oneRoute(ir.GatewayRoute{Name: "r", Match: ir.Match{Prefix: "/"}}, ir.Route{Name: "t", Match: ir.Match{Prefix: "/"}})
	res, err := envoy.Translate(g, envoy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := routesOf(t, res, "rds_egress_15001")[0].GetRoute()
	if a.GetTimeout().AsDuration() != 0 || a.GetTimeout() == nil || a.GetIdleTimeout() == nil {
		t.Errorf("IR timeout 0 must be an explicit 0s (Envoy's unset means 15s): %v / %v", a.GetTimeout(), a.GetIdleTimeout())
	}
	in := routesOf(t, res, "rds_ingress_http_8080")[0].GetRoute()
	if in.GetTimeout() == nil || in.GetTimeout().AsDuration() != 0 {
		t.Errorf("the hop must not add a timeout: %v", in.GetTimeout())
	}
}

func TestRetryPolicy(t *testing.T) {
	g := oneRoute(ir.GatewayRoute{Name: "r", Match: ir.Match{Prefix: "/"}}, ir.Route{Name: "t", Match: ir.Match{Prefix: "/"},
		Timeout: ir.Duration(30 * time.Second),
		Retry: &ir.RetryPolicy{MaxRetries: 3, PerTryTimeout: ir.Duration(500 * time.Millisecond),
			HTTPEvents:  []string{"server-error", "gateway-error", "client-error", "stream-error"},
			TCPEvents:   []string{"connection-error"},
			GRPCEvents:  []string{"cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable"},
			StatusCodes: []uint32{503}}})
	res, err := envoy.Translate(g, envoy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := routesOf(t, res, "rds_egress_15001")[0].GetRoute().GetRetryPolicy()
	want := "5xx,gateway-error,reset,retriable-4xx,refused-stream,connect-failure,cancelled,deadline-exceeded,internal,resource-exhausted,unavailable,retriable-status-codes"
	if p.GetRetryOn() != want || p.GetNumRetries().GetValue() != 3 || p.GetPerTryTimeout().AsDuration() != 500*time.Millisecond ||
		len(p.GetRetriableStatusCodes()) != 1 || p.GetRetriableStatusCodes()[0] != 503 {
		t.Errorf("retry policy %v, want retry_on %s", p, want)
	}
	g.Services[0].Routes[0].Retry.HTTPEvents = []string{"bogus"}
	if _, err := envoy.Translate(g, envoy.Options{}); err == nil {
		t.Error("an unknown retry event must fail the translation")
	}
}

// TestRefusals: IRs Envoy would reject fail the translation instead.
func TestRefusals(t *testing.T) {
	bad := "("
	for name, mutate := range map[string]func(g *ir.Gateway){
		"bad path regex": func(g *ir.Gateway) { g.Listeners[0].VirtualHosts[0].Routes[0].Match = ir.Match{PathRegex: bad} },
		"bad header regex": func(g *ir.Gateway) {
			g.Services[0].Routes[0].Match.Headers = []ir.HeaderMatch{{Name: "x", Regex: &bad}}
		},
		"two listeners on one port": func(g *ir.Gateway) {
			g.Listeners = append(g.Listeners, ir.Listener{Port: 8080, Protocol: ir.HTTP, VirtualHosts: []ir.VirtualHost{{Name: "b", Domains: []string{"*"}}}})
		},
		"listener on the egress port": func(g *ir.Gateway) { g.Listeners[0].Port = envoy.DefaultEgressPort },
		"unknown cluster":             func(g *ir.Gateway) { g.Services[0].Routes[0].Targets[0].Cluster = "nope" },
		"duplicate domain": func(g *ir.Gateway) {
			g.Listeners[0].VirtualHosts = append(g.Listeners[0].VirtualHosts, ir.VirtualHost{Name: "b", Domains: []string{"*"}})
		},
		"unknown IP preference": func(g *ir.Gateway) { g.Clusters[0].Discovery.IPPreference = "IPv5" },
		"strict TLS without certificate": func(g *ir.Gateway) {
			g.Listeners[0].TLS = &ir.ListenerTLS{Mode: ir.TLSStrict}
		},
	} {
		g := oneRoute(ir.GatewayRoute{Name: "r", Match: ir.Match{Prefix: "/"}}, ir.Route{Match: ir.Match{Prefix: "/"}})
		mutate(g)
		if _, err := envoy.Translate(g, envoy.Options{}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func routesOf(t *testing.T, res *envoy.Resources, name string) []*route.Route {
	t.Helper()
	for _, r := range res.Routes {
		if rc := r.(*route.RouteConfiguration); rc.GetName() == name {
			var out []*route.Route
			for _, vh := range rc.GetVirtualHosts() {
				if vh.GetName() != "egress_not_found" {
					out = append(out, vh.GetRoutes()...)
				}
			}
			return out
		}
	}
	t.Fatalf("no route configuration %s", name)
	return nil
}
