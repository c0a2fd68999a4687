package api_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"
	"github.com/aws/aws-sdk-go-v2/service/appmesh/types"
)

// richGatewaySpec uses most of VirtualGatewaySpec; enforce is left out so a
// filled-in default would show.
func richGatewaySpec() *types.VirtualGatewaySpec {
	return &types.VirtualGatewaySpec{
		Listeners: []types.VirtualGatewayListener{
			{
				PortMapping: &types.VirtualGatewayPortMapping{Port: aws.Int32(9080), Protocol: types.VirtualGatewayPortProtocolHttp},
				ConnectionPool: &types.VirtualGatewayConnectionPoolMemberHttp{Value: types.VirtualGatewayHttpConnectionPool{
					MaxConnections: aws.Int32(100)}},
				HealthCheck: &types.VirtualGatewayHealthCheckPolicy{
					HealthyThreshold: aws.Int32(2), UnhealthyThreshold: aws.Int32(10),
					IntervalMillis: aws.Int64(300000), TimeoutMillis: aws.Int64(60000),
					Protocol: types.VirtualGatewayPortProtocolHttp, Path: aws.String("/health"),
				},
				Tls: &types.VirtualGatewayListenerTls{
					Mode: types.VirtualGatewayListenerTlsModePermissive,
					Certificate: &types.VirtualGatewayListenerTlsCertificateMemberFile{Value: types.VirtualGatewayListenerTlsFileCertificate{
						CertificateChain: aws.String("/certs/gw.pem"), PrivateKey: aws.String("/certs/gw.key")}},
					Validation: &types.VirtualGatewayListenerTlsValidationContext{
						Trust: &types.VirtualGatewayListenerTlsValidationContextTrustMemberFile{Value: types.VirtualGatewayTlsValidationContextFileTrust{
							CertificateChain: aws.String("/certs/clients.pem")}},
					},
				},
			},
			{
				PortMapping: &types.VirtualGatewayPortMapping{Port: aws.Int32(50051), Protocol: types.VirtualGatewayPortProtocolGrpc},
				ConnectionPool: &types.VirtualGatewayConnectionPoolMemberGrpc{Value: types.VirtualGatewayGrpcConnectionPool{
					MaxRequests: aws.Int32(7)}},
				HealthCheck: &types.VirtualGatewayHealthCheckPolicy{
					HealthyThreshold: aws.Int32(3), UnhealthyThreshold: aws.Int32(3),
					IntervalMillis: aws.Int64(5000), TimeoutMillis: aws.Int64(2000),
					Protocol: types.VirtualGatewayPortProtocolGrpc, Port: aws.Int32(50051),
				},
			},
		},
		BackendDefaults: &types.VirtualGatewayBackendDefaults{ClientPolicy: &types.VirtualGatewayClientPolicy{Tls: &types.VirtualGatewayClientPolicyTls{
			Ports: []int32{443},
			Certificate: &types.VirtualGatewayClientTlsCertificateMemberFile{Value: types.VirtualGatewayListenerTlsFileCertificate{
				CertificateChain: aws.String("/certs/client.pem"), PrivateKey: aws.String("/certs/client.key")}},
			Validation: &types.VirtualGatewayTlsValidationContext{
				Trust: &types.VirtualGatewayTlsValidationContextTrustMemberSds{Value: types.VirtualGatewayTlsValidationContextSdsTrust{SecretName: aws.String("root-ca")}},
				SubjectAlternativeNames: &types.SubjectAlternativeNames{Match: &types.SubjectAlternativeNameMatchers{
					Exact: []string{"a.example.com", "b.example.com"}}},
			},
		}}},
		Logging: &types.VirtualGatewayLogging{AccessLog: &types.VirtualGatewayAccessLogMemberFile{Value: types.VirtualGatewayFileAccessLog{
			Path:   aws.String("/dev/stdout"),
			Format: &types.LoggingFormatMemberText{Value: "[%START_TIME%] %REQ(:METHOD)% %RESPONSE_CODE% 100%%\n"},
		}}},
	}
}

// TestVirtualGatewayLifecycle drives the five virtual gateway operations
// (reference S9).
func TestVirtualGatewayLifecycle(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	mkMesh(t, c, "m")

	spec := richGatewaySpec()
	created := res(c.CreateVirtualGateway(ctx(t), &appmesh.CreateVirtualGatewayInput{
		MeshName: aws.String("m"), VirtualGatewayName: aws.String("gw"), Spec: spec,
	})).ok(t).VirtualGateway
	if deref(created.MeshName) != "m" || deref(created.VirtualGatewayName) != "gw" {
		t.Errorf("names = %q/%q", deref(created.MeshName), deref(created.VirtualGatewayName))
	}
	checkCreated(t, "CreateVirtualGateway", created.Metadata, arnPrefix+"mesh/m/virtualGateway/gw")
	if created.Status == nil || created.Status.Status != types.VirtualGatewayStatusCodeActive {
		t.Errorf("status = %+v", created.Status)
	}
	sameSpec(t, "CreateVirtualGateway", spec, created.Spec)
	if tls := created.Spec.BackendDefaults.ClientPolicy.Tls; tls.Enforce != nil {
		t.Errorf("enforce default filled in: %v", *tls.Enforce)
	}

	desc := res(c.DescribeVirtualGateway(ctx(t), &appmesh.DescribeVirtualGatewayInput{MeshName: aws.String("m"), VirtualGatewayName: aws.String("gw")})).ok(t).VirtualGateway
	sameSpec(t, "DescribeVirtualGateway", created, desc)

	spec2 := gatewaySpec(types.VirtualGatewayPortProtocolHttp2, 8443)
	updated := res(c.UpdateVirtualGateway(ctx(t), &appmesh.UpdateVirtualGatewayInput{
		MeshName: aws.String("m"), VirtualGatewayName: aws.String("gw"), Spec: spec2,
	})).ok(t).VirtualGateway
	checkUpdated(t, "UpdateVirtualGateway", created.Metadata, updated.Metadata)
	sameSpec(t, "UpdateVirtualGateway", spec2, updated.Spec)

	list := res(c.ListVirtualGateways(ctx(t), &appmesh.ListVirtualGatewaysInput{MeshName: aws.String("m")})).ok(t)
	if len(list.VirtualGateways) != 1 || list.NextToken != nil {
		t.Fatalf("ListVirtualGateways = %s", dump(list))
	}
	r := list.VirtualGateways[0]
	if deref(r.MeshName) != "m" || deref(r.VirtualGatewayName) != "gw" {
		t.Errorf("ref names = %s", dump(r))
	}
	checkRef(t, "VirtualGatewayRef", updated.Metadata, r.Arn, r.CreatedAt, r.LastUpdatedAt, r.MeshOwner, r.ResourceOwner, r.Version)

	deleted := res(c.DeleteVirtualGateway(ctx(t), &appmesh.DeleteVirtualGatewayInput{MeshName: aws.String("m"), VirtualGatewayName: aws.String("gw")})).ok(t).VirtualGateway
	checkDeleted(t, "DeleteVirtualGateway", updated.Metadata, deleted.Metadata, false)
	if deleted.Status.Status != types.VirtualGatewayStatusCodeDeleted {
		t.Errorf("delete status = %q", deleted.Status.Status)
	}
	if deref(deleted.Metadata.Version) != 3 {
		t.Errorf("delete version = %d, want 3 (S9)", deref(deleted.Metadata.Version))
	}
	sameSpec(t, "DeleteVirtualGateway", spec2, deleted.Spec)
	_, err := c.DescribeVirtualGateway(ctx(t), &appmesh.DescribeVirtualGatewayInput{MeshName: aws.String("m"), VirtualGatewayName: aws.String("gw")})
	notFound(t, err, "gw")
	if l := res(c.ListVirtualGateways(ctx(t), &appmesh.ListVirtualGatewaysInput{MeshName: aws.String("m")})).ok(t); len(l.VirtualGateways) != 0 {
		t.Errorf("gateways after delete = %s", dump(l.VirtualGateways))
	}
	again := mkGateway(t, c, "m", "gw", 9080)
	checkCreated(t, "recreated gateway", again.Metadata, arnPrefix+"mesh/m/virtualGateway/gw")
	if deref(again.Metadata.Uid) == deref(created.Metadata.Uid) {
		t.Error("recreated gateway reuses the uid")
	}
}

// TestGatewayRouteLifecycle drives the five gateway route operations.
func TestGatewayRouteLifecycle(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	mkMesh(t, c, "m")
	mkNode(t, c, "m", "vn", 80)
	mkService(t, c, "m", "color.default.svc.cluster.local", nodeProvider("vn"))
	mkService(t, c, "m", "other.local", nil)
	mkGateway(t, c, "m", "gw", 9080)

	spec := &types.GatewayRouteSpec{HttpRoute: &types.HttpGatewayRoute{
		Match: &types.HttpGatewayRouteMatch{
			Prefix:   aws.String("/maroon/"),
			Hostname: &types.GatewayRouteHostnameMatch{Suffix: aws.String(".example.com")},
			Method:   types.HttpMethodGet,
			Headers: []types.HttpGatewayRouteHeader{
				{Name: aws.String("x-user"), Match: &types.HeaderMatchMethodMemberRegex{Value: "^[a-z]+$"}},
				{Name: aws.String("x-beta"), Invert: aws.Bool(true), Match: &types.HeaderMatchMethodMemberSuffix{Value: "-off"}},
			},
			QueryParameters: []types.HttpQueryParameter{
				{Name: aws.String("fishes"), Match: &types.QueryParameterMatch{Exact: aws.String("nemo")}},
				{Name: aws.String("debug")},
			},
		},
		Action: &types.HttpGatewayRouteAction{
			Target: &types.GatewayRouteTarget{VirtualService: &types.GatewayRouteVirtualService{VirtualServiceName: aws.String("color.default.svc.cluster.local")}},
			Rewrite: &types.HttpGatewayRouteRewrite{
				Prefix:   &types.HttpGatewayRoutePrefixRewrite{Value: aws.String("/red/")},
				Hostname: &types.GatewayRouteHostnameRewrite{DefaultTargetHostname: types.DefaultGatewayRouteRewriteDisabled},
			},
		},
	}}
	created := res(c.CreateGatewayRoute(ctx(t), &appmesh.CreateGatewayRouteInput{
		MeshName: aws.String("m"), VirtualGatewayName: aws.String("gw"), GatewayRouteName: aws.String("gr"), Spec: spec,
	})).ok(t).GatewayRoute
	if deref(created.MeshName) != "m" || deref(created.VirtualGatewayName) != "gw" || deref(created.GatewayRouteName) != "gr" {
		t.Errorf("names = %q/%q/%q", deref(created.MeshName), deref(created.VirtualGatewayName), deref(created.GatewayRouteName))
	}
	checkCreated(t, "CreateGatewayRoute", created.Metadata, arnPrefix+"mesh/m/virtualGateway/gw/gatewayRoute/gr")
	if created.Status == nil || created.Status.Status != types.GatewayRouteStatusCodeActive {
		t.Errorf("status = %+v", created.Status)
	}
	sameSpec(t, "CreateGatewayRoute", spec, created.Spec)
	if created.Spec.Priority != nil {
		t.Errorf("priority filled in: %d", *created.Spec.Priority)
	}
	if created.Spec.HttpRoute.Action.Target.Port != nil {
		t.Errorf("target port filled in: %d", *created.Spec.HttpRoute.Action.Target.Port)
	}

	desc := res(c.DescribeGatewayRoute(ctx(t), &appmesh.DescribeGatewayRouteInput{MeshName: aws.String("m"), VirtualGatewayName: aws.String("gw"), GatewayRouteName: aws.String("gr")})).ok(t).GatewayRoute
	sameSpec(t, "DescribeGatewayRoute", created, desc)

	// Update: exact path, path rewrite, priority, another target.
	spec2 := &types.GatewayRouteSpec{Priority: aws.Int32(5), HttpRoute: &types.HttpGatewayRoute{
		Match: &types.HttpGatewayRouteMatch{Path: &types.HttpPathMatch{Exact: aws.String("/rewrite/path/blue")}},
		Action: &types.HttpGatewayRouteAction{
			Target:  &types.GatewayRouteTarget{VirtualService: &types.GatewayRouteVirtualService{VirtualServiceName: aws.String("other.local")}},
			Rewrite: &types.HttpGatewayRouteRewrite{Path: &types.HttpGatewayRoutePathRewrite{Exact: aws.String("/blue")}},
		},
	}}
	updated := res(c.UpdateGatewayRoute(ctx(t), &appmesh.UpdateGatewayRouteInput{
		MeshName: aws.String("m"), VirtualGatewayName: aws.String("gw"), GatewayRouteName: aws.String("gr"), Spec: spec2,
	})).ok(t).GatewayRoute
	checkUpdated(t, "UpdateGatewayRoute", created.Metadata, updated.Metadata)
	sameSpec(t, "UpdateGatewayRoute", spec2, updated.Spec)

	list := res(c.ListGatewayRoutes(ctx(t), &appmesh.ListGatewayRoutesInput{MeshName: aws.String("m"), VirtualGatewayName: aws.String("gw")})).ok(t)
	if len(list.GatewayRoutes) != 1 || list.NextToken != nil {
		t.Fatalf("ListGatewayRoutes = %s", dump(list))
	}
	r := list.GatewayRoutes[0]
	if deref(r.MeshName) != "m" || deref(r.VirtualGatewayName) != "gw" || deref(r.GatewayRouteName) != "gr" {
		t.Errorf("ref names = %s", dump(r))
	}
	checkRef(t, "GatewayRouteRef", updated.Metadata, r.Arn, r.CreatedAt, r.LastUpdatedAt, r.MeshOwner, r.ResourceOwner, r.Version)

	deleted := res(c.DeleteGatewayRoute(ctx(t), &appmesh.DeleteGatewayRouteInput{MeshName: aws.String("m"), VirtualGatewayName: aws.String("gw"), GatewayRouteName: aws.String("gr")})).ok(t).GatewayRoute
	checkDeleted(t, "DeleteGatewayRoute", updated.Metadata, deleted.Metadata, false)
	if deleted.Status.Status != types.GatewayRouteStatusCodeDeleted {
		t.Errorf("delete status = %q", deleted.Status.Status)
	}
	sameSpec(t, "DeleteGatewayRoute", spec2, deleted.Spec)
	_, err := c.DescribeGatewayRoute(ctx(t), &appmesh.DescribeGatewayRouteInput{MeshName: aws.String("m"), VirtualGatewayName: aws.String("gw"), GatewayRouteName: aws.String("gr")})
	notFound(t, err, "gr")
	if l := res(c.ListGatewayRoutes(ctx(t), &appmesh.ListGatewayRoutesInput{MeshName: aws.String("m"), VirtualGatewayName: aws.String("gw")})).ok(t); len(l.GatewayRoutes) != 0 {
		t.Errorf("gateway routes after delete = %s", dump(l.GatewayRoutes))
	}
}

// TestGatewayRouteGrpcAndHttp2 covers the other two gateway route types on
// a gateway with a listener of each protocol.
func TestGatewayRouteGrpcAndHttp2(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	mkMesh(t, c, "m")
	mkService(t, c, "m", "color_server.local", nil)
	res(c.CreateVirtualGateway(ctx(t), &appmesh.CreateVirtualGatewayInput{MeshName: aws.String("m"), VirtualGatewayName: aws.String("gw"),
		Spec: &types.VirtualGatewaySpec{Listeners: []types.VirtualGatewayListener{
			{PortMapping: &types.VirtualGatewayPortMapping{Port: aws.Int32(8080), Protocol: types.VirtualGatewayPortProtocolGrpc}},
			{PortMapping: &types.VirtualGatewayPortMapping{Port: aws.Int32(8443), Protocol: types.VirtualGatewayPortProtocolHttp2}},
		}}})).ok(t)
	target := &types.GatewayRouteTarget{VirtualService: &types.GatewayRouteVirtualService{VirtualServiceName: aws.String("color_server.local")}}
	grpc := &types.GatewayRouteSpec{GrpcRoute: &types.GrpcGatewayRoute{
		Match: &types.GrpcGatewayRouteMatch{Port: aws.Int32(8080), ServiceName: aws.String("color.ColorService"),
			Hostname: &types.GatewayRouteHostnameMatch{Exact: aws.String("api.example.com")},
			Metadata: []types.GrpcGatewayRouteMetadata{{Name: aws.String("device"), Match: &types.GrpcMetadataMatchMethodMemberExact{Value: "iphone"}}}},
		Action: &types.GrpcGatewayRouteAction{Target: target,
			Rewrite: &types.GrpcGatewayRouteRewrite{Hostname: &types.GatewayRouteHostnameRewrite{DefaultTargetHostname: types.DefaultGatewayRouteRewriteEnabled}}},
	}}
	got := mkGatewayRoute(t, c, "m", "gw", "grpc", grpc)
	sameSpec(t, "grpc gateway route", grpc, got.Spec)

	http2 := &types.GatewayRouteSpec{Priority: aws.Int32(0), Http2Route: &types.HttpGatewayRoute{
		Match: &types.HttpGatewayRouteMatch{Port: aws.Int32(8443), Prefix: aws.String("/"),
			Headers: []types.HttpGatewayRouteHeader{{Name: aws.String("x-n"), Match: &types.HeaderMatchMethodMemberRange{Value: types.MatchRange{Start: aws.Int64(0), End: aws.Int64(10)}}}}},
		Action: &types.HttpGatewayRouteAction{Target: target,
			Rewrite: &types.HttpGatewayRouteRewrite{Prefix: &types.HttpGatewayRoutePrefixRewrite{DefaultPrefix: types.DefaultGatewayRouteRewriteDisabled}}},
	}}
	got = mkGatewayRoute(t, c, "m", "gw", "h2", http2)
	sameSpec(t, "http2 gateway route", http2, got.Spec)
	if got.Spec.Priority == nil || *got.Spec.Priority != 0 {
		t.Errorf("priority 0 not echoed: %v", got.Spec.Priority)
	}
}

// TestGatewayErrors covers virtual gateway and gateway route errors,
// including the multiple-listener rules of S6.
func TestGatewayErrors(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	mkMesh(t, c, "m")
	// S6: a gateway with two listeners, a router with two listeners, a node with one.
	mkGateway(t, c, "m", "tellergateway-vg", 1111, 2222)
	mkNode(t, c, "m", "foodteller-vn", 5555, 6666)
	mkNode(t, c, "m", "colorteller-vn", 7777)
	mkRouter(t, c, "m", "foodteller-vr", 3333, 4444)
	mkService(t, c, "m", "foodteller.D", routerProvider("foodteller-vr"))
	mkService(t, c, "m", "colorteller.D", nodeProvider("colorteller-vn"))
	mkService(t, c, "m", "nodefood.D", nodeProvider("foodteller-vn"))
	res(c.CreateVirtualGateway(ctx(t), &appmesh.CreateVirtualGatewayInput{MeshName: aws.String("m"), VirtualGatewayName: aws.String("grpc-gw"),
		Spec: gatewaySpec(types.VirtualGatewayPortProtocolGrpc, 8080)})).ok(t)
	mkGateway(t, c, "m", "one-gw", 80)

	// The three S6 gateway routes are accepted.
	fruit := mkGatewayRoute(t, c, "m", "tellergateway-vg", "fruit", gwRouteSpec("/fruit", 1111, "foodteller.D", 3333))
	mkGatewayRoute(t, c, "m", "tellergateway-vg", "vegetable", gwRouteSpec("/vegetable", 1111, "foodteller.D", 4444))
	colorSpec := &types.GatewayRouteSpec{HttpRoute: &types.HttpGatewayRoute{
		Match: &types.HttpGatewayRouteMatch{Port: aws.Int32(2222)},
		Action: &types.HttpGatewayRouteAction{Target: &types.GatewayRouteTarget{
			VirtualService: &types.GatewayRouteVirtualService{VirtualServiceName: aws.String("colorteller.D")}, Port: aws.Int32(7777)}},
	}}
	color := mkGatewayRoute(t, c, "m", "tellergateway-vg", "color", colorSpec)
	sameSpec(t, "port-only gateway route", colorSpec, color.Spec)

	unchanged := func(t *testing.T) {
		t.Helper()
		d := res(c.DescribeGatewayRoute(ctx(t), &appmesh.DescribeGatewayRouteInput{MeshName: aws.String("m"), VirtualGatewayName: aws.String("tellergateway-vg"), GatewayRouteName: aws.String("fruit")})).ok(t).GatewayRoute
		sameSpec(t, "gateway route after a failed request", fruit, d)
		for gw, want := range map[string]int{"tellergateway-vg": 3, "grpc-gw": 0, "one-gw": 0} {
			l := res(c.ListGatewayRoutes(ctx(t), &appmesh.ListGatewayRoutesInput{MeshName: aws.String("m"), VirtualGatewayName: aws.String(gw)})).ok(t)
			if len(l.GatewayRoutes) != want {
				t.Errorf("gateway routes of %s after a failed request = %s, want %d", gw, dump(l.GatewayRoutes), want)
			}
		}
		l := res(c.ListVirtualGateways(ctx(t), &appmesh.ListVirtualGatewaysInput{MeshName: aws.String("m")})).ok(t)
		if len(l.VirtualGateways) != 3 {
			t.Errorf("gateways after a failed request = %s", dump(l.VirtualGateways))
		}
	}
	create := func(gw, name string, spec *types.GatewayRouteSpec) error {
		_, err := c.CreateGatewayRoute(ctx(t), &appmesh.CreateGatewayRouteInput{MeshName: aws.String("m"), VirtualGatewayName: aws.String(gw), GatewayRouteName: aws.String(name), Spec: spec})
		return err
	}
	update := func(spec *types.GatewayRouteSpec) error {
		_, err := c.UpdateGatewayRoute(ctx(t), &appmesh.UpdateGatewayRouteInput{MeshName: aws.String("m"), VirtualGatewayName: aws.String("tellergateway-vg"), GatewayRouteName: aws.String("fruit"), Spec: spec})
		return err
	}

	t.Run("S6 match.port missing on a two-listener gateway", func(t *testing.T) {
		badRequest(t, create("tellergateway-vg", "new", gwRouteSpec("/x", 0, "colorteller.D", 0)), "match.port")
		badRequest(t, update(gwRouteSpec("/fruit", 0, "foodteller.D", 3333)), "match.port")
		unchanged(t)
	})
	t.Run("S6 match.port not a listener", func(t *testing.T) {
		badRequest(t, create("tellergateway-vg", "new", gwRouteSpec("/x", 9999, "colorteller.D", 0)), "9999")
		unchanged(t)
	})
	t.Run("S6 target.port missing for a router provider with two listeners", func(t *testing.T) {
		badRequest(t, create("tellergateway-vg", "new", gwRouteSpec("/x", 1111, "foodteller.D", 0)), "target.port", "foodteller-vr")
		badRequest(t, update(gwRouteSpec("/fruit", 1111, "foodteller.D", 0)), "target.port")
		unchanged(t)
	})
	t.Run("S6 target.port missing for a node provider with two listeners", func(t *testing.T) {
		badRequest(t, create("one-gw", "new", gwRouteSpec("/x", 0, "nodefood.D", 0)), "target.port", "foodteller-vn")
		unchanged(t)
	})
	t.Run("S6 target.port not a listener of the provider", func(t *testing.T) {
		badRequest(t, create("tellergateway-vg", "new", gwRouteSpec("/x", 1111, "foodteller.D", 5555)), "5555")
		unchanged(t)
	})
	t.Run("httpRoute on a grpc gateway", func(t *testing.T) {
		badRequest(t, create("grpc-gw", "new", gwRouteSpec("/", 0, "colorteller.D", 0)), "httpRoute", "grpc")
		unchanged(t)
	})
	t.Run("grpcRoute on an http listener", func(t *testing.T) {
		spec := &types.GatewayRouteSpec{GrpcRoute: &types.GrpcGatewayRoute{
			Match:  &types.GrpcGatewayRouteMatch{ServiceName: aws.String("svc")},
			Action: &types.GrpcGatewayRouteAction{Target: &types.GatewayRouteTarget{VirtualService: &types.GatewayRouteVirtualService{VirtualServiceName: aws.String("colorteller.D")}}},
		}}
		badRequest(t, create("one-gw", "new", spec), "grpcRoute", "http")
		unchanged(t)
	})
	t.Run("target virtual service missing", func(t *testing.T) {
		notFound(t, create("one-gw", "new", gwRouteSpec("/", 0, "missing.svc", 0)), "VirtualService", "missing.svc")
		notFound(t, update(gwRouteSpec("/fruit", 1111, "missing.svc", 0)), "VirtualService", "missing.svc")
		unchanged(t)
	})
	t.Run("missing parent gateway", func(t *testing.T) {
		notFound(t, create("nogw", "new", gwRouteSpec("/", 0, "colorteller.D", 0)), "nogw")
		_, err := c.ListGatewayRoutes(ctx(t), &appmesh.ListGatewayRoutesInput{MeshName: aws.String("m"), VirtualGatewayName: aws.String("nogw")})
		notFound(t, err, "nogw")
		_, err = c.DescribeGatewayRoute(ctx(t), &appmesh.DescribeGatewayRouteInput{MeshName: aws.String("m"), VirtualGatewayName: aws.String("nogw"), GatewayRouteName: aws.String("fruit")})
		notFound(t, err, "fruit")
		_, err = c.UpdateGatewayRoute(ctx(t), &appmesh.UpdateGatewayRouteInput{MeshName: aws.String("m"), VirtualGatewayName: aws.String("nogw"), GatewayRouteName: aws.String("fruit"), Spec: gwRouteSpec("/", 0, "colorteller.D", 0)})
		notFound(t, err, "nogw")
		_, err = c.DeleteGatewayRoute(ctx(t), &appmesh.DeleteGatewayRouteInput{MeshName: aws.String("m"), VirtualGatewayName: aws.String("nogw"), GatewayRouteName: aws.String("fruit")})
		notFound(t, err, "fruit")
		unchanged(t)
	})
	t.Run("missing mesh", func(t *testing.T) {
		_, err := c.CreateVirtualGateway(ctx(t), &appmesh.CreateVirtualGatewayInput{MeshName: aws.String("nomesh"), VirtualGatewayName: aws.String("gw"), Spec: gatewaySpec(types.VirtualGatewayPortProtocolHttp, 80)})
		notFound(t, err, "nomesh")
		_, err = c.ListVirtualGateways(ctx(t), &appmesh.ListVirtualGatewaysInput{MeshName: aws.String("nomesh")})
		notFound(t, err, "nomesh")
		_, err = c.CreateGatewayRoute(ctx(t), &appmesh.CreateGatewayRouteInput{MeshName: aws.String("nomesh"), VirtualGatewayName: aws.String("gw"), GatewayRouteName: aws.String("r"), Spec: gwRouteSpec("/", 0, "x", 0)})
		notFound(t, err, "nomesh")
		_, err = c.ListGatewayRoutes(ctx(t), &appmesh.ListGatewayRoutesInput{MeshName: aws.String("nomesh"), VirtualGatewayName: aws.String("gw")})
		notFound(t, err, "nomesh")
	})
	t.Run("missing gateway and route", func(t *testing.T) {
		_, err := c.DescribeVirtualGateway(ctx(t), &appmesh.DescribeVirtualGatewayInput{MeshName: aws.String("m"), VirtualGatewayName: aws.String("ghost")})
		notFound(t, err, "ghost")
		_, err = c.UpdateVirtualGateway(ctx(t), &appmesh.UpdateVirtualGatewayInput{MeshName: aws.String("m"), VirtualGatewayName: aws.String("ghost"), Spec: gatewaySpec(types.VirtualGatewayPortProtocolHttp, 80)})
		notFound(t, err, "ghost")
		_, err = c.DeleteVirtualGateway(ctx(t), &appmesh.DeleteVirtualGatewayInput{MeshName: aws.String("m"), VirtualGatewayName: aws.String("ghost")})
		notFound(t, err, "ghost")
		_, err = c.DescribeGatewayRoute(ctx(t), &appmesh.DescribeGatewayRouteInput{MeshName: aws.String("m"), VirtualGatewayName: aws.String("one-gw"), GatewayRouteName: aws.String("ghost")})
		notFound(t, err, "ghost")
		_, err = c.UpdateGatewayRoute(ctx(t), &appmesh.UpdateGatewayRouteInput{MeshName: aws.String("m"), VirtualGatewayName: aws.String("one-gw"), GatewayRouteName: aws.String("ghost"), Spec: gwRouteSpec("/", 0, "colorteller.D", 0)})
		notFound(t, err, "ghost")
		_, err = c.DeleteGatewayRoute(ctx(t), &appmesh.DeleteGatewayRouteInput{MeshName: aws.String("m"), VirtualGatewayName: aws.String("one-gw"), GatewayRouteName: aws.String("ghost")})
		notFound(t, err, "ghost")
		unchanged(t)
	})
	t.Run("foreign meshOwner", func(t *testing.T) {
		other := aws.String("210987654321")
		_, err := c.CreateGatewayRoute(ctx(t), &appmesh.CreateGatewayRouteInput{MeshName: aws.String("m"), VirtualGatewayName: aws.String("one-gw"), GatewayRouteName: aws.String("new"),
			Spec: gwRouteSpec("/", 0, "colorteller.D", 0), MeshOwner: other})
		notFound(t, err, "210987654321")
		_, err = c.ListVirtualGateways(ctx(t), &appmesh.ListVirtualGatewaysInput{MeshName: aws.String("m"), MeshOwner: other})
		notFound(t, err, "210987654321")
		_, err = c.DeleteVirtualGateway(ctx(t), &appmesh.DeleteVirtualGatewayInput{MeshName: aws.String("m"), VirtualGatewayName: aws.String("one-gw"), MeshOwner: other})
		notFound(t, err, "210987654321")
		unchanged(t)
	})
	t.Run("duplicate names", func(t *testing.T) {
		conflict(t, create("tellergateway-vg", "fruit", gwRouteSpec("/other", 1111, "foodteller.D", 3333)), "fruit")
		// Mesh m is at its gateway quota (3); the duplicate is tried in a mesh below it.
		mkMesh(t, c, "m2")
		mkGateway(t, c, "m2", "one-gw", 80)
		_, err := c.CreateVirtualGateway(ctx(t), &appmesh.CreateVirtualGatewayInput{MeshName: aws.String("m2"), VirtualGatewayName: aws.String("one-gw"), Spec: gatewaySpec(types.VirtualGatewayPortProtocolHttp, 81)})
		conflict(t, err, "one-gw")
		d := res(c.DescribeVirtualGateway(ctx(t), &appmesh.DescribeVirtualGatewayInput{MeshName: aws.String("m2"), VirtualGatewayName: aws.String("one-gw")})).ok(t).VirtualGateway
		sameSpec(t, "gateway after a failed create", gatewaySpec(types.VirtualGatewayPortProtocolHttp, 80), d.Spec)
		if l := res(c.ListVirtualGateways(ctx(t), &appmesh.ListVirtualGatewaysInput{MeshName: aws.String("m2")})).ok(t); len(l.VirtualGateways) != 1 {
			t.Errorf("gateways in m2 = %s", dump(l.VirtualGateways))
		}
		unchanged(t)
	})
	t.Run("gateway listener port 0 and 70000", func(t *testing.T) {
		for _, p := range []int32{0, 70000} {
			_, err := c.CreateVirtualGateway(ctx(t), &appmesh.CreateVirtualGatewayInput{MeshName: aws.String("m"), VirtualGatewayName: aws.String("bad"), Spec: gatewaySpec(types.VirtualGatewayPortProtocolHttp, p)})
			badRequest(t, err, "port")
		}
		unchanged(t)
	})
	t.Run("gateway listener protocol tcp", func(t *testing.T) {
		_, err := c.CreateVirtualGateway(ctx(t), &appmesh.CreateVirtualGatewayInput{MeshName: aws.String("m"), VirtualGatewayName: aws.String("bad"), Spec: gatewaySpec("tcp", 80)})
		badRequest(t, err, "protocol", "tcp")
		unchanged(t)
	})
	t.Run("gateway listener ports not unique", func(t *testing.T) {
		_, err := c.UpdateVirtualGateway(ctx(t), &appmesh.UpdateVirtualGatewayInput{MeshName: aws.String("m"), VirtualGatewayName: aws.String("one-gw"),
			Spec: gatewaySpec(types.VirtualGatewayPortProtocolHttp, 80, 80)})
		badRequest(t, err, "port", "80")
		d := res(c.DescribeVirtualGateway(ctx(t), &appmesh.DescribeVirtualGatewayInput{MeshName: aws.String("m"), VirtualGatewayName: aws.String("one-gw")})).ok(t).VirtualGateway
		if deref(d.Metadata.Version) != 1 {
			t.Errorf("gateway version after a failed update = %d", deref(d.Metadata.Version))
		}
		unchanged(t)
	})
	t.Run("gateway listener change that orphans routes", func(t *testing.T) {
		// Dropping listener 2222 leaves route color without its listener.
		_, err := c.UpdateVirtualGateway(ctx(t), &appmesh.UpdateVirtualGatewayInput{MeshName: aws.String("m"), VirtualGatewayName: aws.String("tellergateway-vg"),
			Spec: gatewaySpec(types.VirtualGatewayPortProtocolHttp, 1111, 3333)})
		badRequest(t, err, "color")
		d := res(c.DescribeVirtualGateway(ctx(t), &appmesh.DescribeVirtualGatewayInput{MeshName: aws.String("m"), VirtualGatewayName: aws.String("tellergateway-vg")})).ok(t).VirtualGateway
		if deref(d.Metadata.Version) != 1 {
			t.Errorf("gateway version after a failed update = %d", deref(d.Metadata.Version))
		}
		sameSpec(t, "gateway after a failed update", gatewaySpec(types.VirtualGatewayPortProtocolHttp, 1111, 2222), d.Spec)
		unchanged(t)
	})
	t.Run("gateway route model and rule violations", func(t *testing.T) {
		prio := gwRouteSpec("/fruit", 1111, "foodteller.D", 3333)
		prio.Priority = aws.Int32(1001)
		badRequest(t, update(prio), "priority")
		reserved := gwRouteSpec("/aws-appmesh/x", 1111, "foodteller.D", 3333)
		badRequest(t, update(reserved), "prefix")
		noSlash := gwRouteSpec("fruit", 1111, "foodteller.D", 3333)
		badRequest(t, update(noSlash), "prefix")
		two := gwRouteSpec("/fruit", 1111, "foodteller.D", 3333)
		two.Http2Route = two.HttpRoute
		badRequest(t, update(two), "spec")
		badPort := gwRouteSpec("/fruit", 70000, "foodteller.D", 3333)
		badRequest(t, update(badPort), "port")
		badRewrite := gwRouteSpec("/fruit", 1111, "foodteller.D", 3333)
		badRewrite.HttpRoute.Action.Rewrite = &types.HttpGatewayRouteRewrite{Prefix: &types.HttpGatewayRoutePrefixRewrite{Value: aws.String("red")}}
		badRequest(t, update(badRewrite), "rewrite.prefix.value")
		badEnum := gwRouteSpec("/fruit", 1111, "foodteller.D", 3333)
		badEnum.HttpRoute.Action.Rewrite = &types.HttpGatewayRouteRewrite{Hostname: &types.GatewayRouteHostnameRewrite{DefaultTargetHostname: "MAYBE"}}
		badRequest(t, update(badEnum), "defaultTargetHostname", "MAYBE")
		unchanged(t)
	})
}
