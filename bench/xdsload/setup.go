package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"
	"github.com/aws/aws-sdk-go-v2/service/appmesh/types"
)

// The server's identity, and the names of what the tool creates.
const (
	region    = "us-east-1"
	account   = "111122223333"
	meshName  = "scale"
	otherMesh = "scale-other" // holds the unrelated resources of (c)
	orphan    = "orphan"      // a virtual node nothing references
	port      = 8080
)

func gatewayName(g int) string         { return fmt.Sprintf("gw%02d", g) }
func routeName(r int) string           { return fmt.Sprintf("r%03d", r) }
func nodeName(n int) string            { return fmt.Sprintf("vn%02d", n) }
func serviceName(n int) string         { return fmt.Sprintf("svc%02d.%s.local", n, meshName) }
func nodeID(mesh string, g int) string { return "mesh/" + mesh + "/virtualGateway/" + gatewayName(g) }

// api is the App Mesh API of the server, through aws-sdk-go-v2. Each call's
// last HTTP response time is kept: that is "the API's 200" a change is
// measured from (the SDK's own decoding after it is not counted).
type api struct {
	c       *appmesh.Client
	lastRsp atomic.Int64 // unix nanoseconds of the last response's headers
}

type timingTransport struct {
	base http.RoundTripper
	a    *api
}

func (t timingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if err == nil {
		t.a.lastRsp.Store(time.Now().UnixNano())
	}
	return resp, err
}

func newAPI(endpoint string) *api {
	a := &api{}
	hc := &http.Client{Timeout: 60 * time.Second, Transport: timingTransport{base: &http.Transport{MaxIdleConnsPerHost: 16}, a: a}}
	a.c = appmesh.New(appmesh.Options{
		BaseEndpoint: aws.String(endpoint),
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDXDSLOAD", "secret", ""),
		HTTPClient:   hc,
		Retryer:      aws.NopRetryer{},
	})
	return a
}

func (a *api) lastResponse() time.Time { return time.Unix(0, a.lastRsp.Load()) }

// layout is what the tool creates: in mesh "scale", services virtual nodes
// each providing one virtual service, gateways virtual gateways with one
// HTTP listener, routes gateway routes on each (route r targets service
// r % services, so every gateway references every service), and the
// orphan virtual node; in mesh "scale-other", one virtual node, service,
// gateway (no client connects to it) and route.
type layout struct {
	Gateways, Routes, Services int
}

func nodeSpec(host string) *types.VirtualNodeSpec {
	return &types.VirtualNodeSpec{
		Listeners:        []types.Listener{{PortMapping: &types.PortMapping{Port: aws.Int32(port), Protocol: types.PortProtocolHttp}}},
		ServiceDiscovery: &types.ServiceDiscoveryMemberDns{Value: types.DnsServiceDiscovery{Hostname: aws.String(host)}},
	}
}

func routeSpec(prefix, service string) *types.GatewayRouteSpec {
	return &types.GatewayRouteSpec{HttpRoute: &types.HttpGatewayRoute{
		Match: &types.HttpGatewayRouteMatch{Prefix: aws.String(prefix)},
		Action: &types.HttpGatewayRouteAction{Target: &types.GatewayRouteTarget{
			VirtualService: &types.GatewayRouteVirtualService{VirtualServiceName: aws.String(service)}}},
	}}
}

func gatewaySpec() *types.VirtualGatewaySpec {
	return &types.VirtualGatewaySpec{Listeners: []types.VirtualGatewayListener{{
		PortMapping: &types.VirtualGatewayPortMapping{Port: aws.Int32(port), Protocol: types.VirtualGatewayPortProtocolHttp}}}}
}

func routePrefix(r, version int) string {
	if version == 0 {
		return fmt.Sprintf("/%s/", routeName(r))
	}
	return fmt.Sprintf("/%s-v%d/", routeName(r), version)
}

func nodeHost(n, version int) string {
	return fmt.Sprintf("backend-%02d-v%d.%s.local", n, version, meshName)
}

// create makes every resource of the layout with workers concurrent calls.
func (a *api) create(ctx context.Context, l layout, workers int) error {
	for _, m := range []string{meshName, otherMesh} {
		if _, err := a.c.CreateMesh(ctx, &appmesh.CreateMeshInput{MeshName: aws.String(m)}); err != nil {
			return fmt.Errorf("create mesh %s: %w", m, err)
		}
	}
	var calls []func() error
	add := func(f func() error) { calls = append(calls, f) }
	for n := range l.Services {
		add(func() error {
			_, err := a.c.CreateVirtualNode(ctx, &appmesh.CreateVirtualNodeInput{MeshName: aws.String(meshName),
				VirtualNodeName: aws.String(nodeName(n)), Spec: nodeSpec(nodeHost(n, 0))})
			return err
		})
	}
	add(func() error {
		_, err := a.c.CreateVirtualNode(ctx, &appmesh.CreateVirtualNodeInput{MeshName: aws.String(meshName),
			VirtualNodeName: aws.String(orphan), Spec: nodeSpec("orphan-v0.scale.local")})
		return err
	})
	add(func() error {
		_, err := a.c.CreateVirtualNode(ctx, &appmesh.CreateVirtualNodeInput{MeshName: aws.String(otherMesh),
			VirtualNodeName: aws.String(nodeName(0)), Spec: nodeSpec("other-v0.scale.local")})
		return err
	})
	if err := parallel(workers, calls); err != nil {
		return err
	}
	calls = nil
	for n := range l.Services {
		add(func() error {
			_, err := a.c.CreateVirtualService(ctx, &appmesh.CreateVirtualServiceInput{MeshName: aws.String(meshName),
				VirtualServiceName: aws.String(serviceName(n)), Spec: &types.VirtualServiceSpec{
					Provider: &types.VirtualServiceProviderMemberVirtualNode{Value: types.VirtualNodeServiceProvider{
						VirtualNodeName: aws.String(nodeName(n))}}}})
			return err
		})
	}
	add(func() error {
		_, err := a.c.CreateVirtualService(ctx, &appmesh.CreateVirtualServiceInput{MeshName: aws.String(otherMesh),
			VirtualServiceName: aws.String("other.local"), Spec: &types.VirtualServiceSpec{
				Provider: &types.VirtualServiceProviderMemberVirtualNode{Value: types.VirtualNodeServiceProvider{
					VirtualNodeName: aws.String(nodeName(0))}}}})
		return err
	})
	for g := range l.Gateways {
		add(func() error {
			_, err := a.c.CreateVirtualGateway(ctx, &appmesh.CreateVirtualGatewayInput{MeshName: aws.String(meshName),
				VirtualGatewayName: aws.String(gatewayName(g)), Spec: gatewaySpec()})
			return err
		})
	}
	add(func() error {
		_, err := a.c.CreateVirtualGateway(ctx, &appmesh.CreateVirtualGatewayInput{MeshName: aws.String(otherMesh),
			VirtualGatewayName: aws.String(gatewayName(0)), Spec: gatewaySpec()})
		return err
	})
	if err := parallel(workers, calls); err != nil {
		return err
	}
	calls = nil
	for g := range l.Gateways {
		for r := range l.Routes {
			add(func() error {
				_, err := a.c.CreateGatewayRoute(ctx, &appmesh.CreateGatewayRouteInput{MeshName: aws.String(meshName),
					VirtualGatewayName: aws.String(gatewayName(g)), GatewayRouteName: aws.String(routeName(r)),
					Spec: routeSpec(routePrefix(r, 0), serviceName(r%l.Services))})
				return err
			})
		}
	}
	add(func() error {
		_, err := a.c.CreateGatewayRoute(ctx, &appmesh.CreateGatewayRouteInput{MeshName: aws.String(otherMesh),
			VirtualGatewayName: aws.String(gatewayName(0)), GatewayRouteName: aws.String(routeName(0)),
			Spec: routeSpec(routePrefix(0, 0), "other.local")})
		return err
	})
	return parallel(workers, calls)
}

// updateRoute rewrites the prefix of one gateway route (a change that
// affects exactly the clients of that gateway) and returns the time of
// the API's response.
func (a *api) updateRoute(ctx context.Context, mesh string, g, r, version int, service string) (time.Time, error) {
	_, err := a.c.UpdateGatewayRoute(ctx, &appmesh.UpdateGatewayRouteInput{MeshName: aws.String(mesh),
		VirtualGatewayName: aws.String(gatewayName(g)), GatewayRouteName: aws.String(routeName(r)),
		Spec: routeSpec(routePrefix(r, version), service)})
	return a.lastResponse(), err
}

// updateNode changes a virtual node's DNS hostname and returns the time of
// the API's response.
func (a *api) updateNode(ctx context.Context, mesh, node, host string) (time.Time, error) {
	_, err := a.c.UpdateVirtualNode(ctx, &appmesh.UpdateVirtualNodeInput{MeshName: aws.String(mesh),
		VirtualNodeName: aws.String(node), Spec: nodeSpec(host)})
	return a.lastResponse(), err
}

// parallel runs calls on workers goroutines; the first error wins.
func parallel(workers int, calls []func() error) error {
	next := make(chan func() error)
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Go(func() {
			for f := range next {
				if err := f(); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		})
	}
	for _, f := range calls {
		next <- f
	}
	close(next)
	wg.Wait()
	return first
}
