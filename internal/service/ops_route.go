package service

import (
	"context"

	"github.com/meshgate/meshgate/internal/appmesh"
	"github.com/meshgate/meshgate/internal/store"
)

func (s *Service) routeData(r store.Record, status string) (*appmesh.RouteData, error) {
	sp, err := spec[appmesh.RouteSpec](r)
	if err != nil {
		return nil, err
	}
	return &appmesh.RouteData{
		MeshName: new(r.Mesh), RouteName: new(r.Name),
		VirtualRouterName: new(r.Parent),
		Metadata:          s.metadata(r), Spec: sp, Status: &appmesh.RouteStatus{Status: new(status)},
	}, nil
}

func (s *Service) CreateRoute(ctx context.Context, in *appmesh.CreateRouteInput) (*appmesh.RouteData, error) {
	key := store.Key{Kind: store.KindRoute, Mesh: *in.MeshName, Parent: *in.VirtualRouterName, Name: *in.RouteName}
	w := write{op: "CreateRoute", key: key, meshOwner: in.MeshOwner, token: in.ClientToken, spec: in.Spec, tags: in.Tags}
	w.check = s.checkRoute(key, in.Spec)
	r, err := s.create(ctx, w)
	if err != nil {
		return nil, err
	}
	return s.routeData(r, statusActive)
}

func (s *Service) DescribeRoute(ctx context.Context, in *appmesh.DescribeRouteInput) (*appmesh.RouteData, error) {
	r, err := s.describe(ctx, "DescribeRoute", store.Key{Kind: store.KindRoute, Mesh: *in.MeshName, Parent: *in.VirtualRouterName, Name: *in.RouteName}, in.MeshOwner)
	if err != nil {
		return nil, err
	}
	return s.routeData(r, statusActive)
}

func (s *Service) UpdateRoute(ctx context.Context, in *appmesh.UpdateRouteInput) (*appmesh.RouteData, error) {
	key := store.Key{Kind: store.KindRoute, Mesh: *in.MeshName, Parent: *in.VirtualRouterName, Name: *in.RouteName}
	w := write{op: "UpdateRoute", key: key, meshOwner: in.MeshOwner, token: in.ClientToken, spec: in.Spec}
	w.check = s.checkRoute(key, in.Spec)
	r, err := s.update(ctx, w)
	if err != nil {
		return nil, err
	}
	return s.routeData(r, statusActive)
}

func (s *Service) DeleteRoute(ctx context.Context, in *appmesh.DeleteRouteInput) (*appmesh.RouteData, error) {
	r, err := s.remove(ctx, "DeleteRoute", store.Key{Kind: store.KindRoute, Mesh: *in.MeshName, Parent: *in.VirtualRouterName, Name: *in.RouteName}, in.MeshOwner)
	if err != nil {
		return nil, err
	}
	return s.routeData(r, statusDeleted)
}

func (s *Service) ListRoutes(ctx context.Context, in *appmesh.ListRoutesInput) (*appmesh.ListRoutesOutput, error) {
	recs, next, err := s.list(ctx, "ListRoutes", store.Key{Kind: store.KindVirtualRouter, Mesh: *in.MeshName, Name: *in.VirtualRouterName}, store.KindRoute, in.MeshOwner, in.NextToken, in.Limit)
	if err != nil {
		return nil, err
	}
	out := &appmesh.ListRoutesOutput{Routes: make([]appmesh.RouteRef, 0, len(recs)), NextToken: next}
	for _, r := range recs {
		f := s.ref(r)
		out.Routes = append(out.Routes, appmesh.RouteRef{
			Arn: f.arn, CreatedAt: f.createdAt, LastUpdatedAt: f.lastUpdatedAt, MeshName: f.mesh,
			MeshOwner: f.meshOwner, ResourceOwner: f.resourceOwner, Version: f.version, RouteName: new(r.Name),
			VirtualRouterName: new(r.Parent),
		})
	}
	return out, nil
}
