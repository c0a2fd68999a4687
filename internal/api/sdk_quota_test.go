package api_test

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"
	"github.com/aws/aws-sdk-go-v2/service/appmesh/types"

	"github.com/meshgate/meshgate/internal/service"
)

// TestQuotas runs each kind up to a small quota: the (n+1)th create is a
// LimitExceededException that creates nothing, the quota is per parent,
// and deleting one makes room again.
func TestQuotas(t *testing.T) {
	t.Parallel()
	small := withQuotas(func(q *service.Quotas) {
		q.Meshes = 2
		q.VirtualNodesPerMesh = 2
		q.VirtualRoutersPerMesh = 1
		q.RoutesPerVirtualRouter = 2
		q.VirtualServicesPerMesh = 1
		q.VirtualGatewaysPerMesh = 1
		q.GatewayRoutesPerVirtualGateway = 2
		q.BackendsPerVirtualNode = 1
	})

	t.Run("meshes", func(t *testing.T) {
		t.Parallel()
		c := newClient(t, small)
		mkMesh(t, c, "a")
		mkMesh(t, c, "b")
		_, err := c.CreateMesh(ctx(t), &appmesh.CreateMeshInput{MeshName: aws.String("c")})
		limitExceeded(t, err, "2", "meshes")
		if n := len(res(c.ListMeshes(ctx(t), &appmesh.ListMeshesInput{})).ok(t).Meshes); n != 2 {
			t.Errorf("%d meshes, want 2", n)
		}
		_, err = c.DescribeMesh(ctx(t), &appmesh.DescribeMeshInput{MeshName: aws.String("c")})
		notFound(t, err, "c")
		res(c.DeleteMesh(ctx(t), &appmesh.DeleteMeshInput{MeshName: aws.String("a")})).ok(t)
		mkMesh(t, c, "c")
	})

	// perMesh covers the kinds counted per mesh: two meshes, quota n in each.
	perMesh := []struct {
		kind   string
		n      int
		create func(c *appmesh.Client, t *testing.T, mesh, name string) error
		count  func(c *appmesh.Client, t *testing.T, mesh string) int
		remove func(c *appmesh.Client, t *testing.T, mesh, name string)
	}{
		{"virtual nodes", 2,
			func(c *appmesh.Client, t *testing.T, mesh, name string) error {
				_, err := c.CreateVirtualNode(ctx(t), &appmesh.CreateVirtualNodeInput{MeshName: aws.String(mesh), VirtualNodeName: aws.String(name), Spec: nodeSpec("h", 80)})
				return err
			},
			func(c *appmesh.Client, t *testing.T, mesh string) int {
				return len(res(c.ListVirtualNodes(ctx(t), &appmesh.ListVirtualNodesInput{MeshName: aws.String(mesh)})).ok(t).VirtualNodes)
			},
			func(c *appmesh.Client, t *testing.T, mesh, name string) {
				res(c.DeleteVirtualNode(ctx(t), &appmesh.DeleteVirtualNodeInput{MeshName: aws.String(mesh), VirtualNodeName: aws.String(name)})).ok(t)
			}},
		{"virtual routers", 1,
			func(c *appmesh.Client, t *testing.T, mesh, name string) error {
				_, err := c.CreateVirtualRouter(ctx(t), &appmesh.CreateVirtualRouterInput{MeshName: aws.String(mesh), VirtualRouterName: aws.String(name), Spec: routerSpec(types.PortProtocolHttp, 80)})
				return err
			},
			func(c *appmesh.Client, t *testing.T, mesh string) int {
				return len(res(c.ListVirtualRouters(ctx(t), &appmesh.ListVirtualRoutersInput{MeshName: aws.String(mesh)})).ok(t).VirtualRouters)
			},
			func(c *appmesh.Client, t *testing.T, mesh, name string) {
				res(c.DeleteVirtualRouter(ctx(t), &appmesh.DeleteVirtualRouterInput{MeshName: aws.String(mesh), VirtualRouterName: aws.String(name)})).ok(t)
			}},
		{"virtual services", 1,
			func(c *appmesh.Client, t *testing.T, mesh, name string) error {
				_, err := c.CreateVirtualService(ctx(t), &appmesh.CreateVirtualServiceInput{MeshName: aws.String(mesh), VirtualServiceName: aws.String(name), Spec: &types.VirtualServiceSpec{}})
				return err
			},
			func(c *appmesh.Client, t *testing.T, mesh string) int {
				return len(res(c.ListVirtualServices(ctx(t), &appmesh.ListVirtualServicesInput{MeshName: aws.String(mesh)})).ok(t).VirtualServices)
			},
			func(c *appmesh.Client, t *testing.T, mesh, name string) {
				res(c.DeleteVirtualService(ctx(t), &appmesh.DeleteVirtualServiceInput{MeshName: aws.String(mesh), VirtualServiceName: aws.String(name)})).ok(t)
			}},
		{"virtual gateways", 1,
			func(c *appmesh.Client, t *testing.T, mesh, name string) error {
				_, err := c.CreateVirtualGateway(ctx(t), &appmesh.CreateVirtualGatewayInput{MeshName: aws.String(mesh), VirtualGatewayName: aws.String(name), Spec: gatewaySpec(types.VirtualGatewayPortProtocolHttp, 80)})
				return err
			},
			func(c *appmesh.Client, t *testing.T, mesh string) int {
				return len(res(c.ListVirtualGateways(ctx(t), &appmesh.ListVirtualGatewaysInput{MeshName: aws.String(mesh)})).ok(t).VirtualGateways)
			},
			func(c *appmesh.Client, t *testing.T, mesh, name string) {
				res(c.DeleteVirtualGateway(ctx(t), &appmesh.DeleteVirtualGatewayInput{MeshName: aws.String(mesh), VirtualGatewayName: aws.String(name)})).ok(t)
			}},
	}
	for _, k := range perMesh {
		t.Run(k.kind, func(t *testing.T) {
			t.Parallel()
			c := newClient(t, small)
			mkMesh(t, c, "m1")
			mkMesh(t, c, "m2")
			for i := range k.n {
				if err := k.create(c, t, "m1", fmt.Sprintf("r%d", i)); err != nil {
					t.Fatalf("create %d of %d: %v", i+1, k.n, err)
				}
			}
			limitExceeded(t, k.create(c, t, "m1", "over"), fmt.Sprint(k.n), k.kind, "m1")
			if got := k.count(c, t, "m1"); got != k.n {
				t.Errorf("%d %s after the refused create, want %d", got, k.kind, k.n)
			}
			// The quota is per mesh.
			if err := k.create(c, t, "m2", "over"); err != nil {
				t.Errorf("create in the other mesh: %v", err)
			}
			k.remove(c, t, "m1", "r0")
			if err := k.create(c, t, "m1", "over"); err != nil {
				t.Errorf("create after a delete made room: %v", err)
			}
		})
	}

	t.Run("gateway routes", func(t *testing.T) {
		t.Parallel()
		c := newClient(t, withQuotas(func(q *service.Quotas) {
			q.VirtualGatewaysPerMesh = 2
			q.GatewayRoutesPerVirtualGateway = 2
		}))
		mkMesh(t, c, "m")
		mkService(t, c, "m", "svc", nil)
		mkGateway(t, c, "m", "gw", 80)
		mkGateway(t, c, "m", "gw2", 80)
		mkGatewayRoute(t, c, "m", "gw", "a", gwRouteSpec("/a", 0, "svc", 0))
		mkGatewayRoute(t, c, "m", "gw", "b", gwRouteSpec("/b", 0, "svc", 0))
		_, err := c.CreateGatewayRoute(ctx(t), &appmesh.CreateGatewayRouteInput{MeshName: aws.String("m"), VirtualGatewayName: aws.String("gw"),
			GatewayRouteName: aws.String("c"), Spec: gwRouteSpec("/c", 0, "svc", 0)})
		limitExceeded(t, err, "2", "gateway routes", "gw")
		l := res(c.ListGatewayRoutes(ctx(t), &appmesh.ListGatewayRoutesInput{MeshName: aws.String("m"), VirtualGatewayName: aws.String("gw")})).ok(t)
		if len(l.GatewayRoutes) != 2 {
			t.Errorf("gateway routes after the refused create = %s", dump(l.GatewayRoutes))
		}
		_, err = c.DescribeGatewayRoute(ctx(t), &appmesh.DescribeGatewayRouteInput{MeshName: aws.String("m"), VirtualGatewayName: aws.String("gw"), GatewayRouteName: aws.String("c")})
		notFound(t, err, "c")
		// Per gateway: gw2 still has room. Updates are not creates.
		mkGatewayRoute(t, c, "m", "gw2", "c", gwRouteSpec("/c", 0, "svc", 0))
		res(c.UpdateGatewayRoute(ctx(t), &appmesh.UpdateGatewayRouteInput{MeshName: aws.String("m"), VirtualGatewayName: aws.String("gw"),
			GatewayRouteName: aws.String("a"), Spec: gwRouteSpec("/aa", 0, "svc", 0)})).ok(t)
		// A third gateway is over VirtualGatewaysPerMesh 2.
		_, err = c.CreateVirtualGateway(ctx(t), &appmesh.CreateVirtualGatewayInput{MeshName: aws.String("m"), VirtualGatewayName: aws.String("gw3"), Spec: gatewaySpec(types.VirtualGatewayPortProtocolHttp, 80)})
		limitExceeded(t, err, "2", "virtual gateways")
	})

	t.Run("routes", func(t *testing.T) {
		t.Parallel()
		c := newClient(t, small)
		mkMesh(t, c, "m")
		mkNode(t, c, "m", "n", 80)
		mkRouter(t, c, "m", "vr", 80)
		mkRoute(t, c, "m", "vr", "a", httpRouteSpec("/a", "n", 0))
		mkRoute(t, c, "m", "vr", "b", httpRouteSpec("/b", "n", 0))
		_, err := c.CreateRoute(ctx(t), &appmesh.CreateRouteInput{MeshName: aws.String("m"), VirtualRouterName: aws.String("vr"), RouteName: aws.String("c"), Spec: httpRouteSpec("/c", "n", 0)})
		limitExceeded(t, err, "2", "routes", "vr")
		if l := res(c.ListRoutes(ctx(t), &appmesh.ListRoutesInput{MeshName: aws.String("m"), VirtualRouterName: aws.String("vr")})).ok(t); len(l.Routes) != 2 {
			t.Errorf("routes after the refused create = %s", dump(l.Routes))
		}
	})

	t.Run("backends per node", func(t *testing.T) {
		t.Parallel()
		c := newClient(t, small)
		mkMesh(t, c, "m")
		backends := func(names ...string) *types.VirtualNodeSpec {
			s := &types.VirtualNodeSpec{}
			for _, n := range names {
				s.Backends = append(s.Backends, &types.BackendMemberVirtualService{Value: types.VirtualServiceBackend{VirtualServiceName: aws.String(n)}})
			}
			return s
		}
		_, err := c.CreateVirtualNode(ctx(t), &appmesh.CreateVirtualNodeInput{MeshName: aws.String("m"), VirtualNodeName: aws.String("n"), Spec: backends("a", "b")})
		limitExceeded(t, err, "backends", "1")
		if l := res(c.ListVirtualNodes(ctx(t), &appmesh.ListVirtualNodesInput{MeshName: aws.String("m")})).ok(t); len(l.VirtualNodes) != 0 {
			t.Errorf("nodes after the refused create = %s", dump(l.VirtualNodes))
		}
		n := res(c.CreateVirtualNode(ctx(t), &appmesh.CreateVirtualNodeInput{MeshName: aws.String("m"), VirtualNodeName: aws.String("n"), Spec: backends("a")})).ok(t).VirtualNode
		_, err = c.UpdateVirtualNode(ctx(t), &appmesh.UpdateVirtualNodeInput{MeshName: aws.String("m"), VirtualNodeName: aws.String("n"), Spec: backends("a", "b")})
		limitExceeded(t, err, "backends")
		d := res(c.DescribeVirtualNode(ctx(t), &appmesh.DescribeVirtualNodeInput{MeshName: aws.String("m"), VirtualNodeName: aws.String("n")})).ok(t).VirtualNode
		sameSpec(t, "node after a refused update", n, d)
	})
}
