package api_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"
	"github.com/aws/aws-sdk-go-v2/service/appmesh/types"
)

// TestVirtualServiceLifecycle drives the five virtual service operations,
// with a DNS-style name that travels in the URI path.
func TestVirtualServiceLifecycle(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	mkMesh(t, c, "m")
	mkNode(t, c, "m", "vn", 80)
	mkRouter(t, c, "m", "vr", 80)
	const name = "svc.ns.svc.cluster.local"

	spec := nodeProvider("vn")
	created := res(c.CreateVirtualService(ctx(t), &appmesh.CreateVirtualServiceInput{
		MeshName: aws.String("m"), VirtualServiceName: aws.String(name), Spec: spec,
	})).ok(t).VirtualService
	if deref(created.MeshName) != "m" || deref(created.VirtualServiceName) != name {
		t.Errorf("names = %q/%q", deref(created.MeshName), deref(created.VirtualServiceName))
	}
	checkCreated(t, "CreateVirtualService", created.Metadata, arnPrefix+"mesh/m/virtualService/"+name)
	if created.Status == nil || created.Status.Status != types.VirtualServiceStatusCodeActive {
		t.Errorf("status = %+v", created.Status)
	}
	sameSpec(t, "CreateVirtualService", spec, created.Spec)

	desc := res(c.DescribeVirtualService(ctx(t), &appmesh.DescribeVirtualServiceInput{MeshName: aws.String("m"), VirtualServiceName: aws.String(name)})).ok(t).VirtualService
	sameSpec(t, "DescribeVirtualService", created, desc)

	spec2 := routerProvider("vr")
	updated := res(c.UpdateVirtualService(ctx(t), &appmesh.UpdateVirtualServiceInput{
		MeshName: aws.String("m"), VirtualServiceName: aws.String(name), Spec: spec2,
	})).ok(t).VirtualService
	checkUpdated(t, "UpdateVirtualService", created.Metadata, updated.Metadata)
	sameSpec(t, "UpdateVirtualService", spec2, updated.Spec)

	// No provider at all: an empty spec stays empty.
	spec3 := &types.VirtualServiceSpec{}
	updated3 := res(c.UpdateVirtualService(ctx(t), &appmesh.UpdateVirtualServiceInput{
		MeshName: aws.String("m"), VirtualServiceName: aws.String(name), Spec: spec3,
	})).ok(t).VirtualService
	checkUpdated(t, "UpdateVirtualService without provider", updated.Metadata, updated3.Metadata)
	sameSpec(t, "UpdateVirtualService without provider", spec3, updated3.Spec)

	list := res(c.ListVirtualServices(ctx(t), &appmesh.ListVirtualServicesInput{MeshName: aws.String("m")})).ok(t)
	if len(list.VirtualServices) != 1 || list.NextToken != nil {
		t.Fatalf("ListVirtualServices = %s", dump(list))
	}
	r := list.VirtualServices[0]
	if deref(r.MeshName) != "m" || deref(r.VirtualServiceName) != name {
		t.Errorf("ref names = %s", dump(r))
	}
	checkRef(t, "VirtualServiceRef", updated3.Metadata, r.Arn, r.CreatedAt, r.LastUpdatedAt, r.MeshOwner, r.ResourceOwner, r.Version)

	deleted := res(c.DeleteVirtualService(ctx(t), &appmesh.DeleteVirtualServiceInput{MeshName: aws.String("m"), VirtualServiceName: aws.String(name)})).ok(t).VirtualService
	checkDeleted(t, "DeleteVirtualService", updated3.Metadata, deleted.Metadata, false)
	if deleted.Status.Status != types.VirtualServiceStatusCodeDeleted {
		t.Errorf("delete status = %q", deleted.Status.Status)
	}
	if deref(deleted.Metadata.Version) != 4 {
		t.Errorf("delete version = %d, want 4", deref(deleted.Metadata.Version))
	}
	_, err := c.DescribeVirtualService(ctx(t), &appmesh.DescribeVirtualServiceInput{MeshName: aws.String("m"), VirtualServiceName: aws.String(name)})
	notFound(t, err, name)
	if l := res(c.ListVirtualServices(ctx(t), &appmesh.ListVirtualServicesInput{MeshName: aws.String("m")})).ok(t); len(l.VirtualServices) != 0 {
		t.Errorf("services after delete = %s", dump(l.VirtualServices))
	}
}

// TestVirtualServiceErrors covers the virtual service error paths.
func TestVirtualServiceErrors(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	mkMesh(t, c, "m")
	mkNode(t, c, "m", "vn", 80)
	orig := mkService(t, c, "m", "svc", nodeProvider("vn"))

	unchanged := func(t *testing.T) {
		t.Helper()
		d := res(c.DescribeVirtualService(ctx(t), &appmesh.DescribeVirtualServiceInput{MeshName: aws.String("m"), VirtualServiceName: aws.String("svc")})).ok(t).VirtualService
		sameSpec(t, "service after a failed request", orig, d)
		l := res(c.ListVirtualServices(ctx(t), &appmesh.ListVirtualServicesInput{MeshName: aws.String("m")})).ok(t)
		if len(l.VirtualServices) != 1 {
			t.Errorf("services after a failed request = %s", dump(l.VirtualServices))
		}
	}
	create := func(name string, spec *types.VirtualServiceSpec) error {
		_, err := c.CreateVirtualService(ctx(t), &appmesh.CreateVirtualServiceInput{MeshName: aws.String("m"), VirtualServiceName: aws.String(name), Spec: spec})
		return err
	}
	update := func(spec *types.VirtualServiceSpec) error {
		_, err := c.UpdateVirtualService(ctx(t), &appmesh.UpdateVirtualServiceInput{MeshName: aws.String("m"), VirtualServiceName: aws.String("svc"), Spec: spec})
		return err
	}

	t.Run("provider node missing", func(t *testing.T) {
		notFound(t, create("svc2", nodeProvider("nonode")), "VirtualNode", "nonode")
		notFound(t, update(nodeProvider("nonode")), "VirtualNode", "nonode")
		unchanged(t)
	})
	t.Run("provider router missing", func(t *testing.T) {
		notFound(t, create("svc2", routerProvider("novr")), "VirtualRouter", "novr")
		notFound(t, update(routerProvider("novr")), "VirtualRouter", "novr")
		unchanged(t)
	})
	t.Run("duplicate name", func(t *testing.T) {
		conflict(t, create("svc", &types.VirtualServiceSpec{}), "svc")
		unchanged(t)
	})
	t.Run("missing mesh and service", func(t *testing.T) {
		_, err := c.CreateVirtualService(ctx(t), &appmesh.CreateVirtualServiceInput{MeshName: aws.String("nomesh"), VirtualServiceName: aws.String("svc"), Spec: &types.VirtualServiceSpec{}})
		notFound(t, err, "nomesh")
		_, err = c.ListVirtualServices(ctx(t), &appmesh.ListVirtualServicesInput{MeshName: aws.String("nomesh")})
		notFound(t, err, "nomesh")
		_, err = c.DescribeVirtualService(ctx(t), &appmesh.DescribeVirtualServiceInput{MeshName: aws.String("m"), VirtualServiceName: aws.String("ghost")})
		notFound(t, err, "ghost")
		_, err = c.UpdateVirtualService(ctx(t), &appmesh.UpdateVirtualServiceInput{MeshName: aws.String("m"), VirtualServiceName: aws.String("ghost"), Spec: &types.VirtualServiceSpec{}})
		notFound(t, err, "ghost")
		_, err = c.DeleteVirtualService(ctx(t), &appmesh.DeleteVirtualServiceInput{MeshName: aws.String("m"), VirtualServiceName: aws.String("ghost")})
		notFound(t, err, "ghost")
		unchanged(t)
	})
	t.Run("foreign meshOwner", func(t *testing.T) {
		_, err := c.DescribeVirtualService(ctx(t), &appmesh.DescribeVirtualServiceInput{MeshName: aws.String("m"), VirtualServiceName: aws.String("svc"), MeshOwner: aws.String("000000000000")})
		notFound(t, err, "000000000000")
		unchanged(t)
	})
	t.Run("meshOwner not 12 characters", func(t *testing.T) {
		_, err := c.DescribeVirtualService(ctx(t), &appmesh.DescribeVirtualServiceInput{MeshName: aws.String("m"), VirtualServiceName: aws.String("svc"), MeshOwner: aws.String("123")})
		badRequest(t, err, "meshOwner")
	})
}
