package envoy_test

import (
	"fmt"
	"testing"

	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"github.com/meshgate/meshgate/internal/appmesh"
	"github.com/meshgate/meshgate/internal/model"
	"github.com/meshgate/meshgate/internal/translate"
	"github.com/meshgate/meshgate/internal/translate/envoy"
	"google.golang.org/protobuf/proto"
)

// BenchmarkTranslate measures the model → IR → Envoy pipeline of one
// gateway with n gateway routes (run by bench/translate.sh): stage=ir is
// translate.Gateway, stage=envoy is envoy.Translate (validation included),
// stage=both is what a configuration change costs. xds-bytes is the size
// of the resources as sent.
func BenchmarkTranslate(b *testing.B) {
	for _, n := range []int{10, 100, 1000, 10000} {
		m := benchModel(n)
		g, err := translate.Gateway(m)
		if err != nil {
			b.Fatal(err)
		}
		res, err := envoy.Translate(g, envoy.Options{})
		if err != nil {
			b.Fatal(err)
		}
		size := resourceBytes(b, res)
		b.Run(fmt.Sprintf("stage=ir/routes=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := translate.Gateway(m); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("stage=envoy/routes=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := envoy.Translate(g, envoy.Options{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(size), "xds-bytes")
		})
		b.Run(fmt.Sprintf("stage=both/routes=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				g, err := translate.Gateway(m)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := envoy.Translate(g, envoy.Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func resourceBytes(b *testing.B, res *envoy.Resources) int {
	n := 0
	for _, rs := range [][]types.Resource{res.Listeners, res.Routes, res.Clusters} {
		for _, r := range rs {
			raw, err := proto.MarshalOptions{Deterministic: true}.Marshal(r)
			if err != nil {
				b.Fatal(err)
			}
			n += len(raw)
		}
	}
	return n
}

// benchModel is a gateway snapshot built in memory: one http listener,
// n gateway routes spread over max(1, min(n/10, 100)) virtual services.
// Every service is a router with three routes (a header match, a 50/50
// split, a catch-all) over two nodes with health checks. One gateway route
// in five also matches a header, one in seven a hostname (20 hostnames).
func benchModel(n int) *model.Gateway {
	services := min(max(n/10, 1), 100)
	m := &model.Gateway{
		Mesh:     "bench",
		MeshSpec: &appmesh.MeshSpec{},
		Gateway: model.Resource[appmesh.VirtualGatewaySpec]{Name: "gw", UID: "uid", Version: 1, Spec: &appmesh.VirtualGatewaySpec{
			Listeners: []appmesh.VirtualGatewayListener{{PortMapping: &appmesh.VirtualGatewayPortMapping{Port: new(int64(8080)), Protocol: new("http")}}},
		}},
		Services: map[string]model.Resource[appmesh.VirtualServiceSpec]{},
		Routers:  map[string]model.Resource[appmesh.VirtualRouterSpec]{},
		Routes:   map[string][]model.Resource[appmesh.RouteSpec]{},
		Nodes:    map[string]model.Resource[appmesh.VirtualNodeSpec]{},
	}
	for s := range services {
		svc, vr := fmt.Sprintf("svc-%d.bench.local", s), fmt.Sprintf("vr-%d", s)
		m.Services[svc] = model.Resource[appmesh.VirtualServiceSpec]{Name: svc, Spec: &appmesh.VirtualServiceSpec{
			Provider: &appmesh.VirtualServiceProvider{VirtualRouter: &appmesh.VirtualRouterServiceProvider{VirtualRouterName: new(vr)}},
		}}
		m.Routers[vr] = model.Resource[appmesh.VirtualRouterSpec]{Name: vr, Spec: &appmesh.VirtualRouterSpec{
			Listeners: []appmesh.VirtualRouterListener{{PortMapping: &appmesh.PortMapping{Port: new(int64(9080)), Protocol: new("http")}}},
		}}
		a, b := fmt.Sprintf("node-%d-a", s), fmt.Sprintf("node-%d-b", s)
		for _, node := range []string{a, b} {
			m.Nodes[node] = model.Resource[appmesh.VirtualNodeSpec]{Name: node, Spec: &appmesh.VirtualNodeSpec{
				Listeners: []appmesh.Listener{{
					PortMapping: &appmesh.PortMapping{Port: new(int64(9080)), Protocol: new("http")},
					HealthCheck: &appmesh.HealthCheckPolicy{HealthyThreshold: new(int64(2)), UnhealthyThreshold: new(int64(2)),
						IntervalMillis: new(int64(5000)), TimeoutMillis: new(int64(2000)), Protocol: new("http"), Path: new("/ping")},
				}},
				ServiceDiscovery: &appmesh.ServiceDiscovery{Dns: &appmesh.DnsServiceDiscovery{Hostname: new(node + ".bench.local")}},
			}}
		}
		target := func(node string, w int64) appmesh.WeightedTarget {
			return appmesh.WeightedTarget{VirtualNode: new(node), Weight: new(w)}
		}
		m.Routes[vr] = []model.Resource[appmesh.RouteSpec]{
			{Name: "canary", Spec: &appmesh.RouteSpec{HttpRoute: &appmesh.HttpRoute{
				Match: &appmesh.HttpRouteMatch{Prefix: new("/"), Headers: []appmesh.HttpRouteHeader{{Name: new("x-canary"),
					Match: &appmesh.HeaderMatchMethod{Exact: new("1")}}}},
				Action: &appmesh.HttpRouteAction{WeightedTargets: []appmesh.WeightedTarget{target(b, 1)}},
			}}},
			{Name: "default", Spec: &appmesh.RouteSpec{HttpRoute: &appmesh.HttpRoute{
				Match:  &appmesh.HttpRouteMatch{Prefix: new("/")},
				Action: &appmesh.HttpRouteAction{WeightedTargets: []appmesh.WeightedTarget{target(a, 1)}},
			}}},
			{Name: "split", Spec: &appmesh.RouteSpec{HttpRoute: &appmesh.HttpRoute{
				Match:  &appmesh.HttpRouteMatch{Prefix: new("/split")},
				Action: &appmesh.HttpRouteAction{WeightedTargets: []appmesh.WeightedTarget{target(a, 50), target(b, 50)}},
			}}},
		}
	}
	for i := range n {
		match := &appmesh.HttpGatewayRouteMatch{Prefix: new(fmt.Sprintf("/g%d", i))}
		if i%5 == 0 {
			match.Headers = []appmesh.HttpGatewayRouteHeader{{Name: new("x-tenant"), Match: &appmesh.HeaderMatchMethod{Exact: new(fmt.Sprint(i % 3))}}}
		}
		if i%7 == 0 {
			match.Hostname = &appmesh.GatewayRouteHostnameMatch{Exact: new(fmt.Sprintf("h%d.example.com", i%20))}
		}
		m.GatewayRoutes = append(m.GatewayRoutes, model.Resource[appmesh.GatewayRouteSpec]{
			Name: fmt.Sprintf("route-%05d", i),
			Spec: &appmesh.GatewayRouteSpec{HttpRoute: &appmesh.HttpGatewayRoute{
				Match: match,
				Action: &appmesh.HttpGatewayRouteAction{Target: &appmesh.GatewayRouteTarget{
					VirtualService: &appmesh.GatewayRouteVirtualService{VirtualServiceName: new(fmt.Sprintf("svc-%d.bench.local", i%services))},
				}},
			}},
		})
	}
	return m
}
