package service

import (
	"context"

	"github.com/meshgate/meshgate/internal/appmesh"
	"github.com/meshgate/meshgate/internal/store"
)

func (s *Service) virtualGatewayData(r store.Record, status string) (*appmesh.VirtualGatewayData, error) {
	sp, err := spec[appmesh.VirtualGatewaySpec](r)
	if err != nil {
		return nil, err
	}
	return &appmesh.VirtualGatewayData{
		MeshName: new(r.Mesh), VirtualGatewayName: new(r.Name),
		Metadata: s.metadata(r), Spec: sp, Status: &appmesh.VirtualGatewayStatus{Status: new(status)},
	}, nil
}

func (s *Service) CreateVirtualGateway(ctx context.Context, in *appmesh.CreateVirtualGatewayInput) (*appmesh.VirtualGatewayData, error) {
	key := store.Key{Kind: store.KindVirtualGateway, Mesh: *in.MeshName, Name: *in.VirtualGatewayName}
	w := write{op: "CreateVirtualGateway", key: key, meshOwner: in.MeshOwner, token: in.ClientToken, spec: in.Spec, tags: in.Tags}
	r, err := s.create(ctx, w)
	if err != nil {
		return nil, err
	}
	return s.virtualGatewayData(r, statusActive)
}

func (s *Service) DescribeVirtualGateway(ctx context.Context, in *appmesh.DescribeVirtualGatewayInput) (*appmesh.VirtualGatewayData, error) {
	r, err := s.describe(ctx, "DescribeVirtualGateway", store.Key{Kind: store.KindVirtualGateway, Mesh: *in.MeshName, Name: *in.VirtualGatewayName}, in.MeshOwner)
	if err != nil {
		return nil, err
	}
	return s.virtualGatewayData(r, statusActive)
}

func (s *Service) UpdateVirtualGateway(ctx context.Context, in *appmesh.UpdateVirtualGatewayInput) (*appmesh.VirtualGatewayData, error) {
	key := store.Key{Kind: store.KindVirtualGateway, Mesh: *in.MeshName, Name: *in.VirtualGatewayName}
	w := write{op: "UpdateVirtualGateway", key: key, meshOwner: in.MeshOwner, token: in.ClientToken, spec: in.Spec}
	r, err := s.update(ctx, w)
	if err != nil {
		return nil, err
	}
	return s.virtualGatewayData(r, statusActive)
}

func (s *Service) DeleteVirtualGateway(ctx context.Context, in *appmesh.DeleteVirtualGatewayInput) (*appmesh.VirtualGatewayData, error) {
	r, err := s.remove(ctx, "DeleteVirtualGateway", store.Key{Kind: store.KindVirtualGateway, Mesh: *in.MeshName, Name: *in.VirtualGatewayName}, in.MeshOwner)
	if err != nil {
		return nil, err
	}
	return s.virtualGatewayData(r, statusDeleted)
}

func (s *Service) ListVirtualGateways(ctx context.Context, in *appmesh.ListVirtualGatewaysInput) (*appmesh.ListVirtualGatewaysOutput, error) {
	recs, next, err := s.list(ctx, "ListVirtualGateways", meshKey(*in.MeshName), store.KindVirtualGateway, in.MeshOwner, in.NextToken, in.Limit)
	if err != nil {
		return nil, err
	}
	out := &appmesh.ListVirtualGatewaysOutput{VirtualGateways: make([]appmesh.VirtualGatewayRef, 0, len(recs)), NextToken: next}
	for _, r := range recs {
		f := s.ref(r)
		out.VirtualGateways = append(out.VirtualGateways, appmesh.VirtualGatewayRef{
			Arn: f.arn, CreatedAt: f.createdAt, LastUpdatedAt: f.lastUpdatedAt, MeshName: f.mesh,
			MeshOwner: f.meshOwner, ResourceOwner: f.resourceOwner, Version: f.version, VirtualGatewayName: new(r.Name),
		})
	}
	return out, nil
}
