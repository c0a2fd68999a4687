package api_test

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"
	"github.com/aws/aws-sdk-go-v2/service/appmesh/types"
)

// kindDriver creates, updates, describes and counts one kind of resource
// named "x" in mesh "m" with a spec variant v (different v, different spec).
type kindDriver struct {
	kind     string
	setup    func(t *testing.T, c *appmesh.Client)
	create   func(c *appmesh.Client, t *testing.T, name, token string, v int) (*types.ResourceMetadata, any, error)
	update   func(c *appmesh.Client, t *testing.T, token string, v int) (*types.ResourceMetadata, any, error)
	describe func(c *appmesh.Client, t *testing.T) (*types.ResourceMetadata, any, error)
	count    func(c *appmesh.Client, t *testing.T) int
}

func tok(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

// kindDrivers covers all seven kinds.
func kindDrivers() []kindDriver {
	m := aws.String("m")
	x := aws.String("x")
	return []kindDriver{
		{
			kind:  "mesh",
			setup: func(t *testing.T, c *appmesh.Client) {},
			create: func(c *appmesh.Client, t *testing.T, name, token string, v int) (*types.ResourceMetadata, any, error) {
				spec := &types.MeshSpec{EgressFilter: &types.EgressFilter{Type: []types.EgressFilterType{types.EgressFilterTypeAllowAll, types.EgressFilterTypeDropAll}[v%2]}}
				o, err := c.CreateMesh(ctx(t), &appmesh.CreateMeshInput{MeshName: aws.String("mesh-" + name), Spec: spec, ClientToken: tok(token)})
				if err != nil {
					return nil, nil, err
				}
				return o.Mesh.Metadata, o.Mesh.Spec, nil
			},
			update: func(c *appmesh.Client, t *testing.T, token string, v int) (*types.ResourceMetadata, any, error) {
				spec := &types.MeshSpec{ServiceDiscovery: &types.MeshServiceDiscovery{IpPreference: []types.IpPreference{types.IpPreferenceIPv4Only, types.IpPreferenceIPv6Only}[v%2]}}
				o, err := c.UpdateMesh(ctx(t), &appmesh.UpdateMeshInput{MeshName: aws.String("mesh-x"), Spec: spec, ClientToken: tok(token)})
				if err != nil {
					return nil, nil, err
				}
				return o.Mesh.Metadata, o.Mesh.Spec, nil
			},
			describe: func(c *appmesh.Client, t *testing.T) (*types.ResourceMetadata, any, error) {
				o, err := c.DescribeMesh(ctx(t), &appmesh.DescribeMeshInput{MeshName: aws.String("mesh-x")})
				if err != nil {
					return nil, nil, err
				}
				return o.Mesh.Metadata, o.Mesh.Spec, nil
			},
			count: func(c *appmesh.Client, t *testing.T) int {
				// The mesh "m" of the other drivers is not created for this one.
				return len(res(c.ListMeshes(ctx(t), &appmesh.ListMeshesInput{})).ok(t).Meshes)
			},
		},
		{
			kind:  "virtualNode",
			setup: func(t *testing.T, c *appmesh.Client) { mkMesh(t, c, "m") },
			create: func(c *appmesh.Client, t *testing.T, name, token string, v int) (*types.ResourceMetadata, any, error) {
				o, err := c.CreateVirtualNode(ctx(t), &appmesh.CreateVirtualNodeInput{MeshName: m, VirtualNodeName: aws.String(name), Spec: nodeSpec("h", int32(100+v)), ClientToken: tok(token)})
				if err != nil {
					return nil, nil, err
				}
				return o.VirtualNode.Metadata, o.VirtualNode.Spec, nil
			},
			update: func(c *appmesh.Client, t *testing.T, token string, v int) (*types.ResourceMetadata, any, error) {
				o, err := c.UpdateVirtualNode(ctx(t), &appmesh.UpdateVirtualNodeInput{MeshName: m, VirtualNodeName: x, Spec: nodeSpec("h", int32(200+v)), ClientToken: tok(token)})
				if err != nil {
					return nil, nil, err
				}
				return o.VirtualNode.Metadata, o.VirtualNode.Spec, nil
			},
			describe: func(c *appmesh.Client, t *testing.T) (*types.ResourceMetadata, any, error) {
				o, err := c.DescribeVirtualNode(ctx(t), &appmesh.DescribeVirtualNodeInput{MeshName: m, VirtualNodeName: x})
				if err != nil {
					return nil, nil, err
				}
				return o.VirtualNode.Metadata, o.VirtualNode.Spec, nil
			},
			count: func(c *appmesh.Client, t *testing.T) int {
				return len(res(c.ListVirtualNodes(ctx(t), &appmesh.ListVirtualNodesInput{MeshName: m})).ok(t).VirtualNodes)
			},
		},
		{
			kind:  "virtualRouter",
			setup: func(t *testing.T, c *appmesh.Client) { mkMesh(t, c, "m") },
			create: func(c *appmesh.Client, t *testing.T, name, token string, v int) (*types.ResourceMetadata, any, error) {
				o, err := c.CreateVirtualRouter(ctx(t), &appmesh.CreateVirtualRouterInput{MeshName: m, VirtualRouterName: aws.String(name), Spec: routerSpec(types.PortProtocolHttp, int32(100+v)), ClientToken: tok(token)})
				if err != nil {
					return nil, nil, err
				}
				return o.VirtualRouter.Metadata, o.VirtualRouter.Spec, nil
			},
			update: func(c *appmesh.Client, t *testing.T, token string, v int) (*types.ResourceMetadata, any, error) {
				o, err := c.UpdateVirtualRouter(ctx(t), &appmesh.UpdateVirtualRouterInput{MeshName: m, VirtualRouterName: x, Spec: routerSpec(types.PortProtocolHttp, int32(200+v)), ClientToken: tok(token)})
				if err != nil {
					return nil, nil, err
				}
				return o.VirtualRouter.Metadata, o.VirtualRouter.Spec, nil
			},
			describe: func(c *appmesh.Client, t *testing.T) (*types.ResourceMetadata, any, error) {
				o, err := c.DescribeVirtualRouter(ctx(t), &appmesh.DescribeVirtualRouterInput{MeshName: m, VirtualRouterName: x})
				if err != nil {
					return nil, nil, err
				}
				return o.VirtualRouter.Metadata, o.VirtualRouter.Spec, nil
			},
			count: func(c *appmesh.Client, t *testing.T) int {
				return len(res(c.ListVirtualRouters(ctx(t), &appmesh.ListVirtualRoutersInput{MeshName: m})).ok(t).VirtualRouters)
			},
		},
		{
			kind: "route",
			setup: func(t *testing.T, c *appmesh.Client) {
				mkMesh(t, c, "m")
				mkRouter(t, c, "m", "vr", 80)
				mkNode(t, c, "m", "n", 80)
			},
			create: func(c *appmesh.Client, t *testing.T, name, token string, v int) (*types.ResourceMetadata, any, error) {
				o, err := c.CreateRoute(ctx(t), &appmesh.CreateRouteInput{MeshName: m, VirtualRouterName: aws.String("vr"), RouteName: aws.String(name),
					Spec: httpRouteSpec(fmt.Sprintf("/c%d", v), "n", 0), ClientToken: tok(token)})
				if err != nil {
					return nil, nil, err
				}
				return o.Route.Metadata, o.Route.Spec, nil
			},
			update: func(c *appmesh.Client, t *testing.T, token string, v int) (*types.ResourceMetadata, any, error) {
				o, err := c.UpdateRoute(ctx(t), &appmesh.UpdateRouteInput{MeshName: m, VirtualRouterName: aws.String("vr"), RouteName: x,
					Spec: httpRouteSpec(fmt.Sprintf("/u%d", v), "n", 0), ClientToken: tok(token)})
				if err != nil {
					return nil, nil, err
				}
				return o.Route.Metadata, o.Route.Spec, nil
			},
			describe: func(c *appmesh.Client, t *testing.T) (*types.ResourceMetadata, any, error) {
				o, err := c.DescribeRoute(ctx(t), &appmesh.DescribeRouteInput{MeshName: m, VirtualRouterName: aws.String("vr"), RouteName: x})
				if err != nil {
					return nil, nil, err
				}
				return o.Route.Metadata, o.Route.Spec, nil
			},
			count: func(c *appmesh.Client, t *testing.T) int {
				return len(res(c.ListRoutes(ctx(t), &appmesh.ListRoutesInput{MeshName: m, VirtualRouterName: aws.String("vr")})).ok(t).Routes)
			},
		},
		{
			kind: "virtualService",
			setup: func(t *testing.T, c *appmesh.Client) {
				mkMesh(t, c, "m")
				mkNode(t, c, "m", "n0", 80)
				mkNode(t, c, "m", "n1", 80)
			},
			create: func(c *appmesh.Client, t *testing.T, name, token string, v int) (*types.ResourceMetadata, any, error) {
				o, err := c.CreateVirtualService(ctx(t), &appmesh.CreateVirtualServiceInput{MeshName: m, VirtualServiceName: aws.String(name),
					Spec: nodeProvider(fmt.Sprintf("n%d", v%2)), ClientToken: tok(token)})
				if err != nil {
					return nil, nil, err
				}
				return o.VirtualService.Metadata, o.VirtualService.Spec, nil
			},
			update: func(c *appmesh.Client, t *testing.T, token string, v int) (*types.ResourceMetadata, any, error) {
				o, err := c.UpdateVirtualService(ctx(t), &appmesh.UpdateVirtualServiceInput{MeshName: m, VirtualServiceName: x,
					Spec: nodeProvider(fmt.Sprintf("n%d", (v+1)%2)), ClientToken: tok(token)})
				if err != nil {
					return nil, nil, err
				}
				return o.VirtualService.Metadata, o.VirtualService.Spec, nil
			},
			describe: func(c *appmesh.Client, t *testing.T) (*types.ResourceMetadata, any, error) {
				o, err := c.DescribeVirtualService(ctx(t), &appmesh.DescribeVirtualServiceInput{MeshName: m, VirtualServiceName: x})
				if err != nil {
					return nil, nil, err
				}
				return o.VirtualService.Metadata, o.VirtualService.Spec, nil
			},
			count: func(c *appmesh.Client, t *testing.T) int {
				return len(res(c.ListVirtualServices(ctx(t), &appmesh.ListVirtualServicesInput{MeshName: m})).ok(t).VirtualServices)
			},
		},
		{
			kind:  "virtualGateway",
			setup: func(t *testing.T, c *appmesh.Client) { mkMesh(t, c, "m") },
			create: func(c *appmesh.Client, t *testing.T, name, token string, v int) (*types.ResourceMetadata, any, error) {
				o, err := c.CreateVirtualGateway(ctx(t), &appmesh.CreateVirtualGatewayInput{MeshName: m, VirtualGatewayName: aws.String(name),
					Spec: gatewaySpec(types.VirtualGatewayPortProtocolHttp, int32(100+v)), ClientToken: tok(token)})
				if err != nil {
					return nil, nil, err
				}
				return o.VirtualGateway.Metadata, o.VirtualGateway.Spec, nil
			},
			update: func(c *appmesh.Client, t *testing.T, token string, v int) (*types.ResourceMetadata, any, error) {
				o, err := c.UpdateVirtualGateway(ctx(t), &appmesh.UpdateVirtualGatewayInput{MeshName: m, VirtualGatewayName: x,
					Spec: gatewaySpec(types.VirtualGatewayPortProtocolHttp, int32(200+v)), ClientToken: tok(token)})
				if err != nil {
					return nil, nil, err
				}
				return o.VirtualGateway.Metadata, o.VirtualGateway.Spec, nil
			},
			describe: func(c *appmesh.Client, t *testing.T) (*types.ResourceMetadata, any, error) {
				o, err := c.DescribeVirtualGateway(ctx(t), &appmesh.DescribeVirtualGatewayInput{MeshName: m, VirtualGatewayName: x})
				if err != nil {
					return nil, nil, err
				}
				return o.VirtualGateway.Metadata, o.VirtualGateway.Spec, nil
			},
			count: func(c *appmesh.Client, t *testing.T) int {
				return len(res(c.ListVirtualGateways(ctx(t), &appmesh.ListVirtualGatewaysInput{MeshName: m})).ok(t).VirtualGateways)
			},
		},
		{
			kind: "gatewayRoute",
			setup: func(t *testing.T, c *appmesh.Client) {
				mkMesh(t, c, "m")
				mkGateway(t, c, "m", "gw", 80)
				mkService(t, c, "m", "svc", nil)
			},
			create: func(c *appmesh.Client, t *testing.T, name, token string, v int) (*types.ResourceMetadata, any, error) {
				o, err := c.CreateGatewayRoute(ctx(t), &appmesh.CreateGatewayRouteInput{MeshName: m, VirtualGatewayName: aws.String("gw"), GatewayRouteName: aws.String(name),
					Spec: gwRouteSpec(fmt.Sprintf("/c%d", v), 0, "svc", 0), ClientToken: tok(token)})
				if err != nil {
					return nil, nil, err
				}
				return o.GatewayRoute.Metadata, o.GatewayRoute.Spec, nil
			},
			update: func(c *appmesh.Client, t *testing.T, token string, v int) (*types.ResourceMetadata, any, error) {
				o, err := c.UpdateGatewayRoute(ctx(t), &appmesh.UpdateGatewayRouteInput{MeshName: m, VirtualGatewayName: aws.String("gw"), GatewayRouteName: x,
					Spec: gwRouteSpec(fmt.Sprintf("/u%d", v), 0, "svc", 0), ClientToken: tok(token)})
				if err != nil {
					return nil, nil, err
				}
				return o.GatewayRoute.Metadata, o.GatewayRoute.Spec, nil
			},
			describe: func(c *appmesh.Client, t *testing.T) (*types.ResourceMetadata, any, error) {
				o, err := c.DescribeGatewayRoute(ctx(t), &appmesh.DescribeGatewayRouteInput{MeshName: m, VirtualGatewayName: aws.String("gw"), GatewayRouteName: x})
				if err != nil {
					return nil, nil, err
				}
				return o.GatewayRoute.Metadata, o.GatewayRoute.Spec, nil
			},
			count: func(c *appmesh.Client, t *testing.T) int {
				return len(res(c.ListGatewayRoutes(ctx(t), &appmesh.ListGatewayRoutesInput{MeshName: m, VirtualGatewayName: aws.String("gw")})).ok(t).GatewayRoutes)
			},
		},
	}
}

// TestClientToken checks clientToken idempotency on every Create and
// Update: the same token and input replays the original result without a
// second resource or version; the same token with another input is a
// ConflictException that changes nothing.
func TestClientToken(t *testing.T) {
	t.Parallel()
	for _, d := range kindDrivers() {
		t.Run(d.kind, func(t *testing.T) {
			t.Parallel()
			c := newClient(t)
			d.setup(t, c)
			name := "x"

			m1, s1, err := d.create(c, t, name, "create-token-1", 0)
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			checkCreated(t, "create", m1, deref(m1.Arn))

			// Replay: identical resource.
			m2, s2, err := d.create(c, t, name, "create-token-1", 0)
			if err != nil {
				t.Fatalf("replayed create: %v", err)
			}
			sameSpec(t, "replayed create metadata", m1, m2)
			sameSpec(t, "replayed create spec", s1, s2)
			if n := d.count(c, t); n != 1 {
				t.Errorf("%d resources after a replayed create, want 1", n)
			}

			// Same token, other spec → Conflict, nothing changes.
			_, _, err = d.create(c, t, name, "create-token-1", 1)
			conflict(t, err, "create-token-1")
			// Same token, other name → Conflict, nothing created.
			_, _, err = d.create(c, t, "y", "create-token-1", 0)
			conflict(t, err, "create-token-1")
			if n := d.count(c, t); n != 1 {
				t.Errorf("%d resources after conflicting creates, want 1", n)
			}
			dm, ds, err := d.describe(c, t)
			if err != nil {
				t.Fatalf("describe: %v", err)
			}
			sameSpec(t, "metadata after conflicting creates", m1, dm)
			sameSpec(t, "spec after conflicting creates", s1, ds)

			// Without a token (the SDK makes a fresh one) the name is taken.
			_, _, err = d.create(c, t, name, "", 0)
			conflict(t, err)

			// Update replay: version 2 once, not 3.
			u1, us1, err := d.update(c, t, "update-token-1", 0)
			if err != nil {
				t.Fatalf("update: %v", err)
			}
			checkUpdated(t, "update", m1, u1)
			u2, us2, err := d.update(c, t, "update-token-1", 0)
			if err != nil {
				t.Fatalf("replayed update: %v", err)
			}
			sameSpec(t, "replayed update metadata", u1, u2)
			sameSpec(t, "replayed update spec", us1, us2)
			_, _, err = d.update(c, t, "update-token-1", 1)
			conflict(t, err, "update-token-1")
			dm, ds, err = d.describe(c, t)
			if err != nil {
				t.Fatalf("describe: %v", err)
			}
			if deref(dm.Version) != 2 {
				t.Errorf("version after replayed and conflicting updates = %d, want 2", deref(dm.Version))
			}
			sameSpec(t, "spec after conflicting update", us1, ds)

			// A create token is not an update token: a fresh update works.
			u3, _, err := d.update(c, t, "create-token-1", 1)
			if err != nil {
				t.Fatalf("update with the create's token: %v", err)
			}
			if deref(u3.Version) != 3 {
				t.Errorf("version after a second update = %d, want 3", deref(u3.Version))
			}
		})
	}
}

// TestClientTokenOfFailedRequest: a request that failed is not remembered,
// so the same token with the same input succeeds once the cause is fixed,
// and is then replayed.
func TestClientTokenOfFailedRequest(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	mkMesh(t, c, "m")
	mkGateway(t, c, "m", "gw", 80)
	in := &appmesh.CreateGatewayRouteInput{MeshName: aws.String("m"), VirtualGatewayName: aws.String("gw"), GatewayRouteName: aws.String("gr"),
		Spec: gwRouteSpec("/", 0, "later.svc", 0), ClientToken: aws.String("retry-me")}
	_, err := c.CreateGatewayRoute(ctx(t), in)
	notFound(t, err, "later.svc")
	if l := res(c.ListGatewayRoutes(ctx(t), &appmesh.ListGatewayRoutesInput{MeshName: aws.String("m"), VirtualGatewayName: aws.String("gw")})).ok(t); len(l.GatewayRoutes) != 0 {
		t.Fatalf("gateway route created by a failed request: %s", dump(l.GatewayRoutes))
	}
	mkService(t, c, "m", "later.svc", nil)
	first := res(c.CreateGatewayRoute(ctx(t), in)).ok(t).GatewayRoute
	checkCreated(t, "create after the fix", first.Metadata, arnPrefix+"mesh/m/virtualGateway/gw/gatewayRoute/gr")
	again := res(c.CreateGatewayRoute(ctx(t), in)).ok(t).GatewayRoute
	sameSpec(t, "replay", first, again)

	// The same for an update refused by a rule.
	up := &appmesh.UpdateGatewayRouteInput{MeshName: aws.String("m"), VirtualGatewayName: aws.String("gw"), GatewayRouteName: aws.String("gr"),
		Spec: gwRouteSpec("/", 81, "later.svc", 0), ClientToken: aws.String("update-retry")}
	_, err = c.UpdateGatewayRoute(ctx(t), up)
	badRequest(t, err, "81")
	res(c.UpdateVirtualGateway(ctx(t), &appmesh.UpdateVirtualGatewayInput{MeshName: aws.String("m"), VirtualGatewayName: aws.String("gw"),
		Spec: gatewaySpec(types.VirtualGatewayPortProtocolHttp, 81)})).ok(t)
	updated := res(c.UpdateGatewayRoute(ctx(t), up)).ok(t).GatewayRoute
	if deref(updated.Metadata.Version) != 2 {
		t.Errorf("version after the retried update = %d, want 2", deref(updated.Metadata.Version))
	}
}
