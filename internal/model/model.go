// Package model loads, in one consistent read, everything one virtual
// gateway's configuration depends on: the gateway, its gateway routes, the
// virtual services they target, those services' routers with their routes,
// and the virtual nodes at the end of them. Translation works on this
// snapshot, never on the live store.
package model

import (
	"context"
	"errors"
	"fmt"

	"github.com/meshgate/meshgate/internal/appmesh"
	"github.com/meshgate/meshgate/internal/store"
)

// Resource is one stored resource with its decoded spec.
type Resource[S any] struct {
	Name    string
	UID     string
	Version int64
	Owner   string // resourceOwner: the account that created it
	Spec    *S
}

// Gateway is the snapshot of one virtual gateway.
type Gateway struct {
	Mesh          string
	MeshSpec      *appmesh.MeshSpec
	Gateway       Resource[appmesh.VirtualGatewaySpec]
	GatewayRoutes []Resource[appmesh.GatewayRouteSpec] // ordered by name
	// The resources the gateway routes lead to, by name. A name a spec
	// refers to may be missing (deleted since); translation copes.
	Services map[string]Resource[appmesh.VirtualServiceSpec]
	Routers  map[string]Resource[appmesh.VirtualRouterSpec]
	Routes   map[string][]Resource[appmesh.RouteSpec] // by router name, ordered by route name
	Nodes    map[string]Resource[appmesh.VirtualNodeSpec]
}

// ErrNotFound means the gateway (or its mesh) does not exist.
var ErrNotFound = errors.New("virtual gateway not found")

// GatewayKey names one virtual gateway.
type GatewayKey struct{ Mesh, Name string }

func (k GatewayKey) String() string { return "mesh/" + k.Mesh + "/virtualGateway/" + k.Name }

// ListGateways returns every virtual gateway in the store, ordered.
func ListGateways(ctx context.Context, st store.Store) ([]GatewayKey, error) {
	var out []GatewayKey
	err := Read(ctx, st, nil, func(r *Reader) (err error) {
		out, err = r.Gateways()
		return err
	})
	return out, err
}

// Load reads the snapshot of one gateway in a single read transaction.
// specs, when not nil, keeps the decoded specs for the next Load.
func Load(ctx context.Context, st store.Store, k GatewayKey, specs *Specs) (*Gateway, error) {
	var g *Gateway
	err := Read(ctx, st, specs, func(r *Reader) (err error) {
		g, err = r.Load(k)
		return err
	})
	return g, err
}

// Reader reads gateways' snapshots in one read transaction. What several
// gateways depend on (their mesh, a virtual service, node or router, a
// router's routes) is read from the store once, however many gateways
// load it: the xDS server loads every gateway on every change, and with
// 20 gateways over 10 services those repeated reads were most of a
// sync's reading.
type Reader struct {
	ctx   context.Context
	tx    store.Tx
	specs *Specs
	got   map[store.Key]fetched
	lists map[store.Key][]store.Record // by kind, mesh and parent (Name unset)
}

// fetched is a Get's result; ok is false for a record that is not there.
type fetched struct {
	rec store.Record
	ok  bool
}

// Read runs fn with a Reader of one read transaction of st; specs, when
// not nil, keeps the decoded specs for later reads.
func Read(ctx context.Context, st store.Store, specs *Specs, fn func(*Reader) error) error {
	return st.Read(ctx, func(tx store.Tx) error {
		return fn(&Reader{ctx: ctx, tx: tx, specs: specs, got: map[store.Key]fetched{}, lists: map[store.Key][]store.Record{}})
	})
}

// Gateways returns every virtual gateway, ordered.
func (r *Reader) Gateways() ([]GatewayKey, error) {
	meshes, err := all(r.ctx, r.tx, store.KindMesh, "", "")
	if err != nil {
		return nil, err
	}
	var out []GatewayKey
	for _, m := range meshes {
		gws, err := all(r.ctx, r.tx, store.KindVirtualGateway, m.Mesh, "")
		if err != nil {
			return nil, err
		}
		for _, g := range gws {
			out = append(out, GatewayKey{Mesh: m.Mesh, Name: g.Name})
		}
	}
	return out, nil
}

// Load reads the snapshot of gateway k.
func (r *Reader) Load(k GatewayKey) (*Gateway, error) {
	meshRec, ok, err := r.get(store.Key{Kind: store.KindMesh, Mesh: k.Mesh, Name: k.Mesh})
	if err != nil {
		return nil, err
	} else if !ok {
		return nil, fmt.Errorf("%s: %w", k, ErrNotFound)
	}
	g := &Gateway{Mesh: k.Mesh,
		Services: map[string]Resource[appmesh.VirtualServiceSpec]{},
		Routers:  map[string]Resource[appmesh.VirtualRouterSpec]{},
		Routes:   map[string][]Resource[appmesh.RouteSpec]{},
		Nodes:    map[string]Resource[appmesh.VirtualNodeSpec]{},
	}
	mesh, err := resource[appmesh.MeshSpec](meshRec, r.specs)
	if err != nil {
		return nil, err
	}
	g.MeshSpec = mesh.Spec
	gwRec, ok, err := r.get(store.Key{Kind: store.KindVirtualGateway, Mesh: k.Mesh, Name: k.Name})
	if err != nil {
		return nil, err
	} else if !ok {
		return nil, fmt.Errorf("%s: %w", k, ErrNotFound)
	}
	if g.Gateway, err = resource[appmesh.VirtualGatewaySpec](gwRec, r.specs); err != nil {
		return nil, err
	}
	grs, err := all(r.ctx, r.tx, store.KindGatewayRoute, k.Mesh, k.Name)
	if err != nil {
		return nil, err
	}
	g.GatewayRoutes = make([]Resource[appmesh.GatewayRouteSpec], 0, len(grs))
	for _, rec := range grs {
		gr, err := resource[appmesh.GatewayRouteSpec](rec, r.specs)
		if err != nil {
			return nil, err
		}
		g.GatewayRoutes = append(g.GatewayRoutes, gr)
		if err := r.service(g, targetService(gr.Spec)); err != nil {
			return nil, err
		}
	}
	return g, nil
}

func targetService(s *appmesh.GatewayRouteSpec) string {
	switch {
	case s.HttpRoute != nil:
		return *s.HttpRoute.Action.Target.VirtualService.VirtualServiceName
	case s.Http2Route != nil:
		return *s.Http2Route.Action.Target.VirtualService.VirtualServiceName
	case s.GrpcRoute != nil:
		return *s.GrpcRoute.Action.Target.VirtualService.VirtualServiceName
	}
	return ""
}

// service adds to g a virtual service and what its provider leads to.
func (r *Reader) service(g *Gateway, name string) error {
	if _, done := g.Services[name]; done || name == "" {
		return nil
	}
	rec, ok, err := r.get(store.Key{Kind: store.KindVirtualService, Mesh: g.Mesh, Name: name})
	if err != nil || !ok {
		return err
	}
	vs, err := resource[appmesh.VirtualServiceSpec](rec, r.specs)
	if err != nil {
		return err
	}
	g.Services[name] = vs
	switch p := vs.Spec.Provider; {
	case p == nil:
		return nil
	case p.VirtualNode != nil:
		return r.node(g, *p.VirtualNode.VirtualNodeName)
	case p.VirtualRouter != nil:
		return r.router(g, *p.VirtualRouter.VirtualRouterName)
	}
	return nil
}

func (r *Reader) router(g *Gateway, name string) error {
	if _, done := g.Routers[name]; done {
		return nil
	}
	rec, ok, err := r.get(store.Key{Kind: store.KindVirtualRouter, Mesh: g.Mesh, Name: name})
	if err != nil || !ok {
		return err
	}
	vr, err := resource[appmesh.VirtualRouterSpec](rec, r.specs)
	if err != nil {
		return err
	}
	g.Routers[name] = vr
	routes, err := r.list(store.KindRoute, g.Mesh, name)
	if err != nil {
		return err
	}
	for _, rec := range routes {
		route, err := resource[appmesh.RouteSpec](rec, r.specs)
		if err != nil {
			return err
		}
		g.Routes[name] = append(g.Routes[name], route)
		for _, k := range rec.Refs {
			if k.Kind == store.KindVirtualNode {
				if err := r.node(g, k.Name); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (r *Reader) node(g *Gateway, name string) error {
	if _, done := g.Nodes[name]; done {
		return nil
	}
	rec, ok, err := r.get(store.Key{Kind: store.KindVirtualNode, Mesh: g.Mesh, Name: name})
	if err != nil || !ok {
		return err
	}
	n, err := resource[appmesh.VirtualNodeSpec](rec, r.specs)
	if err != nil {
		return err
	}
	g.Nodes[name] = n
	return nil
}

// get reads a record, once a transaction; a missing one is not an error
// (ok=false).
func (r *Reader) get(k store.Key) (store.Record, bool, error) {
	if f, done := r.got[k]; done {
		return f.rec, f.ok, nil
	}
	rec, err := r.tx.Get(r.ctx, k)
	if errors.Is(err, store.ErrNotFound) {
		r.got[k] = fetched{}
		return rec, false, nil
	}
	if err != nil {
		return rec, false, err
	}
	r.got[k] = fetched{rec: rec, ok: true}
	return rec, true, nil
}

// list is all, once a transaction.
func (r *Reader) list(kind store.Kind, mesh, parent string) ([]store.Record, error) {
	k := store.Key{Kind: kind, Mesh: mesh, Parent: parent}
	if recs, done := r.lists[k]; done {
		return recs, nil
	}
	recs, err := all(r.ctx, r.tx, kind, mesh, parent)
	if err != nil {
		return nil, err
	}
	r.lists[k] = recs
	return recs, nil
}

// all lists every record of a kind under (mesh, parent), page by page, in
// the store's name order.
func all(ctx context.Context, tx store.Tx, kind store.Kind, mesh, parent string) ([]store.Record, error) {
	var out []store.Record
	after := ""
	for {
		page, err := tx.List(ctx, kind, mesh, parent, after, listPage)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if len(page) < listPage {
			return out, nil
		}
		after = page[len(page)-1].Name
	}
}

// listPage is the records all reads a query. Every page is a statement
// prepared and a second query for its references: with 500 a page,
// loading 10,000 gateway routes took 56-78 ms (BenchmarkLoad, medians
// 58.5), with 5,000 49-84 (51.5). all holds every page until it returns
// anyway.
const listPage = 5000

func resource[S any](r store.Record, specs *Specs) (Resource[S], error) {
	s, err := decode[S](r, specs)
	return Resource[S]{Name: r.Name, UID: r.UID, Version: r.Version, Owner: r.ResourceOwner, Spec: s}, err
}
