package postgres

import (
	"fmt"
	"testing"
	"time"

	"github.com/meshgate/meshgate/internal/store"
)

var base = time.Date(2024, 5, 6, 7, 8, 9, 123_000_000, time.UTC)

func nodeKey(mesh, name string) store.Key {
	return store.Key{Kind: store.KindVirtualNode, Mesh: mesh, Name: name}
}

func serviceKey(mesh, name string) store.Key {
	return store.Key{Kind: store.KindVirtualService, Mesh: mesh, Name: name}
}

func gatewayRouteKey(mesh, gateway, name string) store.Key {
	return store.Key{Kind: store.KindGatewayRoute, Mesh: mesh, Parent: gateway, Name: name}
}

// record builds a version-1 record whose UID derives from its key.
func record(k store.Key, refs ...store.Key) store.Record {
	id := fmt.Sprintf("%s/%s/%s/%s", k.Kind, k.Mesh, k.Parent, k.Name)
	return store.Record{
		Key: k, UID: "uid-" + id, Version: 1,
		CreatedAt: base, LastUpdatedAt: base,
		MeshOwner: "111122223333", ResourceOwner: "111122223333",
		Spec: []byte(`{"id":"` + id + `"}`), Refs: refs,
	}
}

func mustCreate(t testing.TB, s *Store, r store.Record) {
	t.Helper()
	ctx := testContext(t)
	if err := s.Write(ctx, func(tx store.Tx) error { return tx.Create(ctx, r, nil) }); err != nil {
		t.Fatalf("Create %v: %v", r.Key, err)
	}
}

// exists reads k in its own Read.
func exists(t testing.TB, s *Store, k store.Key) bool {
	t.Helper()
	ctx := testContext(t)
	var found bool
	err := s.Read(ctx, func(tx store.Tx) error {
		_, err := tx.Get(ctx, k)
		found = err == nil
		return nil
	})
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return found
}
