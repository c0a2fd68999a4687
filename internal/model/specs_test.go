package model

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/meshgate/meshgate/internal/appmesh"
	"github.com/meshgate/meshgate/internal/store"
	"github.com/meshgate/meshgate/internal/store/sqlite"
)

// Specs hands out the spec decoded before for a record whose UID and
// version are unchanged, decodes it again otherwise, and Sweep forgets
// what the loads since the previous Sweep did not use.
func TestSpecs(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "meshgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
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
	spec := func(prefix string) []byte {
		return []byte(`{"httpRoute":{"action":{"target":{"virtualService":{"virtualServiceName":"svc.local"}}},"match":{"prefix":"` + prefix + `"}}}`)
	}
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
		next.Version, next.Spec, next.LastUpdatedAt = 2, spec("/updated"), time.Now()
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
		cur.UID, cur.Spec = "uid-recreated", spec("/recreated")
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
	if _, ok := specs.m["uid-gatewayRoute-r00002"]; ok {
		t.Error("the deleted gateway route's spec is still kept")
	}
}

// Load reads a gateway's routes across pages of the store's listing:
// every one once, in name order.
func TestLoadPages(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "meshgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
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
