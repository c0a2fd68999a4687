package service

import (
	"github.com/meshgate/meshgate/internal/appmesh"
	"github.com/meshgate/meshgate/internal/store"
)

// Status values of a resource in responses.
const (
	statusActive  = "ACTIVE"
	statusDeleted = "DELETED"
)

func (s *Service) metadata(r store.Record) *appmesh.ResourceMetadata {
	return &appmesh.ResourceMetadata{
		Arn:           new(store.ARN(s.cfg.Region, r.ResourceOwner, r.Key)),
		CreatedAt:     appmesh.NewTimestamp(r.CreatedAt),
		LastUpdatedAt: appmesh.NewTimestamp(r.LastUpdatedAt),
		MeshOwner:     new(r.MeshOwner),
		ResourceOwner: new(r.ResourceOwner),
		Uid:           new(r.UID),
		Version:       new(r.Version),
	}
}

// spec decodes a stored spec for a response. Stored specs were encoded from
// the same type, so a failure means the store is damaged.
func spec[S any](r store.Record) (*S, error) {
	sp, err := decodeSpec[S](r)
	if err != nil {
		return nil, appmesh.InternalServerError("stored spec of %s cannot be read", store.ResourcePath(r.Key))
	}
	return sp, nil
}

// refFields are the members every *Ref shares.
type refFields struct {
	arn, mesh, meshOwner, resourceOwner *string
	createdAt, lastUpdatedAt            *appmesh.Timestamp
	version                             *int64
}

func (s *Service) ref(r store.Record) refFields {
	return refFields{
		arn: new(store.ARN(s.cfg.Region, r.ResourceOwner, r.Key)), mesh: new(r.Mesh),
		meshOwner: new(r.MeshOwner), resourceOwner: new(r.ResourceOwner),
		createdAt: appmesh.NewTimestamp(r.CreatedAt), lastUpdatedAt: appmesh.NewTimestamp(r.LastUpdatedAt),
		version: new(r.Version),
	}
}
