package service

import (
	"context"

	"github.com/meshgate/meshgate/internal/appmesh"
	"github.com/meshgate/meshgate/internal/store"
)

func (s *Service) virtualNodeData(r store.Record, status string) (*appmesh.VirtualNodeData, error) {
	sp, err := spec[appmesh.VirtualNodeSpec](r)
	if err != nil {
		return nil, err
	}
	return &appmesh.VirtualNodeData{
		MeshName: new(r.Mesh), VirtualNodeName: new(r.Name),
		Metadata: s.metadata(r), Spec: sp, Status: &appmesh.VirtualNodeStatus{Status: new(status)},
	}, nil
}

func (s *Service) CreateVirtualNode(ctx context.Context, in *appmesh.CreateVirtualNodeInput) (*appmesh.VirtualNodeData, error) {
	key := store.Key{Kind: store.KindVirtualNode, Mesh: *in.MeshName, Name: *in.VirtualNodeName}
	w := write{op: "CreateVirtualNode", key: key, meshOwner: in.MeshOwner, token: in.ClientToken, spec: in.Spec, tags: in.Tags}
	w.check = s.checkVirtualNode(in.Spec)
	r, err := s.create(ctx, w)
	if err != nil {
		return nil, err
	}
	return s.virtualNodeData(r, statusActive)
}

func (s *Service) DescribeVirtualNode(ctx context.Context, in *appmesh.DescribeVirtualNodeInput) (*appmesh.VirtualNodeData, error) {
	r, err := s.describe(ctx, "DescribeVirtualNode", store.Key{Kind: store.KindVirtualNode, Mesh: *in.MeshName, Name: *in.VirtualNodeName}, in.MeshOwner)
	if err != nil {
		return nil, err
	}
	return s.virtualNodeData(r, statusActive)
}

func (s *Service) UpdateVirtualNode(ctx context.Context, in *appmesh.UpdateVirtualNodeInput) (*appmesh.VirtualNodeData, error) {
	key := store.Key{Kind: store.KindVirtualNode, Mesh: *in.MeshName, Name: *in.VirtualNodeName}
	w := write{op: "UpdateVirtualNode", key: key, meshOwner: in.MeshOwner, token: in.ClientToken, spec: in.Spec}
	w.check = s.checkVirtualNode(in.Spec)
	r, err := s.update(ctx, w)
	if err != nil {
		return nil, err
	}
	return s.virtualNodeData(r, statusActive)
}

func (s *Service) DeleteVirtualNode(ctx context.Context, in *appmesh.DeleteVirtualNodeInput) (*appmesh.VirtualNodeData, error) {
	r, err := s.remove(ctx, "DeleteVirtualNode", store.Key{Kind: store.KindVirtualNode, Mesh: *in.MeshName, Name: *in.VirtualNodeName}, in.MeshOwner)
	if err != nil {
		return nil, err
	}
	return s.virtualNodeData(r, statusDeleted)
}

func (s *Service) ListVirtualNodes(ctx context.Context, in *appmesh.ListVirtualNodesInput) (*appmesh.ListVirtualNodesOutput, error) {
	recs, next, err := s.list(ctx, "ListVirtualNodes", meshKey(*in.MeshName), store.KindVirtualNode, in.MeshOwner, in.NextToken, in.Limit)
	if err != nil {
		return nil, err
	}
	out := &appmesh.ListVirtualNodesOutput{VirtualNodes: make([]appmesh.VirtualNodeRef, 0, len(recs)), NextToken: next}
	for _, r := range recs {
		f := s.ref(r)
		out.VirtualNodes = append(out.VirtualNodes, appmesh.VirtualNodeRef{
			Arn: f.arn, CreatedAt: f.createdAt, LastUpdatedAt: f.lastUpdatedAt, MeshName: f.mesh,
			MeshOwner: f.meshOwner, ResourceOwner: f.resourceOwner, Version: f.version, VirtualNodeName: new(r.Name),
		})
	}
	return out, nil
}
