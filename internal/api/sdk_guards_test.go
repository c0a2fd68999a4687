package api_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"
	"github.com/aws/aws-sdk-go-v2/service/appmesh/types"
)

// TestDeleteGuardsAndTeardown builds the full S6-like mesh, checks every
// delete guard of reference §3.1 (ResourceInUse naming the referrer, nothing
// deleted), then tears down in the documented order, each step succeeding
// once its referrers are gone.
func TestDeleteGuardsAndTeardown(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	mkMesh(t, c, "m")
	mkNode(t, c, "m", "routed-vn", 80)   // target of route r1
	mkNode(t, c, "m", "provider-vn", 80) // provider of svc-node
	mkRouter(t, c, "m", "vr", 8080)      // has route r1, provides svc-router
	mkRoute(t, c, "m", "vr", "r1", httpRouteSpec("/", "routed-vn", 0))
	mkService(t, c, "m", "svc-router", routerProvider("vr"))
	mkService(t, c, "m", "svc-node", nodeProvider("provider-vn"))
	mkGateway(t, c, "m", "gw", 9080)
	mkGatewayRoute(t, c, "m", "gw", "gr1", gwRouteSpec("/a", 0, "svc-router", 0))
	mkGatewayRoute(t, c, "m", "gw", "gr2", gwRouteSpec("/b", 0, "svc-router", 0))

	version := func(t *testing.T, get func() (*types.ResourceMetadata, error)) int64 {
		t.Helper()
		m, err := get()
		if err != nil {
			t.Fatalf("resource gone after a refused delete: %v", err)
		}
		return deref(m.Version)
	}
	stillThere := func(t *testing.T, what string, get func() (*types.ResourceMetadata, error)) {
		t.Helper()
		if v := version(t, get); v != 1 {
			t.Errorf("%s: version %d after a refused delete, want 1", what, v)
		}
	}
	meshGet := func() (*types.ResourceMetadata, error) {
		o, err := c.DescribeMesh(ctx(t), &appmesh.DescribeMeshInput{MeshName: aws.String("m")})
		if err != nil {
			return nil, err
		}
		return o.Mesh.Metadata, nil
	}
	gwGet := func() (*types.ResourceMetadata, error) {
		o, err := c.DescribeVirtualGateway(ctx(t), &appmesh.DescribeVirtualGatewayInput{MeshName: aws.String("m"), VirtualGatewayName: aws.String("gw")})
		if err != nil {
			return nil, err
		}
		return o.VirtualGateway.Metadata, nil
	}
	svcGet := func(name string) func() (*types.ResourceMetadata, error) {
		return func() (*types.ResourceMetadata, error) {
			o, err := c.DescribeVirtualService(ctx(t), &appmesh.DescribeVirtualServiceInput{MeshName: aws.String("m"), VirtualServiceName: aws.String(name)})
			if err != nil {
				return nil, err
			}
			return o.VirtualService.Metadata, nil
		}
	}
	vrGet := func() (*types.ResourceMetadata, error) {
		o, err := c.DescribeVirtualRouter(ctx(t), &appmesh.DescribeVirtualRouterInput{MeshName: aws.String("m"), VirtualRouterName: aws.String("vr")})
		if err != nil {
			return nil, err
		}
		return o.VirtualRouter.Metadata, nil
	}
	vnGet := func(name string) func() (*types.ResourceMetadata, error) {
		return func() (*types.ResourceMetadata, error) {
			o, err := c.DescribeVirtualNode(ctx(t), &appmesh.DescribeVirtualNodeInput{MeshName: aws.String("m"), VirtualNodeName: aws.String(name)})
			if err != nil {
				return nil, err
			}
			return o.VirtualNode.Metadata, nil
		}
	}
	delMesh := func() error {
		_, err := c.DeleteMesh(ctx(t), &appmesh.DeleteMeshInput{MeshName: aws.String("m")})
		return err
	}
	delGW := func() error {
		_, err := c.DeleteVirtualGateway(ctx(t), &appmesh.DeleteVirtualGatewayInput{MeshName: aws.String("m"), VirtualGatewayName: aws.String("gw")})
		return err
	}
	delSvc := func(name string) error {
		_, err := c.DeleteVirtualService(ctx(t), &appmesh.DeleteVirtualServiceInput{MeshName: aws.String("m"), VirtualServiceName: aws.String(name)})
		return err
	}
	delVR := func() error {
		_, err := c.DeleteVirtualRouter(ctx(t), &appmesh.DeleteVirtualRouterInput{MeshName: aws.String("m"), VirtualRouterName: aws.String("vr")})
		return err
	}
	delVN := func(name string) error {
		_, err := c.DeleteVirtualNode(ctx(t), &appmesh.DeleteVirtualNodeInput{MeshName: aws.String("m"), VirtualNodeName: aws.String(name)})
		return err
	}

	// Every guard refuses while everything exists.
	inUse(t, delMesh(), "m", "VirtualNode")
	stillThere(t, "mesh", meshGet)
	inUse(t, delGW(), "gw", "gr1", "gr2")
	stillThere(t, "gateway", gwGet)
	inUse(t, delSvc("svc-router"), "svc-router", "GATEWAY_ROUTE", "gr1", "gr2")
	stillThere(t, "svc-router", svcGet("svc-router"))
	inUse(t, delVR(), "vr", "r1")
	stillThere(t, "router", vrGet)
	inUse(t, delVN("routed-vn"), "routed-vn", "ROUTE", "r1")
	stillThere(t, "routed-vn", vnGet("routed-vn"))
	inUse(t, delVN("provider-vn"), "provider-vn", "VIRTUAL_SERVICE", "svc-node")
	stillThere(t, "provider-vn", vnGet("provider-vn"))

	// Gateway routes are never blocked; with one left the guards still hold.
	res(c.DeleteGatewayRoute(ctx(t), &appmesh.DeleteGatewayRouteInput{MeshName: aws.String("m"), VirtualGatewayName: aws.String("gw"), GatewayRouteName: aws.String("gr1")})).ok(t)
	inUse(t, delGW(), "gr2")
	inUse(t, delSvc("svc-router"), "gr2")
	res(c.DeleteGatewayRoute(ctx(t), &appmesh.DeleteGatewayRouteInput{MeshName: aws.String("m"), VirtualGatewayName: aws.String("gw"), GatewayRouteName: aws.String("gr2")})).ok(t)

	// gateway → services; the mesh is still blocked.
	res(c.DeleteVirtualGateway(ctx(t), &appmesh.DeleteVirtualGatewayInput{MeshName: aws.String("m"), VirtualGatewayName: aws.String("gw")})).ok(t)
	inUse(t, delMesh(), "m")
	// The router still has a route and provides svc-router: the route guard first.
	inUse(t, delVR(), "vr")
	res(c.DeleteVirtualService(ctx(t), &appmesh.DeleteVirtualServiceInput{MeshName: aws.String("m"), VirtualServiceName: aws.String("svc-router")})).ok(t)
	res(c.DeleteVirtualService(ctx(t), &appmesh.DeleteVirtualServiceInput{MeshName: aws.String("m"), VirtualServiceName: aws.String("svc-node")})).ok(t)
	// Routes → router → nodes → mesh.
	inUse(t, delVR(), "r1")
	inUse(t, delVN("routed-vn"), "r1")
	res(c.DeleteRoute(ctx(t), &appmesh.DeleteRouteInput{MeshName: aws.String("m"), VirtualRouterName: aws.String("vr"), RouteName: aws.String("r1")})).ok(t)
	res(c.DeleteVirtualRouter(ctx(t), &appmesh.DeleteVirtualRouterInput{MeshName: aws.String("m"), VirtualRouterName: aws.String("vr")})).ok(t)
	res(c.DeleteVirtualNode(ctx(t), &appmesh.DeleteVirtualNodeInput{MeshName: aws.String("m"), VirtualNodeName: aws.String("routed-vn")})).ok(t)
	inUse(t, delMesh(), "VirtualNode")
	res(c.DeleteVirtualNode(ctx(t), &appmesh.DeleteVirtualNodeInput{MeshName: aws.String("m"), VirtualNodeName: aws.String("provider-vn")})).ok(t)
	deleted := res(c.DeleteMesh(ctx(t), &appmesh.DeleteMeshInput{MeshName: aws.String("m")})).ok(t).Mesh
	if deleted.Status.Status != types.MeshStatusCodeDeleted || deref(deleted.Metadata.Version) != 1 {
		t.Errorf("DeleteMesh = %s", dump(deleted))
	}
	if l := res(c.ListMeshes(ctx(t), &appmesh.ListMeshesInput{})).ok(t); len(l.Meshes) != 0 {
		t.Errorf("meshes after teardown = %s", dump(l.Meshes))
	}
}

// TestMeshDeleteGuardPerKind checks that each kind of mesh child alone keeps
// the mesh from being deleted, naming the kind.
func TestMeshDeleteGuardPerKind(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	kinds := []struct {
		kind   string
		create func(mesh string)
		remove func(mesh string)
	}{
		{"VirtualNode", func(m string) { mkNode(t, c, m, "x", 80) }, func(m string) {
			res(c.DeleteVirtualNode(ctx(t), &appmesh.DeleteVirtualNodeInput{MeshName: aws.String(m), VirtualNodeName: aws.String("x")})).ok(t)
		}},
		{"VirtualRouter", func(m string) { mkRouter(t, c, m, "x", 80) }, func(m string) {
			res(c.DeleteVirtualRouter(ctx(t), &appmesh.DeleteVirtualRouterInput{MeshName: aws.String(m), VirtualRouterName: aws.String("x")})).ok(t)
		}},
		{"VirtualService", func(m string) { mkService(t, c, m, "x", nil) }, func(m string) {
			res(c.DeleteVirtualService(ctx(t), &appmesh.DeleteVirtualServiceInput{MeshName: aws.String(m), VirtualServiceName: aws.String("x")})).ok(t)
		}},
		{"VirtualGateway", func(m string) { mkGateway(t, c, m, "x", 80) }, func(m string) {
			res(c.DeleteVirtualGateway(ctx(t), &appmesh.DeleteVirtualGatewayInput{MeshName: aws.String(m), VirtualGatewayName: aws.String("x")})).ok(t)
		}},
	}
	for _, k := range kinds {
		mesh := "mesh-" + k.kind
		mkMesh(t, c, mesh)
		k.create(mesh)
		_, err := c.DeleteMesh(ctx(t), &appmesh.DeleteMeshInput{MeshName: aws.String(mesh)})
		inUse(t, err, mesh, k.kind)
		res(c.DescribeMesh(ctx(t), &appmesh.DescribeMeshInput{MeshName: aws.String(mesh)})).ok(t)
		k.remove(mesh)
		res(c.DeleteMesh(ctx(t), &appmesh.DeleteMeshInput{MeshName: aws.String(mesh)})).ok(t)
	}
}

// TestReferencesFollowUpdates checks that the delete guards use the current
// spec: after an update moves a reference, the old target can be deleted and
// the new one cannot.
func TestReferencesFollowUpdates(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	mkMesh(t, c, "m")
	mkNode(t, c, "m", "a", 80)
	mkNode(t, c, "m", "b", 80)
	mkRouter(t, c, "m", "vr", 80)
	mkRoute(t, c, "m", "vr", "r", httpRouteSpec("/", "a", 0))
	mkService(t, c, "m", "svc", nodeProvider("a"))
	mkService(t, c, "m", "t1", nil)
	mkService(t, c, "m", "t2", nil)
	mkGateway(t, c, "m", "gw", 80)
	mkGatewayRoute(t, c, "m", "gw", "gr", gwRouteSpec("/", 0, "t1", 0))

	res(c.UpdateRoute(ctx(t), &appmesh.UpdateRouteInput{MeshName: aws.String("m"), VirtualRouterName: aws.String("vr"), RouteName: aws.String("r"), Spec: httpRouteSpec("/", "b", 0)})).ok(t)
	res(c.UpdateVirtualService(ctx(t), &appmesh.UpdateVirtualServiceInput{MeshName: aws.String("m"), VirtualServiceName: aws.String("svc"), Spec: routerProvider("vr")})).ok(t)
	res(c.UpdateGatewayRoute(ctx(t), &appmesh.UpdateGatewayRouteInput{MeshName: aws.String("m"), VirtualGatewayName: aws.String("gw"), GatewayRouteName: aws.String("gr"), Spec: gwRouteSpec("/", 0, "t2", 0)})).ok(t)

	// Old targets are free.
	res(c.DeleteVirtualNode(ctx(t), &appmesh.DeleteVirtualNodeInput{MeshName: aws.String("m"), VirtualNodeName: aws.String("a")})).ok(t)
	res(c.DeleteVirtualService(ctx(t), &appmesh.DeleteVirtualServiceInput{MeshName: aws.String("m"), VirtualServiceName: aws.String("t1")})).ok(t)
	// New targets are guarded.
	_, err := c.DeleteVirtualNode(ctx(t), &appmesh.DeleteVirtualNodeInput{MeshName: aws.String("m"), VirtualNodeName: aws.String("b")})
	inUse(t, err, "b", "r")
	_, err = c.DeleteVirtualService(ctx(t), &appmesh.DeleteVirtualServiceInput{MeshName: aws.String("m"), VirtualServiceName: aws.String("t2")})
	inUse(t, err, "t2", "GATEWAY_ROUTE", "gr")
	// The router now provides svc (its route deleted, the provider guard remains).
	res(c.DeleteRoute(ctx(t), &appmesh.DeleteRouteInput{MeshName: aws.String("m"), VirtualRouterName: aws.String("vr"), RouteName: aws.String("r")})).ok(t)
	_, err = c.DeleteVirtualRouter(ctx(t), &appmesh.DeleteVirtualRouterInput{MeshName: aws.String("m"), VirtualRouterName: aws.String("vr")})
	inUse(t, err, "vr", "VIRTUAL_SERVICE", "svc")
	res(c.DeleteVirtualNode(ctx(t), &appmesh.DeleteVirtualNodeInput{MeshName: aws.String("m"), VirtualNodeName: aws.String("b")})).ok(t)
	// Deleting a gateway route frees its target.
	res(c.DeleteGatewayRoute(ctx(t), &appmesh.DeleteGatewayRouteInput{MeshName: aws.String("m"), VirtualGatewayName: aws.String("gw"), GatewayRouteName: aws.String("gr")})).ok(t)
	res(c.DeleteVirtualService(ctx(t), &appmesh.DeleteVirtualServiceInput{MeshName: aws.String("m"), VirtualServiceName: aws.String("t2")})).ok(t)
	// A virtual service named only as a node backend is not guarded (§3.1).
	res(c.CreateVirtualNode(ctx(t), &appmesh.CreateVirtualNodeInput{MeshName: aws.String("m"), VirtualNodeName: aws.String("client"),
		Spec: &types.VirtualNodeSpec{Backends: []types.Backend{&types.BackendMemberVirtualService{Value: types.VirtualServiceBackend{VirtualServiceName: aws.String("svc")}}}}})).ok(t)
	res(c.DeleteVirtualService(ctx(t), &appmesh.DeleteVirtualServiceInput{MeshName: aws.String("m"), VirtualServiceName: aws.String("svc")})).ok(t)
	res(c.DeleteVirtualRouter(ctx(t), &appmesh.DeleteVirtualRouterInput{MeshName: aws.String("m"), VirtualRouterName: aws.String("vr")})).ok(t)
}
