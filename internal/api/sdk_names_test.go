package api_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"
	"github.com/aws/aws-sdk-go-v2/service/appmesh/types"
)

// TestNamesNeedingEscaping round-trips names that must be escaped in the
// URI path (and in the resourceArn query parameter) through every kind:
// create, describe, update, list, tag by ARN, delete.
func TestNamesNeedingEscaping(t *testing.T) {
	t.Parallel()
	names := []string{
		"svc.ns.svc.cluster.local",
		"with space",
		"per%cent",
		"%41literal", // must not be decoded twice into "A"
		"plus+sign",
		"q?mark",
		"hash#tag",
		"semi;colon&amp=eq",
		"ünïcødé",
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := newClient(t)
			n := aws.String(name)
			mesh := res(c.CreateMesh(ctx(t), &appmesh.CreateMeshInput{MeshName: n})).ok(t).Mesh
			if deref(mesh.MeshName) != name || deref(mesh.Metadata.Arn) != arnPrefix+"mesh/"+name {
				t.Errorf("mesh = %q %q", deref(mesh.MeshName), deref(mesh.Metadata.Arn))
			}
			node := res(c.CreateVirtualNode(ctx(t), &appmesh.CreateVirtualNodeInput{MeshName: n, VirtualNodeName: n, Spec: nodeSpec("h", 80)})).ok(t).VirtualNode
			router := res(c.CreateVirtualRouter(ctx(t), &appmesh.CreateVirtualRouterInput{MeshName: n, VirtualRouterName: n, Spec: routerSpec(types.PortProtocolHttp, 80)})).ok(t).VirtualRouter
			route := res(c.CreateRoute(ctx(t), &appmesh.CreateRouteInput{MeshName: n, VirtualRouterName: n, RouteName: n, Spec: httpRouteSpec("/", name, 0)})).ok(t).Route
			svc := res(c.CreateVirtualService(ctx(t), &appmesh.CreateVirtualServiceInput{MeshName: n, VirtualServiceName: n, Spec: routerProvider(name)})).ok(t).VirtualService
			gw := res(c.CreateVirtualGateway(ctx(t), &appmesh.CreateVirtualGatewayInput{MeshName: n, VirtualGatewayName: n, Spec: gatewaySpec(types.VirtualGatewayPortProtocolHttp, 80)})).ok(t).VirtualGateway
			gr := res(c.CreateGatewayRoute(ctx(t), &appmesh.CreateGatewayRouteInput{MeshName: n, VirtualGatewayName: n, GatewayRouteName: n, Spec: gwRouteSpec("/", 0, name, 0)})).ok(t).GatewayRoute

			wantARN := map[string]string{
				"node":    arnPrefix + "mesh/" + name + "/virtualNode/" + name,
				"router":  arnPrefix + "mesh/" + name + "/virtualRouter/" + name,
				"route":   arnPrefix + "mesh/" + name + "/virtualRouter/" + name + "/route/" + name,
				"service": arnPrefix + "mesh/" + name + "/virtualService/" + name,
				"gateway": arnPrefix + "mesh/" + name + "/virtualGateway/" + name,
				"gwroute": arnPrefix + "mesh/" + name + "/virtualGateway/" + name + "/gatewayRoute/" + name,
			}
			gotARN := map[string]string{
				"node": deref(node.Metadata.Arn), "router": deref(router.Metadata.Arn), "route": deref(route.Metadata.Arn),
				"service": deref(svc.Metadata.Arn), "gateway": deref(gw.Metadata.Arn), "gwroute": deref(gr.Metadata.Arn),
			}
			for k, want := range wantARN {
				if gotARN[k] != want {
					t.Errorf("%s arn = %q, want %q", k, gotARN[k], want)
				}
			}
			if deref(gr.GatewayRouteName) != name || deref(gr.VirtualGatewayName) != name || deref(gr.MeshName) != name {
				t.Errorf("gateway route names = %s", dump(gr))
			}

			// Describe each by name.
			d1 := res(c.DescribeVirtualNode(ctx(t), &appmesh.DescribeVirtualNodeInput{MeshName: n, VirtualNodeName: n})).ok(t).VirtualNode
			sameSpec(t, "node", node, d1)
			d2 := res(c.DescribeRoute(ctx(t), &appmesh.DescribeRouteInput{MeshName: n, VirtualRouterName: n, RouteName: n})).ok(t).Route
			sameSpec(t, "route", route, d2)
			d3 := res(c.DescribeVirtualService(ctx(t), &appmesh.DescribeVirtualServiceInput{MeshName: n, VirtualServiceName: n})).ok(t).VirtualService
			sameSpec(t, "service", svc, d3)
			d4 := res(c.DescribeGatewayRoute(ctx(t), &appmesh.DescribeGatewayRouteInput{MeshName: n, VirtualGatewayName: n, GatewayRouteName: n})).ok(t).GatewayRoute
			sameSpec(t, "gateway route", gr, d4)

			// Update through the escaped path.
			u := res(c.UpdateGatewayRoute(ctx(t), &appmesh.UpdateGatewayRouteInput{MeshName: n, VirtualGatewayName: n, GatewayRouteName: n, Spec: gwRouteSpec("/v2", 0, name, 0)})).ok(t).GatewayRoute
			if deref(u.Metadata.Version) != 2 {
				t.Errorf("updated version = %d", deref(u.Metadata.Version))
			}

			// Lists carry the names unescaped.
			lm := res(c.ListMeshes(ctx(t), &appmesh.ListMeshesInput{})).ok(t)
			if len(lm.Meshes) != 1 || deref(lm.Meshes[0].MeshName) != name {
				t.Errorf("ListMeshes = %s", dump(lm.Meshes))
			}
			lg := res(c.ListGatewayRoutes(ctx(t), &appmesh.ListGatewayRoutesInput{MeshName: n, VirtualGatewayName: n})).ok(t)
			if len(lg.GatewayRoutes) != 1 || deref(lg.GatewayRoutes[0].GatewayRouteName) != name || deref(lg.GatewayRoutes[0].Arn) != wantARN["gwroute"] {
				t.Errorf("ListGatewayRoutes = %s", dump(lg.GatewayRoutes))
			}

			// Tags through the resourceArn query parameter.
			res(c.TagResource(ctx(t), &appmesh.TagResourceInput{ResourceArn: gr.Metadata.Arn, Tags: tags("name", name)})).ok(t)
			wantTags(t, c, deref(gr.Metadata.Arn), "name="+name)
			res(c.UntagResource(ctx(t), &appmesh.UntagResourceInput{ResourceArn: gr.Metadata.Arn, TagKeys: []string{"name"}})).ok(t)
			wantTags(t, c, deref(gr.Metadata.Arn))

			// Delete in teardown order.
			res(c.DeleteGatewayRoute(ctx(t), &appmesh.DeleteGatewayRouteInput{MeshName: n, VirtualGatewayName: n, GatewayRouteName: n})).ok(t)
			res(c.DeleteVirtualGateway(ctx(t), &appmesh.DeleteVirtualGatewayInput{MeshName: n, VirtualGatewayName: n})).ok(t)
			res(c.DeleteVirtualService(ctx(t), &appmesh.DeleteVirtualServiceInput{MeshName: n, VirtualServiceName: n})).ok(t)
			res(c.DeleteRoute(ctx(t), &appmesh.DeleteRouteInput{MeshName: n, VirtualRouterName: n, RouteName: n})).ok(t)
			res(c.DeleteVirtualRouter(ctx(t), &appmesh.DeleteVirtualRouterInput{MeshName: n, VirtualRouterName: n})).ok(t)
			res(c.DeleteVirtualNode(ctx(t), &appmesh.DeleteVirtualNodeInput{MeshName: n, VirtualNodeName: n})).ok(t)
			res(c.DeleteMesh(ctx(t), &appmesh.DeleteMeshInput{MeshName: n})).ok(t)
			_, err := c.DescribeMesh(ctx(t), &appmesh.DescribeMeshInput{MeshName: n})
			notFound(t, err, name)
		})
	}
}

// TestNamesWithSlash: a name with "/" makes the resource's ARN ambiguous.
// The server accepts such names, and then (1) a mesh named
// "x/virtualNode/y" gets the very ARN of virtual node y in mesh x, so
// TagResource on the mesh's ARN tags the node, and (2) a virtual node named
// "a/b" cannot be tagged at all by the ARN the server returned for it
// (BadRequest "is not a valid App Mesh ARN"). Either refusing "/" in names
// (BadRequest) or giving every resource an ARN that tags it would pass.
func TestNamesWithSlash(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	mkMesh(t, c, "x")
	node := mkNode(t, c, "x", "y", 80)

	mesh, err := c.CreateMesh(ctx(t), &appmesh.CreateMeshInput{MeshName: aws.String("x/virtualNode/y")})
	if err != nil {
		badRequest(t, err, "meshName")
	} else {
		if deref(mesh.Mesh.Metadata.Arn) == deref(node.Metadata.Arn) {
			t.Errorf("mesh %q and node y of mesh x share the ARN %s", "x/virtualNode/y", deref(node.Metadata.Arn))
		}
		res(c.TagResource(ctx(t), &appmesh.TagResourceInput{ResourceArn: mesh.Mesh.Metadata.Arn, Tags: tags("owner", "mesh")})).ok(t)
		wantTags(t, c, deref(node.Metadata.Arn)) // the node must not get the mesh's tag
	}

	vn, err := c.CreateVirtualNode(ctx(t), &appmesh.CreateVirtualNodeInput{MeshName: aws.String("x"), VirtualNodeName: aws.String("a/b"), Spec: nodeSpec("h", 80)})
	if err != nil {
		badRequest(t, err, "virtualNodeName")
		return
	}
	_, err = c.TagResource(ctx(t), &appmesh.TagResourceInput{ResourceArn: vn.VirtualNode.Metadata.Arn, Tags: tags("k", "v")})
	if err != nil {
		t.Errorf("TagResource on the ARN CreateVirtualNode returned (%s): %v", deref(vn.VirtualNode.Metadata.Arn), err)
	}
}
