package service

import (
	"context"
	"fmt"
	"strings"

	"github.com/meshgate/meshgate/internal/appmesh"
	"github.com/meshgate/meshgate/internal/store"
)

// checkQuota refuses a create that would pass the kind's quota.
func (s *Service) checkQuota(ctx context.Context, tx store.Tx, key store.Key) error {
	q := s.cfg.Quotas
	var limit int
	var what string
	switch key.Kind {
	case store.KindMesh:
		limit, what = q.Meshes, "meshes for account "+s.caller(ctx)
	case store.KindVirtualNode:
		limit, what = q.VirtualNodesPerMesh, "virtual nodes in mesh "+key.Mesh
	case store.KindVirtualRouter:
		limit, what = q.VirtualRoutersPerMesh, "virtual routers in mesh "+key.Mesh
	case store.KindVirtualService:
		limit, what = q.VirtualServicesPerMesh, "virtual services in mesh "+key.Mesh
	case store.KindVirtualGateway:
		limit, what = q.VirtualGatewaysPerMesh, "virtual gateways in mesh "+key.Mesh
	case store.KindRoute:
		limit, what = q.RoutesPerVirtualRouter, "routes in virtual router "+key.Parent
	case store.KindGatewayRoute:
		limit, what = q.GatewayRoutesPerVirtualGateway, "gateway routes in virtual gateway "+key.Parent
	}
	var n int
	var err error
	if key.Kind == store.KindMesh {
		n, err = s.ownedMeshes(ctx, tx)
	} else {
		n, err = tx.Count(ctx, key.Kind, key.Mesh, key.Parent)
	}
	if err != nil {
		return err
	}
	if n >= limit {
		return appmesh.LimitExceeded("the limit of %d %s has been reached", limit, what)
	}
	return nil
}

// ownedMeshes counts the caller's meshes: the mesh quota is per account,
// and one server keeps the meshes of every account.
func (s *Service) ownedMeshes(ctx context.Context, tx store.Tx) (int, error) {
	caller, n, after := s.caller(ctx), 0, ""
	for {
		page, err := tx.List(ctx, store.KindMesh, "", "", after, 500)
		if err != nil {
			return 0, err
		}
		for _, r := range page {
			if r.MeshOwner == caller {
				n++
			}
		}
		if len(page) < 500 {
			return n, nil
		}
		after = page[len(page)-1].Name
	}
}

// meshChildren are the kinds whose presence keeps a mesh from being deleted,
// in the order App Mesh names them.
var meshChildren = []store.Kind{store.KindVirtualNode, store.KindVirtualRouter, store.KindVirtualService, store.KindVirtualGateway}

// deleteGuard answers ResourceInUse while something depends on key
// (reference §3.1), naming what does.
func (s *Service) deleteGuard(ctx context.Context, tx store.Tx, key store.Key) error {
	switch key.Kind {
	case store.KindMesh:
		for _, k := range meshChildren {
			n, err := tx.Count(ctx, k, key.Mesh, "")
			if err != nil {
				return err
			}
			if n > 0 {
				return appmesh.ResourceInUse("Mesh %s for account %s has active %ss, please delete %ss before deleting the Mesh", key.Mesh, s.caller(ctx), kindTitle(k), kindTitle(k))
			}
		}
	case store.KindVirtualGateway:
		return s.childGuard(ctx, tx, key, store.KindGatewayRoute)
	case store.KindVirtualRouter:
		if err := s.childGuard(ctx, tx, key, store.KindRoute); err != nil {
			return err
		}
		return s.referrerGuard(ctx, tx, key)
	case store.KindVirtualService, store.KindVirtualNode:
		return s.referrerGuard(ctx, tx, key)
	}
	return nil
}

// childGuard blocks deleting a router or gateway that still has routes.
func (s *Service) childGuard(ctx context.Context, tx store.Tx, key store.Key, child store.Kind) error {
	kids, err := tx.List(ctx, child, key.Mesh, key.Name, "", 11)
	if err != nil || len(kids) == 0 {
		return err
	}
	names := make([]string, 0, len(kids))
	for i, k := range kids {
		if i == 10 {
			names = append(names, "...")
			break
		}
		names = append(names, k.Name)
	}
	return appmesh.ResourceInUse("%s %s in mesh %s cannot be deleted because it has %ss: [%s]",
		kindTitle(key.Kind), key.Name, key.Mesh, kindTitle(child), strings.Join(names, ", "))
}

// referrerGuard blocks deleting a resource that another one's spec names:
// a virtual service targeted by gateway routes, a node or router providing
// a virtual service, a node targeted by routes.
func (s *Service) referrerGuard(ctx context.Context, tx store.Tx, key store.Key) error {
	refs, err := tx.Referrers(ctx, key)
	if err != nil || len(refs) == 0 {
		return err
	}
	byKind := map[store.Kind][]string{}
	var kinds []store.Kind
	for _, r := range refs {
		if _, ok := byKind[r.Kind]; !ok {
			kinds = append(kinds, r.Kind)
		}
		name := r.Name
		if r.Parent != "" {
			name = r.Parent + "/" + r.Name
		}
		byKind[r.Kind] = append(byKind[r.Kind], name)
	}
	var parts []string
	for _, k := range kinds {
		parts = append(parts, fmt.Sprintf("%s: [%s]", refKindLabel(k), strings.Join(byKind[k], ", ")))
	}
	return appmesh.ResourceInUse("%s %s is being referenced in the following: %s", kindTitle(key.Kind), key.Name, strings.Join(parts, "; "))
}

// refKindLabel is the upper-snake label App Mesh used in "being referenced"
// messages (GATEWAY_ROUTE).
func refKindLabel(k store.Kind) string {
	var b strings.Builder
	for i, c := range string(k) {
		if c >= 'A' && c <= 'Z' && i > 0 {
			b.WriteByte('_')
		}
		b.WriteRune(c)
	}
	return strings.ToUpper(b.String())
}
