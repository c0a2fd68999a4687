package storetest

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/meshgate/meshgate/internal/store"
)

// timeout bounds every case, so a deadlocked back end fails instead of
// hanging the suite.
const timeout = 60 * time.Second

// base is a millisecond-exact instant; records built from it round-trip
// unchanged.
var base = time.Date(2024, 5, 6, 7, 8, 9, 123_000_000, time.UTC)

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	t.Cleanup(cancel)
	return ctx
}

func meshKey(name string) store.Key {
	return store.Key{Kind: store.KindMesh, Mesh: name, Name: name}
}

func nodeKey(mesh, name string) store.Key {
	return store.Key{Kind: store.KindVirtualNode, Mesh: mesh, Name: name}
}

func routerKey(mesh, name string) store.Key {
	return store.Key{Kind: store.KindVirtualRouter, Mesh: mesh, Name: name}
}

func routeKey(mesh, router, name string) store.Key {
	return store.Key{Kind: store.KindRoute, Mesh: mesh, Parent: router, Name: name}
}

func serviceKey(mesh, name string) store.Key {
	return store.Key{Kind: store.KindVirtualService, Mesh: mesh, Name: name}
}

func gatewayRouteKey(mesh, gateway, name string) store.Key {
	return store.Key{Kind: store.KindGatewayRoute, Mesh: mesh, Parent: gateway, Name: name}
}

// newRecord builds a version-1 record whose UID and spec derive from its key,
// so two records never share them by accident.
func newRecord(k store.Key, refs ...store.Key) store.Record {
	id := fmt.Sprintf("%s/%s/%s/%s", k.Kind, k.Mesh, k.Parent, k.Name)
	return store.Record{
		Key:           k,
		UID:           "uid-" + id,
		Version:       1,
		CreatedAt:     base,
		LastUpdatedAt: base.Add(time.Second),
		MeshOwner:     "111122223333",
		ResourceOwner: "444455556666",
		Spec:          []byte(`{"id":"` + id + `"}`),
		Refs:          refs,
	}
}

// write runs fn in a Write that must succeed.
func write(t *testing.T, s store.Store, fn func(ctx context.Context, tx store.Tx) error) {
	t.Helper()
	ctx := testContext(t)
	if err := s.Write(ctx, func(tx store.Tx) error { return fn(ctx, tx) }); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

// read runs fn in a Read that must succeed.
func read(t *testing.T, s store.Store, fn func(ctx context.Context, tx store.Tx) error) {
	t.Helper()
	ctx := testContext(t)
	if err := s.Read(ctx, func(tx store.Tx) error { return fn(ctx, tx) }); err != nil {
		t.Fatalf("Read: %v", err)
	}
}

func create(t *testing.T, s store.Store, r store.Record, tags ...store.Tag) {
	t.Helper()
	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.Create(ctx, r, tags) })
}

// get reads k in its own Read; the error is Get's.
func get(t *testing.T, s store.Store, k store.Key) (store.Record, error) {
	t.Helper()
	var (
		r      store.Record
		getErr error
	)
	read(t, s, func(ctx context.Context, tx store.Tx) error {
		r, getErr = tx.Get(ctx, k)
		return nil
	})
	return r, getErr
}

func mustGet(t *testing.T, s store.Store, k store.Key) store.Record {
	t.Helper()
	r, err := get(t, s, k)
	if err != nil {
		t.Fatalf("Get(%v): %v", k, err)
	}
	return r
}

func wantNotFound(t *testing.T, s store.Store, k store.Key) {
	t.Helper()
	if r, err := get(t, s, k); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get(%v) = %+v, %v; want ErrNotFound", k, r, err)
	}
}

func tagsOf(t *testing.T, s store.Store, uid string) []store.Tag {
	t.Helper()
	var tags []store.Tag
	read(t, s, func(ctx context.Context, tx store.Tx) (err error) {
		tags, err = tx.Tags(ctx, uid)
		return err
	})
	return tags
}

func referrers(t *testing.T, s store.Store, k store.Key) []store.Key {
	t.Helper()
	var keys []store.Key
	read(t, s, func(ctx context.Context, tx store.Tx) (err error) {
		keys, err = tx.Referrers(ctx, k)
		return err
	})
	return keys
}

func revision(t *testing.T, s store.Store) int64 {
	t.Helper()
	rev, err := s.Revision(testContext(t))
	if err != nil {
		t.Fatalf("Revision: %v", err)
	}
	return rev
}

// checkRecord compares every field of got with want. Times compare at
// millisecond precision and must come back in UTC; refs compare as
// multisets, since their order carries no meaning.
func checkRecord(t *testing.T, got, want store.Record) {
	t.Helper()
	if got.Key != want.Key {
		t.Errorf("Key = %+v, want %+v", got.Key, want.Key)
	}
	if got.UID != want.UID {
		t.Errorf("UID = %q, want %q", got.UID, want.UID)
	}
	if got.Version != want.Version {
		t.Errorf("Version = %d, want %d", got.Version, want.Version)
	}
	checkTime(t, "CreatedAt", got.CreatedAt, want.CreatedAt)
	checkTime(t, "LastUpdatedAt", got.LastUpdatedAt, want.LastUpdatedAt)
	if got.MeshOwner != want.MeshOwner || got.ResourceOwner != want.ResourceOwner {
		t.Errorf("owners = %q/%q, want %q/%q", got.MeshOwner, got.ResourceOwner, want.MeshOwner, want.ResourceOwner)
	}
	if !bytes.Equal(got.Spec, want.Spec) {
		t.Errorf("Spec = %q, want %q", got.Spec, want.Spec)
	}
	if g, w := sortedKeys(got.Refs), sortedKeys(want.Refs); !slices.Equal(g, w) {
		t.Errorf("Refs = %v, want %v", g, w)
	}
}

func checkTime(t *testing.T, field string, got, want time.Time) {
	t.Helper()
	w := want.Truncate(time.Millisecond)
	if !got.Equal(w) {
		t.Errorf("%s = %v, want %v", field, got, w)
	}
	if got.Location() != time.UTC {
		t.Errorf("%s location = %v, want UTC", field, got.Location())
	}
}

func compareKeys(a, b store.Key) int {
	return cmp.Or(
		cmp.Compare(a.Kind, b.Kind),
		cmp.Compare(a.Mesh, b.Mesh),
		cmp.Compare(a.Parent, b.Parent),
		cmp.Compare(a.Name, b.Name),
	)
}

func sortedKeys(keys []store.Key) []store.Key {
	out := slices.Clone(keys)
	slices.SortFunc(out, compareKeys)
	return out
}

func names(rs []store.Record) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Name
	}
	return out
}
