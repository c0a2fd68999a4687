package service

import (
	"context"

	"github.com/meshgate/meshgate/internal/appmesh"
	"github.com/meshgate/meshgate/internal/store"
)

func (s *Service) virtualServiceData(r store.Record, status string) (*appmesh.VirtualServiceData, error) {
	sp, err := spec[appmesh.VirtualServiceSpec](r)
	if err != nil {
		return nil, err
	}
	return &appmesh.VirtualServiceData{
		MeshName: new(r.Mesh), VirtualServiceName: new(r.Name),
		Metadata: s.metadata(r), Spec: sp, Status: &appmesh.VirtualServiceStatus{Status: new(status)},
	}, nil
}

func (s *Service) CreateVirtualService(ctx context.Context, in *appmesh.CreateVirtualServiceInput) (*appmesh.VirtualServiceData, error) {
	key := store.Key{Kind: store.KindVirtualService, Mesh: *in.MeshName, Name: *in.VirtualServiceName}
	w := write{op: "CreateVirtualService", key: key, meshOwner: in.MeshOwner, token: in.ClientToken, spec: in.Spec, tags: in.Tags}
	w.check = s.checkVirtualService(key, in.Spec)
	r, err := s.create(ctx, w)
	if err != nil {
		return nil, err
	}
	return s.virtualServiceData(r, statusActive)
}

func (s *Service) DescribeVirtualService(ctx context.Context, in *appmesh.DescribeVirtualServiceInput) (*appmesh.VirtualServiceData, error) {
	r, err := s.describe(ctx, "DescribeVirtualService", store.Key{Kind: store.KindVirtualService, Mesh: *in.MeshName, Name: *in.VirtualServiceName}, in.MeshOwner)
	if err != nil {
		return nil, err
	}
	return s.virtualServiceData(r, statusActive)
}

func (s *Service) UpdateVirtualService(ctx context.Context, in *appmesh.UpdateVirtualServiceInput) (*appmesh.VirtualServiceData, error) {
	key := store.Key{Kind: store.KindVirtualService, Mesh: *in.MeshName, Name: *in.VirtualServiceName}
	w := write{op: "UpdateVirtualService", key: key, meshOwner: in.MeshOwner, token: in.ClientToken, spec: in.Spec}
	w.check = s.checkVirtualService(key, in.Spec)
	r, err := s.update(ctx, w)
	if err != nil {
		return nil, err
	}
	return s.virtualServiceData(r, statusActive)
}

func (s *Service) DeleteVirtualService(ctx context.Context, in *appmesh.DeleteVirtualServiceInput) (*appmesh.VirtualServiceData, error) {
	r, err := s.remove(ctx, "DeleteVirtualService", store.Key{Kind: store.KindVirtualService, Mesh: *in.MeshName, Name: *in.VirtualServiceName}, in.MeshOwner)
	if err != nil {
		return nil, err
	}
	return s.virtualServiceData(r, statusDeleted)
}

func (s *Service) ListVirtualServices(ctx context.Context, in *appmesh.ListVirtualServicesInput) (*appmesh.ListVirtualServicesOutput, error) {
	recs, next, err := s.list(ctx, "ListVirtualServices", meshKey(*in.MeshName), store.KindVirtualService, in.MeshOwner, in.NextToken, in.Limit)
	if err != nil {
		return nil, err
	}
	out := &appmesh.ListVirtualServicesOutput{VirtualServices: make([]appmesh.VirtualServiceRef, 0, len(recs)), NextToken: next}
	for _, r := range recs {
		f := s.ref(r)
		out.VirtualServices = append(out.VirtualServices, appmesh.VirtualServiceRef{
			Arn: f.arn, CreatedAt: f.createdAt, LastUpdatedAt: f.lastUpdatedAt, MeshName: f.mesh,
			MeshOwner: f.meshOwner, ResourceOwner: f.resourceOwner, Version: f.version, VirtualServiceName: new(r.Name),
		})
	}
	return out, nil
}
