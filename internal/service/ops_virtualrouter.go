package service

import (
	"context"

	"github.com/meshgate/meshgate/internal/appmesh"
	"github.com/meshgate/meshgate/internal/store"
)

func (s *Service) virtualRouterData(r store.Record, status string) (*appmesh.VirtualRouterData, error) {
	sp, err := spec[appmesh.VirtualRouterSpec](r)
	if err != nil {
		return nil, err
	}
	return &appmesh.VirtualRouterData{
		MeshName: new(r.Mesh), VirtualRouterName: new(r.Name),
		Metadata: s.metadata(r), Spec: sp, Status: &appmesh.VirtualRouterStatus{Status: new(status)},
	}, nil
}

func (s *Service) CreateVirtualRouter(ctx context.Context, in *appmesh.CreateVirtualRouterInput) (*appmesh.VirtualRouterData, error) {
	key := store.Key{Kind: store.KindVirtualRouter, Mesh: *in.MeshName, Name: *in.VirtualRouterName}
	w := write{op: "CreateVirtualRouter", key: key, meshOwner: in.MeshOwner, token: in.ClientToken, spec: in.Spec, tags: in.Tags}
	r, err := s.create(ctx, w)
	if err != nil {
		return nil, err
	}
	return s.virtualRouterData(r, statusActive)
}

func (s *Service) DescribeVirtualRouter(ctx context.Context, in *appmesh.DescribeVirtualRouterInput) (*appmesh.VirtualRouterData, error) {
	r, err := s.describe(ctx, "DescribeVirtualRouter", store.Key{Kind: store.KindVirtualRouter, Mesh: *in.MeshName, Name: *in.VirtualRouterName}, in.MeshOwner)
	if err != nil {
		return nil, err
	}
	return s.virtualRouterData(r, statusActive)
}

func (s *Service) UpdateVirtualRouter(ctx context.Context, in *appmesh.UpdateVirtualRouterInput) (*appmesh.VirtualRouterData, error) {
	key := store.Key{Kind: store.KindVirtualRouter, Mesh: *in.MeshName, Name: *in.VirtualRouterName}
	w := write{op: "UpdateVirtualRouter", key: key, meshOwner: in.MeshOwner, token: in.ClientToken, spec: in.Spec}
	r, err := s.update(ctx, w)
	if err != nil {
		return nil, err
	}
	return s.virtualRouterData(r, statusActive)
}

func (s *Service) DeleteVirtualRouter(ctx context.Context, in *appmesh.DeleteVirtualRouterInput) (*appmesh.VirtualRouterData, error) {
	r, err := s.remove(ctx, "DeleteVirtualRouter", store.Key{Kind: store.KindVirtualRouter, Mesh: *in.MeshName, Name: *in.VirtualRouterName}, in.MeshOwner)
	if err != nil {
		return nil, err
	}
	return s.virtualRouterData(r, statusDeleted)
}

func (s *Service) ListVirtualRouters(ctx context.Context, in *appmesh.ListVirtualRoutersInput) (*appmesh.ListVirtualRoutersOutput, error) {
	recs, next, err := s.list(ctx, "ListVirtualRouters", meshKey(*in.MeshName), store.KindVirtualRouter, in.MeshOwner, in.NextToken, in.Limit)
	if err != nil {
		return nil, err
	}
	out := &appmesh.ListVirtualRoutersOutput{VirtualRouters: make([]appmesh.VirtualRouterRef, 0, len(recs)), NextToken: next}
	for _, r := range recs {
		f := s.ref(r)
		out.VirtualRouters = append(out.VirtualRouters, appmesh.VirtualRouterRef{
			Arn: f.arn, CreatedAt: f.createdAt, LastUpdatedAt: f.lastUpdatedAt, MeshName: f.mesh,
			MeshOwner: f.meshOwner, ResourceOwner: f.resourceOwner, Version: f.version, VirtualRouterName: new(r.Name),
		})
	}
	return out, nil
}
