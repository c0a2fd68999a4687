package api_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"
	"github.com/aws/aws-sdk-go-v2/service/appmesh/types"
)

// TestMeshLifecycle drives CreateMesh, DescribeMesh, UpdateMesh, ListMeshes
// and DeleteMesh through the SDK and checks every returned field.
func TestMeshLifecycle(t *testing.T) {
	t.Parallel()
	c := newClient(t)

	// CreateMesh without a spec echoes an empty spec ("spec":{}), no defaults.
	created := res(c.CreateMesh(ctx(t), &appmesh.CreateMeshInput{MeshName: aws.String("m1")})).ok(t).Mesh
	if deref(created.MeshName) != "m1" {
		t.Errorf("meshName = %q", deref(created.MeshName))
	}
	checkCreated(t, "CreateMesh", created.Metadata, arnPrefix+"mesh/m1")
	if created.Status == nil || created.Status.Status != types.MeshStatusCodeActive {
		t.Errorf("status = %+v, want ACTIVE", created.Status)
	}
	sameSpec(t, "CreateMesh without spec", &types.MeshSpec{}, created.Spec)

	// A second mesh has its own uid.
	other := res(c.CreateMesh(ctx(t), &appmesh.CreateMeshInput{MeshName: aws.String("m2")})).ok(t).Mesh
	if deref(other.Metadata.Uid) == deref(created.Metadata.Uid) {
		t.Errorf("two meshes share uid %q", deref(other.Metadata.Uid))
	}

	// DescribeMesh returns what CreateMesh returned, with or without meshOwner.
	for _, owner := range []*string{nil, aws.String(testAccount)} {
		desc := res(c.DescribeMesh(ctx(t), &appmesh.DescribeMeshInput{MeshName: aws.String("m1"), MeshOwner: owner})).ok(t).Mesh
		sameSpec(t, "DescribeMesh", created, desc)
	}

	// UpdateMesh: version 2, lastUpdatedAt advances, spec replaced exactly.
	spec := &types.MeshSpec{
		EgressFilter:     &types.EgressFilter{Type: types.EgressFilterTypeAllowAll},
		ServiceDiscovery: &types.MeshServiceDiscovery{IpPreference: types.IpPreferenceIPv4Preferred},
	}
	updated := res(c.UpdateMesh(ctx(t), &appmesh.UpdateMeshInput{MeshName: aws.String("m1"), Spec: spec})).ok(t).Mesh
	checkUpdated(t, "UpdateMesh", created.Metadata, updated.Metadata)
	sameSpec(t, "UpdateMesh", spec, updated.Spec)
	if updated.Status.Status != types.MeshStatusCodeActive {
		t.Errorf("status after update = %q", updated.Status.Status)
	}
	desc := res(c.DescribeMesh(ctx(t), &appmesh.DescribeMeshInput{MeshName: aws.String("m1")})).ok(t).Mesh
	sameSpec(t, "DescribeMesh after update", updated, desc)

	// An egress filter alone stays alone (no serviceDiscovery default).
	spec2 := &types.MeshSpec{EgressFilter: &types.EgressFilter{Type: types.EgressFilterTypeDropAll}}
	updated2 := res(c.UpdateMesh(ctx(t), &appmesh.UpdateMeshInput{MeshName: aws.String("m1"), Spec: spec2})).ok(t).Mesh
	checkUpdated(t, "second UpdateMesh", updated.Metadata, updated2.Metadata)
	sameSpec(t, "second UpdateMesh", spec2, updated2.Spec)

	// ListMeshes: both, ordered by name, refs carry the metadata.
	list := res(c.ListMeshes(ctx(t), &appmesh.ListMeshesInput{})).ok(t)
	if list.NextToken != nil {
		t.Errorf("ListMeshes nextToken = %q, want none", *list.NextToken)
	}
	if len(list.Meshes) != 2 || deref(list.Meshes[0].MeshName) != "m1" || deref(list.Meshes[1].MeshName) != "m2" {
		t.Fatalf("ListMeshes = %s", dump(list.Meshes))
	}
	r := list.Meshes[0]
	checkRef(t, "MeshRef", updated2.Metadata, r.Arn, r.CreatedAt, r.LastUpdatedAt, r.MeshOwner, r.ResourceOwner, r.Version)

	// DeleteMesh: DELETED, version unchanged (3), spec as it was.
	deleted := res(c.DeleteMesh(ctx(t), &appmesh.DeleteMeshInput{MeshName: aws.String("m1")})).ok(t).Mesh
	checkDeleted(t, "DeleteMesh", updated2.Metadata, deleted.Metadata, true)
	if deleted.Status.Status != types.MeshStatusCodeDeleted {
		t.Errorf("delete status = %q, want DELETED", deleted.Status.Status)
	}
	sameSpec(t, "DeleteMesh", spec2, deleted.Spec)
	if deref(deleted.Metadata.Version) != 3 {
		t.Errorf("DeleteMesh version = %d, want 3", deref(deleted.Metadata.Version))
	}

	// Gone: describe, update, delete are NotFound; list has only m2.
	_, err := c.DescribeMesh(ctx(t), &appmesh.DescribeMeshInput{MeshName: aws.String("m1")})
	notFound(t, err, "m1")
	_, err = c.UpdateMesh(ctx(t), &appmesh.UpdateMeshInput{MeshName: aws.String("m1")})
	notFound(t, err, "m1")
	_, err = c.DeleteMesh(ctx(t), &appmesh.DeleteMeshInput{MeshName: aws.String("m1")})
	notFound(t, err, "m1")
	list = res(c.ListMeshes(ctx(t), &appmesh.ListMeshesInput{})).ok(t)
	if len(list.Meshes) != 1 || deref(list.Meshes[0].MeshName) != "m2" {
		t.Errorf("ListMeshes after delete = %s", dump(list.Meshes))
	}

	// The name can be reused: a new resource (new uid, version 1).
	again := res(c.CreateMesh(ctx(t), &appmesh.CreateMeshInput{MeshName: aws.String("m1"), Spec: spec})).ok(t).Mesh
	checkCreated(t, "CreateMesh again", again.Metadata, arnPrefix+"mesh/m1")
	if deref(again.Metadata.Uid) == deref(created.Metadata.Uid) {
		t.Errorf("recreated mesh reuses uid %q", deref(again.Metadata.Uid))
	}
	sameSpec(t, "CreateMesh with spec", spec, again.Spec)
}

// TestMeshErrors covers the mesh operations' error paths.
func TestMeshErrors(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	m := mkMesh(t, c, "m")

	t.Run("duplicate name", func(t *testing.T) {
		_, err := c.CreateMesh(ctx(t), &appmesh.CreateMeshInput{MeshName: aws.String("m"),
			Spec: &types.MeshSpec{EgressFilter: &types.EgressFilter{Type: types.EgressFilterTypeAllowAll}}})
		conflict(t, err, "m")
		d := res(c.DescribeMesh(ctx(t), &appmesh.DescribeMeshInput{MeshName: aws.String("m")})).ok(t).Mesh
		sameSpec(t, "mesh after failed duplicate create", m, d)
	})
	t.Run("missing mesh", func(t *testing.T) {
		_, err := c.DescribeMesh(ctx(t), &appmesh.DescribeMeshInput{MeshName: aws.String("nope")})
		notFound(t, err, "nope")
		_, err = c.UpdateMesh(ctx(t), &appmesh.UpdateMeshInput{MeshName: aws.String("nope"), Spec: &types.MeshSpec{}})
		notFound(t, err, "nope")
		_, err = c.DeleteMesh(ctx(t), &appmesh.DeleteMeshInput{MeshName: aws.String("nope")})
		notFound(t, err, "nope")
		l := res(c.ListMeshes(ctx(t), &appmesh.ListMeshesInput{})).ok(t)
		if len(l.Meshes) != 1 {
			t.Errorf("meshes = %s", dump(l.Meshes))
		}
	})
	t.Run("foreign meshOwner", func(t *testing.T) {
		_, err := c.DescribeMesh(ctx(t), &appmesh.DescribeMeshInput{MeshName: aws.String("m"), MeshOwner: aws.String("999988887777")})
		notFound(t, err, "m", "999988887777")
	})
	t.Run("bad enum", func(t *testing.T) {
		_, err := c.UpdateMesh(ctx(t), &appmesh.UpdateMeshInput{MeshName: aws.String("m"),
			Spec: &types.MeshSpec{EgressFilter: &types.EgressFilter{Type: "ALLOW_SOME"}}})
		badRequest(t, err, "egressFilter.type", "ALLOW_SOME")
		d := res(c.DescribeMesh(ctx(t), &appmesh.DescribeMeshInput{MeshName: aws.String("m")})).ok(t).Mesh
		sameSpec(t, "mesh after failed update", m, d)
	})
	t.Run("name too long", func(t *testing.T) {
		_, err := c.CreateMesh(ctx(t), &appmesh.CreateMeshInput{MeshName: aws.String(strings.Repeat("a", 256))})
		badRequest(t, err, "meshName")
		l := res(c.ListMeshes(ctx(t), &appmesh.ListMeshesInput{})).ok(t)
		if len(l.Meshes) != 1 {
			t.Errorf("meshes after failed create = %s", dump(l.Meshes))
		}
	})
}

// TestMeshTimestampsRealClock checks createdAt against the wall clock with
// the server's default clock (millisecond precision on the wire).
func TestMeshTimestampsRealClock(t *testing.T) {
	t.Parallel()
	c := newClient(t, withClock(time.Now))
	before := time.Now().Truncate(time.Millisecond)
	m := mkMesh(t, c, "m")
	after := time.Now()
	ca := *m.Metadata.CreatedAt
	if ca.Before(before) || ca.After(after) {
		t.Errorf("createdAt %v not within [%v, %v]", ca, before, after)
	}
	if !m.Metadata.LastUpdatedAt.Equal(ca) {
		t.Errorf("lastUpdatedAt %v != createdAt %v", m.Metadata.LastUpdatedAt, ca)
	}
	if ca.Nanosecond()%int(time.Millisecond) != 0 {
		t.Errorf("createdAt %v has sub-millisecond precision", ca)
	}
}
