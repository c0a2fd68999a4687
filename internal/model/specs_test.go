package model

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/meshgate/meshgate/internal/appmesh"
	"github.com/meshgate/meshgate/internal/store"
)

// Specs hands out the spec decoded before for a record whose UID and
// version are unchanged, decodes it again otherwise, and Sweep forgets
// what the loads since the previous Sweep did not use.
func TestSpecs(t *testing.T) {
	st := openStore(t)
	populate(t, st, 3) // gateway routes r00000..r00002
	ctx := context.Background()
	k := GatewayKey{Mesh: "m", Name: "gw"}
	specs := NewSpecs()
	load := func() map[string]Resource[appmesh.GatewayRouteSpec] {
		t.Helper()
		g, err := Load(ctx, st, k, specs)
		if err != nil {
			t.Fatal(err)
		}
		specs.Sweep()
		out := map[string]Resource[appmesh.GatewayRouteSpec]{}
		for _, r := range g.GatewayRoutes {
			out[r.Name] = r
		}
		return out
	}
	write := func(fn func(tx store.Tx) error) {
		t.Helper()
		if err := st.Write(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	key := func(name string) store.Key {
		return store.Key{Kind: store.KindGatewayRoute, Mesh: "m", Parent: "gw", Name: name}
	}
	// the spec of a route to svc.local matching /prefix
	spec := func(prefix string) []byte { return gatewayRoute("gw", prefix, "svc.local").Spec }
	prefix := func(r Resource[appmesh.GatewayRouteSpec]) string { return *r.Spec.HttpRoute.Match.Prefix }

	first := load()
	// mesh, gateway, 3 gateway routes, the service and its node
	if n := len(specs.m); n != 7 {
		t.Fatalf("%d specs kept after the first load, want 7", n)
	}
	again := load()
	for name, r := range first {
		if again[name].Spec != r.Spec {
			t.Errorf("%s: unchanged, decoded again", name)
		}
	}

	// r00000 updated (version 2); r00001 deleted and created again (new
	// UID, version 1 as before); r00002 deleted.
	write(func(tx store.Tx) error {
		cur, err := tx.Get(ctx, key("r00000"))
		if err != nil {
			return err
		}
		next := cur
		next.Version, next.Spec, next.LastUpdatedAt = 2, spec("updated"), time.Now()
		return tx.Update(ctx, next, cur.Version)
	})
	write(func(tx store.Tx) error {
		cur, err := tx.Get(ctx, key("r00001"))
		if err != nil {
			return err
		}
		if err := tx.Delete(ctx, cur.Key, cur.Version); err != nil {
			return err
		}
		cur.UID, cur.Spec = "uid-recreated", spec("recreated")
		return tx.Create(ctx, cur, nil)
	})
	write(func(tx store.Tx) error { return tx.Delete(ctx, key("r00002"), 1) })
	after := load()
	for name, want := range map[string]string{"r00000": "/updated", "r00001": "/recreated"} {
		if got := prefix(after[name]); got != want {
			t.Errorf("%s: prefix %q, want %q", name, got, want)
		}
	}
	if len(after) != 2 {
		t.Errorf("%d gateway routes, want 2", len(after))
	}
	// The deleted route's spec and the old r00001's are forgotten.
	if n := len(specs.m); n != 6 {
		t.Errorf("%d specs kept, want 6", n)
	}
	if _, ok := specs.m["uid-gatewayRoute-gw-r00002"]; ok {
		t.Error("the deleted gateway route's spec is still kept")
	}
}

// Load reads a gateway's routes across pages of the store's listing:
// every one once, in name order.
func TestLoadPages(t *testing.T) {
	st := openStore(t)
	n := listPage + 1
	populate(t, st, n)
	g, err := Load(context.Background(), st, GatewayKey{Mesh: "m", Name: "gw"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.GatewayRoutes) != n {
		t.Fatalf("%d gateway routes, want %d", len(g.GatewayRoutes), n)
	}
	for i, r := range g.GatewayRoutes {
		if want := fmt.Sprintf("r%05d", i); r.Name != want {
			t.Fatalf("gateway route %d is %s, want %s", i, r.Name, want)
		}
	}
}

// countingStore counts the reads of its transactions.
type countingStore struct {
	store.Store
	gets  map[store.Key]int
	lists map[store.Key]int // by kind, mesh and parent
}

func (c *countingStore) Read(ctx context.Context, fn func(store.Tx) error) error {
	return c.Store.Read(ctx, func(tx store.Tx) error { return fn(countingTx{tx, c}) })
}

type countingTx struct {
	store.Tx
	c *countingStore
}

func (t countingTx) Get(ctx context.Context, k store.Key) (store.Record, error) {
	t.c.gets[k]++
	return t.Tx.Get(ctx, k)
}

func (t countingTx) List(ctx context.Context, kind store.Kind, mesh, parent, after string, limit int) ([]store.Record, error) {
	t.c.lists[store.Key{Kind: kind, Mesh: mesh, Parent: parent}]++
	return t.Tx.List(ctx, kind, mesh, parent, after, limit)
}

// A Reader reads what several gateways share once, and each gateway's
// snapshot is what Load alone gives.
func TestReaderReadsSharedOnce(t *testing.T) {
	st := openStore(t)
	populate(t, st, 2) // gw: 2 routes to svc.local, provided by node
	node := store.Key{Kind: store.KindVirtualNode, Mesh: "m", Name: "node"}
	router := store.Key{Kind: store.KindVirtualRouter, Mesh: "m", Name: "rt"}
	routed := store.Key{Kind: store.KindVirtualService, Mesh: "m", Name: "routed.local"}
	svc := store.Key{Kind: store.KindVirtualService, Mesh: "m", Name: "svc.local"}
	create(t, st,
		record(store.KindVirtualRouter, "", "rt", gatewaySpec),
		record(store.KindRoute, "rt", "all", `{"httpRoute":{"action":{"weightedTargets":[{"virtualNode":"node","weight":1}]},"match":{"prefix":"/"}}}`, node),
		record(store.KindVirtualService, "", "routed.local", `{"provider":{"virtualRouter":{"virtualRouterName":"rt"}}}`, router),
		record(store.KindVirtualGateway, "", "gw2", gatewaySpec),
		gatewayRoute("gw", "x", "routed.local"), gatewayRoute("gw2", "a", "svc.local"), gatewayRoute("gw2", "b", "routed.local"))
	ctx := context.Background()
	cs := &countingStore{Store: st, gets: map[store.Key]int{}, lists: map[store.Key]int{}}
	got := map[GatewayKey]string{}
	if err := Read(ctx, cs, NewSpecs(), func(r *Reader) error {
		keys, err := r.Gateways()
		if err != nil {
			return err
		}
		if len(keys) != 2 {
			t.Fatalf("gateways %v", keys)
		}
		for _, k := range keys {
			g, err := r.Load(k)
			if err != nil {
				return err
			}
			b, _ := json.Marshal(g)
			got[k] = string(b)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []store.Key{svc, routed, router, node, {Kind: store.KindMesh, Mesh: "m", Name: "m"}} {
		if n := cs.gets[k]; n != 1 {
			t.Errorf("%s %s read %d times, want once", k.Kind, k.Name, n)
		}
	}
	if n := cs.lists[store.Key{Kind: store.KindRoute, Mesh: "m", Parent: "rt"}]; n != 1 {
		t.Errorf("the router's routes listed %d times, want once", n)
	}
	for k, want := range got {
		g, err := Load(ctx, st, k, nil)
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := json.Marshal(g); string(b) != want {
			t.Errorf("%s from the shared Reader:\n%s\nalone:\n%s", k, want, b)
		}
		if len(g.Services) != 2 || len(g.Routers) != 1 || len(g.Nodes) != 1 {
			t.Errorf("%s: %d services, %d routers, %d nodes", k, len(g.Services), len(g.Routers), len(g.Nodes))
		}
	}
}
