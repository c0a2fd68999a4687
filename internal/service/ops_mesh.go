package service

import (
	"context"

	"github.com/meshgate/meshgate/internal/appmesh"
	"github.com/meshgate/meshgate/internal/store"
)

func (s *Service) meshData(r store.Record, status string) (*appmesh.MeshData, error) {
	sp, err := spec[appmesh.MeshSpec](r)
	if err != nil {
		return nil, err
	}
	return &appmesh.MeshData{
		MeshName: new(r.Mesh),
		Metadata: s.metadata(r), Spec: sp, Status: &appmesh.MeshStatus{Status: new(status)},
	}, nil
}

func (s *Service) CreateMesh(ctx context.Context, in *appmesh.CreateMeshInput) (*appmesh.MeshData, error) {
	if in.Spec == nil {
		in.Spec = &appmesh.MeshSpec{} // echoed as "spec":{} like App Mesh
	}
	key := meshKey(*in.MeshName)
	w := write{op: "CreateMesh", key: key, meshOwner: nil, token: in.ClientToken, spec: in.Spec, tags: in.Tags}
	r, err := s.create(ctx, w)
	if err != nil {
		return nil, err
	}
	return s.meshData(r, statusActive)
}

func (s *Service) DescribeMesh(ctx context.Context, in *appmesh.DescribeMeshInput) (*appmesh.MeshData, error) {
	r, err := s.describe(ctx, "DescribeMesh", meshKey(*in.MeshName), in.MeshOwner)
	if err != nil {
		return nil, err
	}
	return s.meshData(r, statusActive)
}

func (s *Service) UpdateMesh(ctx context.Context, in *appmesh.UpdateMeshInput) (*appmesh.MeshData, error) {
	if in.Spec == nil {
		in.Spec = &appmesh.MeshSpec{}
	}
	key := meshKey(*in.MeshName)
	w := write{op: "UpdateMesh", key: key, meshOwner: nil, token: in.ClientToken, spec: in.Spec}
	r, err := s.update(ctx, w)
	if err != nil {
		return nil, err
	}
	return s.meshData(r, statusActive)
}

func (s *Service) DeleteMesh(ctx context.Context, in *appmesh.DeleteMeshInput) (*appmesh.MeshData, error) {
	r, err := s.remove(ctx, "DeleteMesh", meshKey(*in.MeshName), nil)
	if err != nil {
		return nil, err
	}
	return s.meshData(r, statusDeleted)
}

func (s *Service) ListMeshes(ctx context.Context, in *appmesh.ListMeshesInput) (*appmesh.ListMeshesOutput, error) {
	recs, next, err := s.list(ctx, "ListMeshes", store.Key{Kind: store.KindMesh}, store.KindMesh, nil, in.NextToken, in.Limit)
	if err != nil {
		return nil, err
	}
	out := &appmesh.ListMeshesOutput{Meshes: make([]appmesh.MeshRef, 0, len(recs)), NextToken: next}
	for _, r := range recs {
		f := s.ref(r)
		out.Meshes = append(out.Meshes, appmesh.MeshRef{
			Arn: f.arn, CreatedAt: f.createdAt, LastUpdatedAt: f.lastUpdatedAt, MeshName: f.mesh,
			MeshOwner: f.meshOwner, ResourceOwner: f.resourceOwner, Version: f.version,
		})
	}
	return out, nil
}
