package api_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"
	"github.com/aws/aws-sdk-go-v2/service/appmesh/types"
)

// TestVirtualRouterLifecycle drives the five virtual router operations.
func TestVirtualRouterLifecycle(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	mkMesh(t, c, "m")

	spec := routerSpec(types.PortProtocolHttp, 8080)
	created := res(c.CreateVirtualRouter(ctx(t), &appmesh.CreateVirtualRouterInput{
		MeshName: aws.String("m"), VirtualRouterName: aws.String("vr"), Spec: spec,
	})).ok(t).VirtualRouter
	if deref(created.MeshName) != "m" || deref(created.VirtualRouterName) != "vr" {
		t.Errorf("names = %q/%q", deref(created.MeshName), deref(created.VirtualRouterName))
	}
	checkCreated(t, "CreateVirtualRouter", created.Metadata, arnPrefix+"mesh/m/virtualRouter/vr")
	if created.Status == nil || created.Status.Status != types.VirtualRouterStatusCodeActive {
		t.Errorf("status = %+v", created.Status)
	}
	sameSpec(t, "CreateVirtualRouter", spec, created.Spec)

	desc := res(c.DescribeVirtualRouter(ctx(t), &appmesh.DescribeVirtualRouterInput{MeshName: aws.String("m"), VirtualRouterName: aws.String("vr")})).ok(t).VirtualRouter
	sameSpec(t, "DescribeVirtualRouter", created, desc)

	spec2 := &types.VirtualRouterSpec{Listeners: []types.VirtualRouterListener{
		{PortMapping: &types.PortMapping{Port: aws.Int32(3333), Protocol: types.PortProtocolHttp2}},
		{PortMapping: &types.PortMapping{Port: aws.Int32(4444), Protocol: types.PortProtocolGrpc}},
	}}
	updated := res(c.UpdateVirtualRouter(ctx(t), &appmesh.UpdateVirtualRouterInput{
		MeshName: aws.String("m"), VirtualRouterName: aws.String("vr"), Spec: spec2, MeshOwner: aws.String(testAccount),
	})).ok(t).VirtualRouter
	checkUpdated(t, "UpdateVirtualRouter", created.Metadata, updated.Metadata)
	sameSpec(t, "UpdateVirtualRouter", spec2, updated.Spec)

	list := res(c.ListVirtualRouters(ctx(t), &appmesh.ListVirtualRoutersInput{MeshName: aws.String("m")})).ok(t)
	if len(list.VirtualRouters) != 1 || list.NextToken != nil {
		t.Fatalf("ListVirtualRouters = %s", dump(list))
	}
	r := list.VirtualRouters[0]
	if deref(r.MeshName) != "m" || deref(r.VirtualRouterName) != "vr" {
		t.Errorf("ref names = %q/%q", deref(r.MeshName), deref(r.VirtualRouterName))
	}
	checkRef(t, "VirtualRouterRef", updated.Metadata, r.Arn, r.CreatedAt, r.LastUpdatedAt, r.MeshOwner, r.ResourceOwner, r.Version)

	deleted := res(c.DeleteVirtualRouter(ctx(t), &appmesh.DeleteVirtualRouterInput{MeshName: aws.String("m"), VirtualRouterName: aws.String("vr")})).ok(t).VirtualRouter
	checkDeleted(t, "DeleteVirtualRouter", updated.Metadata, deleted.Metadata, false)
	if deleted.Status.Status != types.VirtualRouterStatusCodeDeleted {
		t.Errorf("delete status = %q", deleted.Status.Status)
	}
	sameSpec(t, "DeleteVirtualRouter", spec2, deleted.Spec)
	_, err := c.DescribeVirtualRouter(ctx(t), &appmesh.DescribeVirtualRouterInput{MeshName: aws.String("m"), VirtualRouterName: aws.String("vr")})
	notFound(t, err, "vr")
	if l := res(c.ListVirtualRouters(ctx(t), &appmesh.ListVirtualRoutersInput{MeshName: aws.String("m")})).ok(t); len(l.VirtualRouters) != 0 {
		t.Errorf("routers after delete = %s", dump(l.VirtualRouters))
	}
	// A router whose listeners were removed was not accepted (at least one listener).
	_, err = c.CreateVirtualRouter(ctx(t), &appmesh.CreateVirtualRouterInput{MeshName: aws.String("m"), VirtualRouterName: aws.String("vr"), Spec: &types.VirtualRouterSpec{}})
	badRequest(t, err, "listeners")
}

// TestRouteLifecycle drives the five route operations.
func TestRouteLifecycle(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	mkMesh(t, c, "m")
	mkRouter(t, c, "m", "vr", 8080)
	mkNode(t, c, "m", "a", 80)
	mkNode(t, c, "m", "b", 80)

	sec := func(v int64) *types.Duration { return &types.Duration{Value: aws.Int64(v), Unit: types.DurationUnitS} }
	spec := &types.RouteSpec{HttpRoute: &types.HttpRoute{
		Match: &types.HttpRouteMatch{
			Prefix: aws.String("/api"),
			Method: types.HttpMethodPost,
			Headers: []types.HttpRouteHeader{
				{Name: aws.String("x-canary"), Match: &types.HeaderMatchMethodMemberExact{Value: "yes"}},
				{Name: aws.String("x-version"), Invert: aws.Bool(true), Match: &types.HeaderMatchMethodMemberRange{Value: types.MatchRange{Start: aws.Int64(1), End: aws.Int64(5)}}},
				{Name: aws.String("x-present")},
			},
			QueryParameters: []types.HttpQueryParameter{{Name: aws.String("q"), Match: &types.QueryParameterMatch{Exact: aws.String("1")}}},
		},
		Action: &types.HttpRouteAction{WeightedTargets: []types.WeightedTarget{
			{VirtualNode: aws.String("a"), Weight: 30},
			{VirtualNode: aws.String("b"), Weight: 70, Port: aws.Int32(80)},
		}},
		RetryPolicy: &types.HttpRetryPolicy{MaxRetries: aws.Int64(3), PerRetryTimeout: sec(2),
			HttpRetryEvents: []string{"server-error", "gateway-error"}, TcpRetryEvents: []types.TcpRetryPolicyEvent{types.TcpRetryPolicyEventConnectionError}},
		Timeout: &types.HttpTimeout{PerRequest: sec(30)},
	}}
	created := res(c.CreateRoute(ctx(t), &appmesh.CreateRouteInput{
		MeshName: aws.String("m"), VirtualRouterName: aws.String("vr"), RouteName: aws.String("r"), Spec: spec,
	})).ok(t).Route
	if deref(created.MeshName) != "m" || deref(created.VirtualRouterName) != "vr" || deref(created.RouteName) != "r" {
		t.Errorf("names = %q/%q/%q", deref(created.MeshName), deref(created.VirtualRouterName), deref(created.RouteName))
	}
	checkCreated(t, "CreateRoute", created.Metadata, arnPrefix+"mesh/m/virtualRouter/vr/route/r")
	if created.Status == nil || created.Status.Status != types.RouteStatusCodeActive {
		t.Errorf("status = %+v", created.Status)
	}
	sameSpec(t, "CreateRoute", spec, created.Spec)
	if created.Spec.Priority != nil {
		t.Errorf("priority filled in: %d", *created.Spec.Priority)
	}

	desc := res(c.DescribeRoute(ctx(t), &appmesh.DescribeRouteInput{MeshName: aws.String("m"), VirtualRouterName: aws.String("vr"), RouteName: aws.String("r")})).ok(t).Route
	sameSpec(t, "DescribeRoute", created, desc)

	spec2 := httpRouteSpec("/", "b", 0)
	spec2.Priority = aws.Int32(0)
	updated := res(c.UpdateRoute(ctx(t), &appmesh.UpdateRouteInput{
		MeshName: aws.String("m"), VirtualRouterName: aws.String("vr"), RouteName: aws.String("r"), Spec: spec2,
	})).ok(t).Route
	checkUpdated(t, "UpdateRoute", created.Metadata, updated.Metadata)
	sameSpec(t, "UpdateRoute", spec2, updated.Spec)
	if deref(updated.Spec.Priority) != 0 || updated.Spec.Priority == nil {
		t.Errorf("priority 0 not kept: %v", updated.Spec.Priority)
	}

	list := res(c.ListRoutes(ctx(t), &appmesh.ListRoutesInput{MeshName: aws.String("m"), VirtualRouterName: aws.String("vr")})).ok(t)
	if len(list.Routes) != 1 || list.NextToken != nil {
		t.Fatalf("ListRoutes = %s", dump(list))
	}
	r := list.Routes[0]
	if deref(r.MeshName) != "m" || deref(r.VirtualRouterName) != "vr" || deref(r.RouteName) != "r" {
		t.Errorf("ref names = %s", dump(r))
	}
	checkRef(t, "RouteRef", updated.Metadata, r.Arn, r.CreatedAt, r.LastUpdatedAt, r.MeshOwner, r.ResourceOwner, r.Version)

	deleted := res(c.DeleteRoute(ctx(t), &appmesh.DeleteRouteInput{MeshName: aws.String("m"), VirtualRouterName: aws.String("vr"), RouteName: aws.String("r")})).ok(t).Route
	checkDeleted(t, "DeleteRoute", updated.Metadata, deleted.Metadata, false)
	if deleted.Status.Status != types.RouteStatusCodeDeleted {
		t.Errorf("delete status = %q", deleted.Status.Status)
	}
	sameSpec(t, "DeleteRoute", spec2, deleted.Spec)
	_, err := c.DescribeRoute(ctx(t), &appmesh.DescribeRouteInput{MeshName: aws.String("m"), VirtualRouterName: aws.String("vr"), RouteName: aws.String("r")})
	notFound(t, err, "r")
	if l := res(c.ListRoutes(ctx(t), &appmesh.ListRoutesInput{MeshName: aws.String("m"), VirtualRouterName: aws.String("vr")})).ok(t); len(l.Routes) != 0 {
		t.Errorf("routes after delete = %s", dump(l.Routes))
	}
}

// TestRouteProtocols creates one route of each type on a router with a
// listener of each protocol.
func TestRouteProtocols(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	mkMesh(t, c, "m")
	res(c.CreateVirtualRouter(ctx(t), &appmesh.CreateVirtualRouterInput{MeshName: aws.String("m"), VirtualRouterName: aws.String("vr"),
		Spec: &types.VirtualRouterSpec{Listeners: []types.VirtualRouterListener{
			{PortMapping: &types.PortMapping{Port: aws.Int32(1), Protocol: types.PortProtocolHttp}},
			{PortMapping: &types.PortMapping{Port: aws.Int32(2), Protocol: types.PortProtocolHttp2}},
			{PortMapping: &types.PortMapping{Port: aws.Int32(3), Protocol: types.PortProtocolGrpc}},
			{PortMapping: &types.PortMapping{Port: aws.Int32(4), Protocol: types.PortProtocolTcp}},
		}}})).ok(t)
	// One node per protocol: a route's type must match its target's listener.
	wt := map[types.PortProtocol][]types.WeightedTarget{}
	for _, p := range []types.PortProtocol{types.PortProtocolHttp, types.PortProtocolHttp2, types.PortProtocolGrpc, types.PortProtocolTcp} {
		name := "n-" + string(p)
		spec := nodeSpec(name+".local", 80)
		spec.Listeners[0].PortMapping.Protocol = p
		res(c.CreateVirtualNode(ctx(t), &appmesh.CreateVirtualNodeInput{MeshName: aws.String("m"), VirtualNodeName: aws.String(name), Spec: spec})).ok(t)
		wt[p] = []types.WeightedTarget{{VirtualNode: aws.String(name), Weight: 100}}
	}
	specs := map[string]*types.RouteSpec{
		"http": {HttpRoute: &types.HttpRoute{Match: &types.HttpRouteMatch{Port: aws.Int32(1), Prefix: aws.String("/")}, Action: &types.HttpRouteAction{WeightedTargets: wt[types.PortProtocolHttp]}}},
		"http2": {Http2Route: &types.HttpRoute{Match: &types.HttpRouteMatch{Port: aws.Int32(2), Path: &types.HttpPathMatch{Regex: aws.String("/v[0-9]+/.*")}, Scheme: types.HttpSchemeHttps},
			Action: &types.HttpRouteAction{WeightedTargets: wt[types.PortProtocolHttp2]}}},
		"grpc": {GrpcRoute: &types.GrpcRoute{Match: &types.GrpcRouteMatch{Port: aws.Int32(3), ServiceName: aws.String("color.ColorService"), MethodName: aws.String("Get"),
			Metadata: []types.GrpcRouteMetadata{{Name: aws.String("device"), Match: &types.GrpcRouteMetadataMatchMethodMemberPrefix{Value: "iph"}}}},
			Action: &types.GrpcRouteAction{WeightedTargets: wt[types.PortProtocolGrpc]},
			RetryPolicy: &types.GrpcRetryPolicy{MaxRetries: aws.Int64(1), PerRetryTimeout: &types.Duration{Value: aws.Int64(100), Unit: types.DurationUnitMs},
				GrpcRetryEvents: []types.GrpcRetryPolicyEvent{types.GrpcRetryPolicyEventUnavailable}}}},
		"tcp": {TcpRoute: &types.TcpRoute{Match: &types.TcpRouteMatch{Port: aws.Int32(4)}, Action: &types.TcpRouteAction{WeightedTargets: wt[types.PortProtocolTcp]},
			Timeout: &types.TcpTimeout{Idle: &types.Duration{Value: aws.Int64(60), Unit: types.DurationUnitS}}}},
	}
	for name, spec := range specs {
		got := mkRoute(t, c, "m", "vr", name, spec)
		sameSpec(t, "CreateRoute "+name, spec, got.Spec)
	}
	l := res(c.ListRoutes(ctx(t), &appmesh.ListRoutesInput{MeshName: aws.String("m"), VirtualRouterName: aws.String("vr")})).ok(t)
	var names []string
	for _, r := range l.Routes {
		names = append(names, deref(r.RouteName))
	}
	if dump(names) != `["grpc","http","http2","tcp"]` {
		t.Errorf("routes = %v", names)
	}
}

// TestRouterAndRouteErrors covers the router and route error paths.
func TestRouterAndRouteErrors(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	mkMesh(t, c, "m")
	mkRouter(t, c, "m", "vr", 8080)
	res(c.CreateVirtualRouter(ctx(t), &appmesh.CreateVirtualRouterInput{MeshName: aws.String("m"), VirtualRouterName: aws.String("vr2"),
		Spec: routerSpec(types.PortProtocolHttp, 3333, 4444)})).ok(t)
	res(c.CreateVirtualRouter(ctx(t), &appmesh.CreateVirtualRouterInput{MeshName: aws.String("m"), VirtualRouterName: aws.String("grpcvr"),
		Spec: routerSpec(types.PortProtocolGrpc, 50051)})).ok(t)
	mkNode(t, c, "m", "one", 80)
	mkNode(t, c, "m", "two", 5555, 6666)
	orig := mkRoute(t, c, "m", "vr", "r", httpRouteSpec("/", "one", 0))

	unchanged := func(t *testing.T) {
		t.Helper()
		d := res(c.DescribeRoute(ctx(t), &appmesh.DescribeRouteInput{MeshName: aws.String("m"), VirtualRouterName: aws.String("vr"), RouteName: aws.String("r")})).ok(t).Route
		sameSpec(t, "route after a failed request", orig, d)
		for _, vr := range []string{"vr", "vr2", "grpcvr"} {
			l := res(c.ListRoutes(ctx(t), &appmesh.ListRoutesInput{MeshName: aws.String("m"), VirtualRouterName: aws.String(vr)})).ok(t)
			want := 0
			if vr == "vr" {
				want = 1
			}
			if len(l.Routes) != want {
				t.Errorf("routes of %s after a failed request = %s", vr, dump(l.Routes))
			}
		}
	}
	createRoute := func(router, name string, spec *types.RouteSpec) error {
		_, err := c.CreateRoute(ctx(t), &appmesh.CreateRouteInput{MeshName: aws.String("m"), VirtualRouterName: aws.String(router), RouteName: aws.String(name), Spec: spec})
		return err
	}
	updateRoute := func(spec *types.RouteSpec) error {
		_, err := c.UpdateRoute(ctx(t), &appmesh.UpdateRouteInput{MeshName: aws.String("m"), VirtualRouterName: aws.String("vr"), RouteName: aws.String("r"), Spec: spec})
		return err
	}

	t.Run("missing parent router", func(t *testing.T) {
		notFound(t, createRoute("novr", "r", httpRouteSpec("/", "one", 0)), "novr")
		_, err := c.DescribeRoute(ctx(t), &appmesh.DescribeRouteInput{MeshName: aws.String("m"), VirtualRouterName: aws.String("novr"), RouteName: aws.String("r")})
		notFound(t, err, "r")
		_, err = c.UpdateRoute(ctx(t), &appmesh.UpdateRouteInput{MeshName: aws.String("m"), VirtualRouterName: aws.String("novr"), RouteName: aws.String("r"), Spec: httpRouteSpec("/", "one", 0)})
		notFound(t, err, "novr")
		_, err = c.DeleteRoute(ctx(t), &appmesh.DeleteRouteInput{MeshName: aws.String("m"), VirtualRouterName: aws.String("novr"), RouteName: aws.String("r")})
		notFound(t, err, "r")
		_, err = c.ListRoutes(ctx(t), &appmesh.ListRoutesInput{MeshName: aws.String("m"), VirtualRouterName: aws.String("novr")})
		notFound(t, err, "novr")
		unchanged(t)
	})
	t.Run("missing mesh", func(t *testing.T) {
		_, err := c.CreateVirtualRouter(ctx(t), &appmesh.CreateVirtualRouterInput{MeshName: aws.String("nomesh"), VirtualRouterName: aws.String("vr"), Spec: routerSpec(types.PortProtocolHttp, 80)})
		notFound(t, err, "nomesh")
		_, err = c.ListVirtualRouters(ctx(t), &appmesh.ListVirtualRoutersInput{MeshName: aws.String("nomesh")})
		notFound(t, err, "nomesh")
		_, err = c.ListRoutes(ctx(t), &appmesh.ListRoutesInput{MeshName: aws.String("nomesh"), VirtualRouterName: aws.String("vr")})
		notFound(t, err, "nomesh")
		_, err = c.CreateRoute(ctx(t), &appmesh.CreateRouteInput{MeshName: aws.String("nomesh"), VirtualRouterName: aws.String("vr"), RouteName: aws.String("r"), Spec: httpRouteSpec("/", "one", 0)})
		notFound(t, err, "nomesh")
	})
	t.Run("missing route and router", func(t *testing.T) {
		_, err := c.DescribeRoute(ctx(t), &appmesh.DescribeRouteInput{MeshName: aws.String("m"), VirtualRouterName: aws.String("vr"), RouteName: aws.String("ghost")})
		notFound(t, err, "ghost")
		_, err = c.DeleteRoute(ctx(t), &appmesh.DeleteRouteInput{MeshName: aws.String("m"), VirtualRouterName: aws.String("vr"), RouteName: aws.String("ghost")})
		notFound(t, err, "ghost")
		_, err = c.UpdateRoute(ctx(t), &appmesh.UpdateRouteInput{MeshName: aws.String("m"), VirtualRouterName: aws.String("vr"), RouteName: aws.String("ghost"), Spec: httpRouteSpec("/", "one", 0)})
		notFound(t, err, "ghost")
		_, err = c.DescribeVirtualRouter(ctx(t), &appmesh.DescribeVirtualRouterInput{MeshName: aws.String("m"), VirtualRouterName: aws.String("ghost")})
		notFound(t, err, "ghost")
		_, err = c.UpdateVirtualRouter(ctx(t), &appmesh.UpdateVirtualRouterInput{MeshName: aws.String("m"), VirtualRouterName: aws.String("ghost"), Spec: routerSpec(types.PortProtocolHttp, 80)})
		notFound(t, err, "ghost")
		_, err = c.DeleteVirtualRouter(ctx(t), &appmesh.DeleteVirtualRouterInput{MeshName: aws.String("m"), VirtualRouterName: aws.String("ghost")})
		notFound(t, err, "ghost")
		unchanged(t)
	})
	t.Run("weighted target node missing", func(t *testing.T) {
		notFound(t, createRoute("vr", "r2", httpRouteSpec("/", "nonode", 0)), "VirtualNode", "nonode")
		notFound(t, updateRoute(httpRouteSpec("/", "nonode", 0)), "VirtualNode", "nonode")
		unchanged(t)
	})
	t.Run("duplicate names", func(t *testing.T) {
		conflict(t, createRoute("vr", "r", httpRouteSpec("/x", "one", 0)), "r")
		_, err := c.CreateVirtualRouter(ctx(t), &appmesh.CreateVirtualRouterInput{MeshName: aws.String("m"), VirtualRouterName: aws.String("vr"), Spec: routerSpec(types.PortProtocolHttp, 9)})
		conflict(t, err, "vr")
		d := res(c.DescribeVirtualRouter(ctx(t), &appmesh.DescribeVirtualRouterInput{MeshName: aws.String("m"), VirtualRouterName: aws.String("vr")})).ok(t).VirtualRouter
		sameSpec(t, "router after a failed create", routerSpec(types.PortProtocolHttp, 8080), d.Spec)
		unchanged(t)
	})
	t.Run("route without match.port on a router with two listeners", func(t *testing.T) {
		badRequest(t, createRoute("vr2", "r", httpRouteSpec("/", "one", 0)), "match.port")
		unchanged(t)
	})
	t.Run("route match.port not a listener", func(t *testing.T) {
		s := httpRouteSpec("/", "one", 0)
		s.HttpRoute.Match.Port = aws.Int32(9999)
		badRequest(t, createRoute("vr2", "r", s), "9999")
		unchanged(t)
	})
	t.Run("target port missing for a node with two listeners", func(t *testing.T) {
		badRequest(t, updateRoute(httpRouteSpec("/", "two", 0)), "port", "two")
		unchanged(t)
	})
	t.Run("target port not a listener of the node", func(t *testing.T) {
		badRequest(t, updateRoute(httpRouteSpec("/", "two", 7777)), "7777")
		unchanged(t)
	})
	t.Run("route type does not match the router protocol", func(t *testing.T) {
		badRequest(t, createRoute("grpcvr", "r", httpRouteSpec("/", "one", 0)), "httpRoute", "grpc")
		unchanged(t)
	})
	t.Run("two route types", func(t *testing.T) {
		s := httpRouteSpec("/", "one", 0)
		s.Http2Route = s.HttpRoute
		badRequest(t, updateRoute(s), "spec")
		unchanged(t)
	})
	t.Run("total weight over 100", func(t *testing.T) {
		s := httpRouteSpec("/", "one", 0)
		s.HttpRoute.Action.WeightedTargets[0].Weight = 101
		badRequest(t, updateRoute(s), "weight")
		unchanged(t)
	})
	t.Run("priority 1001", func(t *testing.T) {
		s := httpRouteSpec("/", "one", 0)
		s.Priority = aws.Int32(1001)
		badRequest(t, updateRoute(s), "priority")
		unchanged(t)
	})
	t.Run("bad method enum", func(t *testing.T) {
		s := httpRouteSpec("/", "one", 0)
		s.HttpRoute.Match.Method = "FETCH"
		badRequest(t, updateRoute(s), "method", "FETCH")
		unchanged(t)
	})
	t.Run("listener change that orphans a route", func(t *testing.T) {
		// vr's route r has no match.port; a second listener would leave it unmatched.
		_, err := c.UpdateVirtualRouter(ctx(t), &appmesh.UpdateVirtualRouterInput{MeshName: aws.String("m"), VirtualRouterName: aws.String("vr"),
			Spec: routerSpec(types.PortProtocolHttp, 8080, 8081)})
		badRequest(t, err, "r")
		d := res(c.DescribeVirtualRouter(ctx(t), &appmesh.DescribeVirtualRouterInput{MeshName: aws.String("m"), VirtualRouterName: aws.String("vr")})).ok(t).VirtualRouter
		if deref(d.Metadata.Version) != 1 || len(d.Spec.Listeners) != 1 {
			t.Errorf("router changed by a failed update: %s", dump(d))
		}
		unchanged(t)
	})
}

// TestRouteTypeMustMatchTargetNodeProtocol: reference §12.4 (UG:routes):
// "Route type must match the router listener protocol and the target node
// listener protocol". The server checks only the router's listener, so an
// httpRoute whose only weighted target is a tcp-only node is accepted.
func TestRouteTypeMustMatchTargetNodeProtocol(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	mkMesh(t, c, "m")
	mkRouter(t, c, "m", "vr", 80)
	res(c.CreateVirtualNode(ctx(t), &appmesh.CreateVirtualNodeInput{MeshName: aws.String("m"), VirtualNodeName: aws.String("tcpnode"), Spec: &types.VirtualNodeSpec{
		Listeners:        []types.Listener{{PortMapping: &types.PortMapping{Port: aws.Int32(80), Protocol: types.PortProtocolTcp}}},
		ServiceDiscovery: &types.ServiceDiscoveryMemberDns{Value: types.DnsServiceDiscovery{Hostname: aws.String("tcpnode.local")}},
	}})).ok(t)
	_, err := c.CreateRoute(ctx(t), &appmesh.CreateRouteInput{MeshName: aws.String("m"), VirtualRouterName: aws.String("vr"), RouteName: aws.String("r"),
		Spec: httpRouteSpec("/", "tcpnode", 0)})
	badRequest(t, err, "tcpnode", "tcp")
	if l := res(c.ListRoutes(ctx(t), &appmesh.ListRoutesInput{MeshName: aws.String("m"), VirtualRouterName: aws.String("vr")})).ok(t); len(l.Routes) != 0 {
		t.Errorf("route created despite the error: %s", dump(l.Routes))
	}
}
