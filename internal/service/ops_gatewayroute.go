package service

import (
	"context"

	"github.com/meshgate/meshgate/internal/appmesh"
	"github.com/meshgate/meshgate/internal/store"
)

func (s *Service) gatewayRouteData(r store.Record, status string) (*appmesh.GatewayRouteData, error) {
	sp, err := spec[appmesh.GatewayRouteSpec](r)
	if err != nil {
		return nil, err
	}
	return &appmesh.GatewayRouteData{
		MeshName: new(r.Mesh), GatewayRouteName: new(r.Name),
		VirtualGatewayName: new(r.Parent),
		Metadata:           s.metadata(r), Spec: sp, Status: &appmesh.GatewayRouteStatus{Status: new(status)},
	}, nil
}

func (s *Service) CreateGatewayRoute(ctx context.Context, in *appmesh.CreateGatewayRouteInput) (*appmesh.GatewayRouteData, error) {
	key := store.Key{Kind: store.KindGatewayRoute, Mesh: *in.MeshName, Parent: *in.VirtualGatewayName, Name: *in.GatewayRouteName}
	w := write{op: "CreateGatewayRoute", key: key, meshOwner: in.MeshOwner, token: in.ClientToken, spec: in.Spec, tags: in.Tags}
	w.check = s.checkGatewayRoute(key, in.Spec)
	r, err := s.create(ctx, w)
	if err != nil {
		return nil, err
	}
	return s.gatewayRouteData(r, statusActive)
}

func (s *Service) DescribeGatewayRoute(ctx context.Context, in *appmesh.DescribeGatewayRouteInput) (*appmesh.GatewayRouteData, error) {
	r, err := s.describe(ctx, "DescribeGatewayRoute", store.Key{Kind: store.KindGatewayRoute, Mesh: *in.MeshName, Parent: *in.VirtualGatewayName, Name: *in.GatewayRouteName}, in.MeshOwner)
	if err != nil {
		return nil, err
	}
	return s.gatewayRouteData(r, statusActive)
}

func (s *Service) UpdateGatewayRoute(ctx context.Context, in *appmesh.UpdateGatewayRouteInput) (*appmesh.GatewayRouteData, error) {
	key := store.Key{Kind: store.KindGatewayRoute, Mesh: *in.MeshName, Parent: *in.VirtualGatewayName, Name: *in.GatewayRouteName}
	w := write{op: "UpdateGatewayRoute", key: key, meshOwner: in.MeshOwner, token: in.ClientToken, spec: in.Spec}
	w.check = s.checkGatewayRoute(key, in.Spec)
	r, err := s.update(ctx, w)
	if err != nil {
		return nil, err
	}
	return s.gatewayRouteData(r, statusActive)
}

func (s *Service) DeleteGatewayRoute(ctx context.Context, in *appmesh.DeleteGatewayRouteInput) (*appmesh.GatewayRouteData, error) {
	r, err := s.remove(ctx, "DeleteGatewayRoute", store.Key{Kind: store.KindGatewayRoute, Mesh: *in.MeshName, Parent: *in.VirtualGatewayName, Name: *in.GatewayRouteName}, in.MeshOwner)
	if err != nil {
		return nil, err
	}
	return s.gatewayRouteData(r, statusDeleted)
}

func (s *Service) ListGatewayRoutes(ctx context.Context, in *appmesh.ListGatewayRoutesInput) (*appmesh.ListGatewayRoutesOutput, error) {
	recs, next, err := s.list(ctx, "ListGatewayRoutes", store.Key{Kind: store.KindVirtualGateway, Mesh: *in.MeshName, Name: *in.VirtualGatewayName}, store.KindGatewayRoute, in.MeshOwner, in.NextToken, in.Limit)
	if err != nil {
		return nil, err
	}
	out := &appmesh.ListGatewayRoutesOutput{GatewayRoutes: make([]appmesh.GatewayRouteRef, 0, len(recs)), NextToken: next}
	for _, r := range recs {
		f := s.ref(r)
		out.GatewayRoutes = append(out.GatewayRoutes, appmesh.GatewayRouteRef{
			Arn: f.arn, CreatedAt: f.createdAt, LastUpdatedAt: f.lastUpdatedAt, MeshName: f.mesh,
			MeshOwner: f.meshOwner, ResourceOwner: f.resourceOwner, Version: f.version, GatewayRouteName: new(r.Name),
			VirtualGatewayName: new(r.Parent),
		})
	}
	return out, nil
}
