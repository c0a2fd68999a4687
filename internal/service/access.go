package service

import (
	"context"

	"github.com/meshgate/meshgate/internal/appmesh"
	"github.com/meshgate/meshgate/internal/store"
)

// Accounts and shared meshes, as App Mesh had them (reference §2.6):
//
//   - a resource belongs to the account that created it (resourceOwner);
//     a mesh's owner is meshOwner for everything in it;
//   - a mesh is reached with meshOwner = its owner, or without meshOwner
//     by its owner; its owner and the accounts it is shared with see
//     everything in it, other accounts see nothing (NotFound, so that they
//     learn nothing about it);
//   - consumers create virtual nodes, services and routers, and routes in
//     their own routers; virtual gateways and gateway routes are the mesh
//     owner's alone (ForbiddenException);
//   - only a resource's owner updates or tags it; its owner or the mesh's
//     owner deletes it.
//
// Mesh names are unique per server, not per account: a server keeps one
// namespace of meshes (docs/api-compatibility.md).

type callerKey struct{}

// WithCaller records the account a request is made by. The API sets it
// from the request's verified credential; without it (authentication
// off, internal callers) the server's own account is the caller.
func WithCaller(ctx context.Context, account string) context.Context {
	return context.WithValue(ctx, callerKey{}, account)
}

// caller is the account ctx acts for.
func (s *Service) caller(ctx context.Context) string {
	if a, ok := ctx.Value(callerKey{}).(string); ok && a != "" {
		return a
	}
	return s.cfg.AccountID
}

// Sharing is who a mesh is shared with: AWS RAM's part in App Mesh.
type Sharing interface {
	// SharedWith reports whether the mesh named mesh, owned by owner, is
	// shared with account.
	SharedWith(mesh, owner, account string) bool
}

// visible answers NotFound unless the caller may see mesh, owned by owner,
// when the request named meshOwner (nil: the caller's own meshes).
func (s *Service) visible(ctx context.Context, mesh string, meshOwner *string, owner string) error {
	caller := s.caller(ctx)
	want := caller
	if meshOwner != nil {
		want = *meshOwner
	}
	if owner != want || (owner != caller && !s.sharedWith(mesh, owner, caller)) {
		return appmesh.NotFound("Mesh with name %s is not present for mesh owner %s", mesh, want)
	}
	return nil
}

func (s *Service) sharedWith(mesh, owner, account string) bool {
	return s.cfg.Sharing != nil && s.cfg.Sharing.SharedWith(mesh, owner, account)
}

// mayCreate holds creation to the mesh's owner for virtual gateways and
// gateway routes, and to the router's owner for routes. parent is the
// router or gateway of a route or gateway route, nil otherwise.
func (s *Service) mayCreate(ctx context.Context, key store.Key, mesh store.Record, parent *store.Record) error {
	caller := s.caller(ctx)
	switch key.Kind {
	case store.KindVirtualGateway, store.KindGatewayRoute:
		if caller != mesh.MeshOwner {
			return appmesh.Forbidden("account %s may not create a %s in mesh %s: only its owner, account %s, creates virtual gateways and gateway routes",
				caller, kindTitle(key.Kind), key.Mesh, mesh.MeshOwner)
		}
	case store.KindRoute:
		if parent != nil && caller != parent.ResourceOwner {
			return appmesh.Forbidden("account %s may not create a Route in VirtualRouter %s of mesh %s: it belongs to account %s",
				caller, key.Parent, key.Mesh, parent.ResourceOwner)
		}
	}
	return nil
}

// mayUpdate holds updates (and tags) to the resource's owner.
func (s *Service) mayUpdate(ctx context.Context, r store.Record) error {
	if caller := s.caller(ctx); caller != r.ResourceOwner {
		return appmesh.Forbidden("account %s may not change %s: it belongs to account %s", caller, describeKey(r.Key), r.ResourceOwner)
	}
	return nil
}

// mayDelete lets the resource's owner or the mesh's owner delete it.
func (s *Service) mayDelete(ctx context.Context, r store.Record) error {
	if caller := s.caller(ctx); caller != r.ResourceOwner && caller != r.MeshOwner {
		return appmesh.Forbidden("account %s may not delete %s: it belongs to account %s", caller, describeKey(r.Key), r.ResourceOwner)
	}
	return nil
}
