package service

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/meshgate/meshgate/internal/appmesh"
	"github.com/meshgate/meshgate/internal/store/sqlite"
)

const (
	ownerAcct    = "111122223333" // the server's account; owns mesh "shared" and "private"
	consumerAcct = "444455556666" // "shared" is shared with it
	outsideAcct  = "777788889999" // nothing is shared with it
)

// testSharing is a Sharing the test changes as it goes.
type testSharing struct {
	mu     sync.Mutex
	shared map[[3]string]bool
}

func (s *testSharing) SharedWith(mesh, owner, account string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.shared[[3]string{mesh, owner, account}]
}

func (s *testSharing) set(mesh, owner, account string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.shared[[3]string{mesh, owner, account}] = on
}

func newSharingService(t *testing.T, q Quotas) (*Service, *testSharing) {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sh := &testSharing{shared: map[[3]string]bool{}}
	s, err := New(st, Config{Region: "us-west-2", AccountID: ownerAcct, Quotas: q, Sharing: sh,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return s, sh
}

func as(account string) context.Context { return WithCaller(context.Background(), account) }

// wantErr checks an operation's outcome: code "" wants success.
func wantErr(t *testing.T, step string, err error, code, fragment string) {
	t.Helper()
	var ae *appmesh.Error
	switch {
	case code == "" && err != nil:
		t.Fatalf("%s: %v", step, err)
	case code == "":
	case !errors.As(err, &ae):
		t.Fatalf("%s: got %v, want %s", step, err, code)
	case ae.Code != code || !strings.Contains(ae.Message, fragment):
		t.Fatalf("%s: got %s %q, want %s containing %q", step, ae.Code, ae.Message, code, fragment)
	}
}

const (
	nodeSpec   = `{"listeners":[{"portMapping":{"port":8080,"protocol":"http"}}],"serviceDiscovery":{"dns":{"hostname":"n.local"}}}`
	routerSpec = `{"listeners":[{"portMapping":{"port":8080,"protocol":"http"}}]}`
	gwSpec     = `{"listeners":[{"portMapping":{"port":8080,"protocol":"http"}}]}`
	routeSpec  = `{"httpRoute":{"match":{"prefix":"/"},"action":{"weightedTargets":[{"virtualNode":"c-node","weight":1}]}}}`
	grSpec     = `{"httpRoute":{"match":{"prefix":"/"},"action":{"target":{"virtualService":{"virtualServiceName":"c-svc"}}}}}`
	vsSpec     = `{"provider":{"virtualNode":{"virtualNodeName":"c-node"}}}`
)

// TestSharedMesh walks App Mesh's shared-mesh rules (reference §2.6): who
// sees a mesh, who creates what in it, who changes and deletes what.
func TestSharedMesh(t *testing.T) {
	s, sharing := newSharingService(t, Quotas{})
	O, C, X := as(ownerAcct), as(consumerAcct), as(outsideAcct)
	owner, consumer := new(ownerAcct), new(consumerAcct)
	for _, m := range []string{"shared", "private"} {
		_, err := s.CreateMesh(O, &appmesh.CreateMeshInput{MeshName: new(m)})
		wantErr(t, "owner creates "+m, err, "", "")
	}
	sharing.set("shared", ownerAcct, consumerAcct, true)

	// Who sees the mesh.
	d, err := s.DescribeMesh(C, &appmesh.DescribeMeshInput{MeshName: new("shared"), MeshOwner: owner})
	wantErr(t, "consumer describes the shared mesh", err, "", "")
	if *d.Metadata.MeshOwner != ownerAcct || *d.Metadata.ResourceOwner != ownerAcct {
		t.Fatalf("shared mesh owners: %s/%s", *d.Metadata.MeshOwner, *d.Metadata.ResourceOwner)
	}
	_, err = s.DescribeMesh(C, &appmesh.DescribeMeshInput{MeshName: new("shared")})
	wantErr(t, "consumer without meshOwner", err, "NotFoundException", "not present for mesh owner "+consumerAcct)
	_, err = s.DescribeMesh(X, &appmesh.DescribeMeshInput{MeshName: new("shared"), MeshOwner: owner})
	wantErr(t, "outsider", err, "NotFoundException", "Mesh with name shared is not present")
	_, err = s.DescribeMesh(C, &appmesh.DescribeMeshInput{MeshName: new("private"), MeshOwner: owner})
	wantErr(t, "consumer, unshared mesh", err, "NotFoundException", "Mesh with name private is not present")
	_, err = s.DescribeMesh(O, &appmesh.DescribeMeshInput{MeshName: new("shared"), MeshOwner: consumer})
	wantErr(t, "owner naming the wrong owner", err, "NotFoundException", "not present for mesh owner "+consumerAcct)

	meshNames := func(ctx context.Context) string {
		t.Helper()
		var names []string
		var next *string
		for {
			out, err := s.ListMeshes(ctx, &appmesh.ListMeshesInput{Limit: new(int64(1)), NextToken: next})
			wantErr(t, "ListMeshes", err, "", "")
			for _, m := range out.Meshes {
				names = append(names, *m.MeshName+"@"+*m.MeshOwner)
			}
			if next = out.NextToken; next == nil {
				return strings.Join(names, ",")
			}
		}
	}
	for _, c := range []struct {
		ctx  context.Context
		want string
	}{{O, "private@" + ownerAcct + ",shared@" + ownerAcct}, {C, "shared@" + ownerAcct}, {X, ""}} {
		if got := meshNames(c.ctx); got != c.want {
			t.Errorf("ListMeshes of %s, one per page: %q, want %q", s.caller(c.ctx), got, c.want)
		}
	}

	// What a consumer creates, and what it may not.
	n, err := s.CreateVirtualNode(C, &appmesh.CreateVirtualNodeInput{MeshName: new("shared"), MeshOwner: owner,
		VirtualNodeName: new("c-node"), Spec: must[appmesh.VirtualNodeSpec](t, nodeSpec)})
	wantErr(t, "consumer creates a virtual node", err, "", "")
	md := n.Metadata
	if *md.MeshOwner != ownerAcct || *md.ResourceOwner != consumerAcct ||
		*md.Arn != "arn:aws:appmesh:us-west-2:"+consumerAcct+":mesh/shared/virtualNode/c-node" {
		t.Fatalf("consumer's node: meshOwner %s resourceOwner %s arn %s", *md.MeshOwner, *md.ResourceOwner, *md.Arn)
	}
	_, err = s.CreateVirtualNode(C, &appmesh.CreateVirtualNodeInput{MeshName: new("shared"),
		VirtualNodeName: new("c-node2"), Spec: must[appmesh.VirtualNodeSpec](t, nodeSpec)})
	wantErr(t, "consumer creates without meshOwner", err, "NotFoundException", "not present for mesh owner "+consumerAcct)
	_, err = s.CreateVirtualService(C, &appmesh.CreateVirtualServiceInput{MeshName: new("shared"), MeshOwner: owner,
		VirtualServiceName: new("c-svc"), Spec: must[appmesh.VirtualServiceSpec](t, vsSpec)})
	wantErr(t, "consumer creates a virtual service", err, "", "")
	_, err = s.CreateVirtualGateway(C, &appmesh.CreateVirtualGatewayInput{MeshName: new("shared"), MeshOwner: owner,
		VirtualGatewayName: new("c-gw"), Spec: must[appmesh.VirtualGatewaySpec](t, gwSpec)})
	wantErr(t, "consumer creates a virtual gateway", err, "ForbiddenException", "only its owner, account "+ownerAcct+", creates virtual gateways")
	_, err = s.CreateVirtualGateway(O, &appmesh.CreateVirtualGatewayInput{MeshName: new("shared"),
		VirtualGatewayName: new("gw"), Spec: must[appmesh.VirtualGatewaySpec](t, gwSpec)})
	wantErr(t, "owner creates a virtual gateway", err, "", "")
	_, err = s.CreateGatewayRoute(C, &appmesh.CreateGatewayRouteInput{MeshName: new("shared"), MeshOwner: owner,
		VirtualGatewayName: new("gw"), GatewayRouteName: new("c-gr"), Spec: must[appmesh.GatewayRouteSpec](t, grSpec)})
	wantErr(t, "consumer creates a gateway route", err, "ForbiddenException", "creates virtual gateways and gateway routes")
	_, err = s.CreateGatewayRoute(O, &appmesh.CreateGatewayRouteInput{MeshName: new("shared"),
		VirtualGatewayName: new("gw"), GatewayRouteName: new("gr"), Spec: must[appmesh.GatewayRouteSpec](t, grSpec)})
	wantErr(t, "owner routes its gateway to the consumer's service", err, "", "")

	// Routes belong under their router's owner.
	_, err = s.CreateVirtualRouter(O, &appmesh.CreateVirtualRouterInput{MeshName: new("shared"),
		VirtualRouterName: new("o-router"), Spec: must[appmesh.VirtualRouterSpec](t, routerSpec)})
	wantErr(t, "owner creates a router", err, "", "")
	_, err = s.CreateRoute(C, &appmesh.CreateRouteInput{MeshName: new("shared"), MeshOwner: owner, VirtualRouterName: new("o-router"),
		RouteName: new("r"), Spec: must[appmesh.RouteSpec](t, routeSpec)})
	wantErr(t, "consumer adds a route to the owner's router", err, "ForbiddenException", "it belongs to account "+ownerAcct)
	_, err = s.CreateVirtualRouter(C, &appmesh.CreateVirtualRouterInput{MeshName: new("shared"), MeshOwner: owner,
		VirtualRouterName: new("c-router"), Spec: must[appmesh.VirtualRouterSpec](t, routerSpec)})
	wantErr(t, "consumer creates a router", err, "", "")
	_, err = s.CreateRoute(C, &appmesh.CreateRouteInput{MeshName: new("shared"), MeshOwner: owner, VirtualRouterName: new("c-router"),
		RouteName: new("r"), Spec: must[appmesh.RouteSpec](t, routeSpec)})
	wantErr(t, "consumer adds a route to its router", err, "", "")
	_, err = s.CreateRoute(O, &appmesh.CreateRouteInput{MeshName: new("shared"), VirtualRouterName: new("c-router"),
		RouteName: new("o-r"), Spec: must[appmesh.RouteSpec](t, routeSpec)})
	wantErr(t, "owner adds a route to the consumer's router", err, "ForbiddenException", "it belongs to account "+consumerAcct)

	// Who changes what.
	_, err = s.UpdateVirtualNode(O, &appmesh.UpdateVirtualNodeInput{MeshName: new("shared"), VirtualNodeName: new("c-node"),
		Spec: must[appmesh.VirtualNodeSpec](t, nodeSpec)})
	wantErr(t, "owner updates the consumer's node", err, "ForbiddenException", "may not change VirtualNode")
	u, err := s.UpdateVirtualNode(C, &appmesh.UpdateVirtualNodeInput{MeshName: new("shared"), MeshOwner: owner,
		VirtualNodeName: new("c-node"), Spec: must[appmesh.VirtualNodeSpec](t, nodeSpec)})
	wantErr(t, "consumer updates its node", err, "", "")
	if *u.Metadata.Version != 2 {
		t.Fatalf("consumer's update: version %d", *u.Metadata.Version)
	}
	_, err = s.UpdateVirtualGateway(C, &appmesh.UpdateVirtualGatewayInput{MeshName: new("shared"), MeshOwner: owner,
		VirtualGatewayName: new("gw"), Spec: must[appmesh.VirtualGatewaySpec](t, gwSpec)})
	wantErr(t, "consumer updates the owner's gateway", err, "ForbiddenException", "it belongs to account "+ownerAcct)
	_, err = s.UpdateMesh(C, &appmesh.UpdateMeshInput{MeshName: new("shared")})
	wantErr(t, "consumer updates the mesh", err, "NotFoundException", "not present for mesh owner "+consumerAcct)
	_, err = s.DeleteMesh(C, &appmesh.DeleteMeshInput{MeshName: new("shared")})
	wantErr(t, "consumer deletes the mesh", err, "NotFoundException", "not present for mesh owner "+consumerAcct)
	_, err = s.DeleteVirtualGateway(C, &appmesh.DeleteVirtualGatewayInput{MeshName: new("shared"), MeshOwner: owner, VirtualGatewayName: new("gw")})
	wantErr(t, "consumer deletes the owner's gateway", err, "ForbiddenException", "may not delete VirtualGateway")
	_, err = s.DescribeGatewayRoute(C, &appmesh.DescribeGatewayRouteInput{MeshName: new("shared"), MeshOwner: owner,
		VirtualGatewayName: new("gw"), GatewayRouteName: new("gr")})
	wantErr(t, "consumer describes the owner's gateway route", err, "", "")
	_, err = s.DescribeVirtualNode(X, &appmesh.DescribeVirtualNodeInput{MeshName: new("shared"), MeshOwner: owner, VirtualNodeName: new("c-node")})
	wantErr(t, "outsider describes the consumer's node", err, "NotFoundException", "")
	_, err = s.ListVirtualNodes(X, &appmesh.ListVirtualNodesInput{MeshName: new("shared"), MeshOwner: owner})
	wantErr(t, "outsider lists the shared mesh", err, "NotFoundException", "")
	vns, err := s.ListVirtualNodes(C, &appmesh.ListVirtualNodesInput{MeshName: new("shared"), MeshOwner: owner})
	wantErr(t, "consumer lists nodes", err, "", "")
	if len(vns.VirtualNodes) != 1 || *vns.VirtualNodes[0].ResourceOwner != consumerAcct {
		t.Fatalf("consumer's node list: %+v", vns.VirtualNodes)
	}

	// Tags: the ARN carries the resource owner's account; only it tags.
	cNode := "arn:aws:appmesh:us-west-2:" + consumerAcct + ":mesh/shared/virtualNode/c-node"
	gwARN := "arn:aws:appmesh:us-west-2:" + ownerAcct + ":mesh/shared/virtualGateway/gw"
	tag := []appmesh.TagRef{{Key: new("team"), Value: new("c")}}
	_, err = s.TagResource(C, &appmesh.TagResourceInput{ResourceArn: new(cNode), Tags: tag})
	wantErr(t, "consumer tags its node", err, "", "")
	_, err = s.TagResource(C, &appmesh.TagResourceInput{ResourceArn: new(gwARN), Tags: tag})
	wantErr(t, "consumer tags the owner's gateway", err, "ForbiddenException", "it belongs to account "+ownerAcct)
	_, err = s.TagResource(O, &appmesh.TagResourceInput{ResourceArn: new(cNode), Tags: tag})
	wantErr(t, "owner tags the consumer's node", err, "ForbiddenException", "it belongs to account "+consumerAcct)
	_, err = s.ListTagsForResource(O, &appmesh.ListTagsForResourceInput{ResourceArn: new(cNode)})
	wantErr(t, "owner lists the consumer's node's tags", err, "", "")
	_, err = s.ListTagsForResource(C, &appmesh.ListTagsForResourceInput{ResourceArn: new(strings.Replace(cNode, consumerAcct, ownerAcct, 1))})
	wantErr(t, "an ARN with the wrong owner account", err, "NotFoundException", "is not present in region us-west-2 for account "+ownerAcct)
	_, err = s.ListTagsForResource(X, &appmesh.ListTagsForResourceInput{ResourceArn: new(cNode)})
	wantErr(t, "outsider lists tags", err, "NotFoundException", "")

	// clientTokens are per account: the same token is no conflict.
	for _, c := range []context.Context{C, O} {
		_, err = s.CreateVirtualNode(c, &appmesh.CreateVirtualNodeInput{MeshName: new("shared"), MeshOwner: owner,
			VirtualNodeName: new("tok-" + s.caller(c)), ClientToken: new("same-token"), Spec: must[appmesh.VirtualNodeSpec](t, nodeSpec)})
		wantErr(t, "the same clientToken from "+s.caller(c), err, "", "")
	}

	// Mesh names are one namespace per server.
	_, err = s.CreateMesh(C, &appmesh.CreateMeshInput{MeshName: new("shared")})
	wantErr(t, "consumer creates a mesh of a taken name", err, "ConflictException", "already exists")
	cm, err := s.CreateMesh(C, &appmesh.CreateMeshInput{MeshName: new("c-mesh")})
	wantErr(t, "consumer creates its own mesh", err, "", "")
	if *cm.Metadata.MeshOwner != consumerAcct || *cm.Metadata.Arn != "arn:aws:appmesh:us-west-2:"+consumerAcct+":mesh/c-mesh" {
		t.Fatalf("consumer's mesh: %s %s", *cm.Metadata.MeshOwner, *cm.Metadata.Arn)
	}
	_, err = s.DescribeMesh(O, &appmesh.DescribeMeshInput{MeshName: new("c-mesh")})
	wantErr(t, "owner describes the consumer's unshared mesh", err, "NotFoundException", "")

	// The mesh owner deletes anything in its mesh; unsharing hides the mesh
	// and leaves the consumer's resources in it.
	_, err = s.DeleteVirtualNode(O, &appmesh.DeleteVirtualNodeInput{MeshName: new("shared"), VirtualNodeName: new("tok-" + consumerAcct)})
	wantErr(t, "owner deletes the consumer's node", err, "", "")
	sharing.set("shared", ownerAcct, consumerAcct, false)
	_, err = s.DescribeVirtualNode(C, &appmesh.DescribeVirtualNodeInput{MeshName: new("shared"), MeshOwner: owner, VirtualNodeName: new("c-node")})
	wantErr(t, "consumer after unsharing", err, "NotFoundException", "")
	_, err = s.DescribeVirtualNode(O, &appmesh.DescribeVirtualNodeInput{MeshName: new("shared"), VirtualNodeName: new("c-node")})
	wantErr(t, "owner sees the consumer's node after unsharing", err, "", "")
}

// TestMeshQuotaPerAccount: the mesh quota counts each account's meshes.
func TestMeshQuotaPerAccount(t *testing.T) {
	q := DefaultQuotas()
	q.Meshes = 1
	s, _ := newSharingService(t, q)
	_, err := s.CreateMesh(as(ownerAcct), &appmesh.CreateMeshInput{MeshName: new("a")})
	wantErr(t, "owner's first mesh", err, "", "")
	_, err = s.CreateMesh(as(ownerAcct), &appmesh.CreateMeshInput{MeshName: new("b")})
	wantErr(t, "owner's second mesh", err, "LimitExceededException", "1 meshes for account "+ownerAcct)
	_, err = s.CreateMesh(as(consumerAcct), &appmesh.CreateMeshInput{MeshName: new("b")})
	wantErr(t, "another account's first mesh", err, "", "")
}
