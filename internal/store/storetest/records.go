package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/meshgate/meshgate/internal/store"
)

func testCreateGet(t *testing.T, s store.Store) {
	target1, target2 := nodeKey("m", "n1"), nodeKey("m", "n2")
	r := newRecord(serviceKey("m", "svc.local"), target1, target2)
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.Create(ctx, r, []store.Tag{{Key: "team", Value: "a"}}); err != nil {
			return err
		}
		// A write sees what it wrote before committing.
		got, err := tx.Get(ctx, r.Key)
		if err != nil {
			t.Errorf("Get inside the creating Write: %v", err)
		}
		checkRecord(t, got, r)
		return nil
	})
	checkRecord(t, mustGet(t, s, r.Key), r)
	if got := tagsOf(t, s, r.UID); !slices.Equal(got, []store.Tag{{Key: "team", Value: "a"}}) {
		t.Errorf("Tags = %v, want [team=a]", got)
	}
	// Only the created key exists.
	wantNotFound(t, s, serviceKey("m", "other"))
	wantNotFound(t, s, serviceKey("other", "svc.local"))
	wantNotFound(t, s, nodeKey("m", "svc.local"))
}

func testCreateDuplicate(t *testing.T, s store.Store) {
	first := newRecord(nodeKey("m", "n"))
	create(t, s, first, store.Tag{Key: "k", Value: "first"})

	second := first
	second.UID = "uid-second"
	second.Spec = []byte(`{"second":true}`)
	ctx := testContext(t)
	err := s.Write(ctx, func(tx store.Tx) error {
		return tx.Create(ctx, second, []store.Tag{{Key: "k", Value: "second"}})
	})
	if !errors.Is(err, store.ErrExists) {
		t.Fatalf("second Create: %v, want ErrExists", err)
	}
	checkRecord(t, mustGet(t, s, first.Key), first)
	if got := tagsOf(t, s, "uid-second"); len(got) != 0 {
		t.Errorf("tags of the refused record = %v, want none", got)
	}

	// The duplicate is refused inside one transaction too, and a caller
	// that handles ErrExists keeps the rest of its work.
	other := newRecord(nodeKey("m", "other"))
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.Create(ctx, other, nil); err != nil {
			return err
		}
		if err := tx.Create(ctx, other, nil); !errors.Is(err, store.ErrExists) {
			t.Errorf("Create twice in one Write: %v, want ErrExists", err)
		}
		return nil
	})
	checkRecord(t, mustGet(t, s, other.Key), other)
}

func testKeysAreDistinct(t *testing.T, s store.Store) {
	// Every pair differs in exactly one of kind, mesh or parent.
	keys := []store.Key{
		nodeKey("m1", "x"),
		nodeKey("m2", "x"),
		routerKey("m1", "x"),
		serviceKey("m1", "x"),
		routeKey("m1", "r1", "x"),
		routeKey("m1", "r2", "x"),
		gatewayRouteKey("m1", "r1", "x"),
		meshKey("x"),
	}
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, k := range keys {
			if err := tx.Create(ctx, newRecord(k), nil); err != nil {
				return err
			}
		}
		return nil
	})
	for _, k := range keys {
		checkRecord(t, mustGet(t, s, k), newRecord(k))
	}
}

func testCreateRejectsMalformed(t *testing.T, s store.Store) {
	noUID := newRecord(nodeKey("m", "no-uid"))
	noUID.UID = ""
	for _, r := range []store.Record{
		newRecord(store.Key{Kind: "bogus", Mesh: "m", Name: "n"}),
		newRecord(store.Key{Kind: store.KindVirtualNode, Mesh: "m"}),
		newRecord(store.Key{Kind: store.KindVirtualNode, Name: "n"}),
		newRecord(store.Key{Kind: store.KindMesh, Mesh: "a", Name: "b"}),
		newRecord(store.Key{Kind: store.KindRoute, Mesh: "m", Name: "orphan"}),
		newRecord(store.Key{Kind: store.KindGatewayRoute, Mesh: "m", Name: "orphan"}),
		newRecord(store.Key{Kind: store.KindVirtualNode, Mesh: "m", Parent: "p", Name: "n"}),
		noUID,
	} {
		ctx := testContext(t)
		err := s.Write(ctx, func(tx store.Tx) error { return tx.Create(ctx, r, nil) })
		if err == nil {
			t.Errorf("Create(%+v) succeeded, want an error", r.Key)
		}
		wantNotFound(t, s, r.Key)
	}
}

func testGetNotFound(t *testing.T, s store.Store) {
	for _, k := range []store.Key{meshKey("m"), nodeKey("m", "n"), routeKey("m", "r", "x"), {}} {
		wantNotFound(t, s, k)
	}
}

func testUpdate(t *testing.T, s store.Store) {
	a, b, c := nodeKey("m", "a"), nodeKey("m", "b"), nodeKey("m", "c")
	orig := newRecord(routeKey("m", "router", "rt"), a)
	create(t, s, orig)

	next := orig
	next.Version = 2
	next.LastUpdatedAt = base.Add(time.Hour)
	next.Spec = []byte(`{"v":2}`)
	next.Refs = []store.Key{b, c}
	// Kept from the stored record whatever the caller sends.
	next.UID = "uid-changed"
	next.CreatedAt = base.Add(-time.Hour)
	next.MeshOwner = "999999999999"
	next.ResourceOwner = "888888888888"
	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.Update(ctx, next, 1) })

	want := next
	want.UID, want.CreatedAt = orig.UID, orig.CreatedAt
	want.MeshOwner, want.ResourceOwner = orig.MeshOwner, orig.ResourceOwner
	checkRecord(t, mustGet(t, s, orig.Key), want)
}

func testUpdateWrongVersion(t *testing.T, s store.Store) {
	orig := newRecord(nodeKey("m", "n"), nodeKey("m", "dep"))
	create(t, s, orig)
	for _, prev := range []int64{0, 2, -1} {
		next := orig
		next.Version = prev + 1
		next.Spec = []byte(`{"stale":true}`)
		next.Refs = nil
		ctx := testContext(t)
		err := s.Write(ctx, func(tx store.Tx) error { return tx.Update(ctx, next, prev) })
		if !errors.Is(err, store.ErrVersion) {
			t.Errorf("Update with prevVersion %d: %v, want ErrVersion", prev, err)
		}
	}
	checkRecord(t, mustGet(t, s, orig.Key), orig)
}

func testUpdateNotFound(t *testing.T, s store.Store) {
	create(t, s, newRecord(nodeKey("m", "n")))
	r := newRecord(nodeKey("m", "absent"))
	ctx := testContext(t)
	err := s.Write(ctx, func(tx store.Tx) error { return tx.Update(ctx, r, 1) })
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Update of an absent record: %v, want ErrNotFound", err)
	}
	wantNotFound(t, s, r.Key)
}

func testDelete(t *testing.T, s store.Store) {
	target := nodeKey("m", "target")
	r := newRecord(serviceKey("m", "svc"), target)
	create(t, s, r, store.Tag{Key: "a", Value: "1"})

	ctx := testContext(t)
	err := s.Write(ctx, func(tx store.Tx) error { return tx.Delete(ctx, r.Key, 2) })
	if !errors.Is(err, store.ErrVersion) {
		t.Fatalf("Delete with a wrong version: %v, want ErrVersion", err)
	}
	checkRecord(t, mustGet(t, s, r.Key), r)
	if got := tagsOf(t, s, r.UID); len(got) != 1 {
		t.Fatalf("tags after a refused Delete = %v, want 1", got)
	}

	err = s.Write(ctx, func(tx store.Tx) error { return tx.Delete(ctx, serviceKey("m", "absent"), 1) })
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Delete of an absent record: %v, want ErrNotFound", err)
	}

	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.Delete(ctx, r.Key, 1) })
	wantNotFound(t, s, r.Key)
	if got := tagsOf(t, s, r.UID); len(got) != 0 {
		t.Errorf("tags after Delete = %v, want none", got)
	}
	if got := referrers(t, s, target); len(got) != 0 {
		t.Errorf("Referrers after Delete = %v, want none", got)
	}
	err = s.Write(ctx, func(tx store.Tx) error { return tx.Delete(ctx, r.Key, 1) })
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second Delete: %v, want ErrNotFound", err)
	}

	// The key is free again, and the new resource starts untagged.
	again := r
	again.UID = "uid-again"
	create(t, s, again)
	checkRecord(t, mustGet(t, s, r.Key), again)
	if got := tagsOf(t, s, again.UID); len(got) != 0 {
		t.Errorf("tags of the re-created record = %v, want none", got)
	}
}

func testTimePrecision(t *testing.T, s store.Store) {
	est := time.FixedZone("EST", -5*3600)
	for i, tc := range []struct{ created, updated time.Time }{
		{time.Date(2024, 1, 2, 3, 4, 5, 678_901_234, est), time.Date(2024, 1, 2, 3, 4, 5, 999_999_999, time.UTC)},
		{time.Date(1969, 12, 31, 23, 59, 59, 1_500_000, time.UTC), time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)},
		{time.Date(2999, 12, 31, 23, 59, 59, 999_000_000, time.UTC), time.Now()},
		{time.Time{}, time.Time{}},
	} {
		r := newRecord(nodeKey("m", string(rune('a'+i))))
		r.CreatedAt, r.LastUpdatedAt = tc.created, tc.updated
		create(t, s, r)
		got := mustGet(t, s, r.Key)
		checkRecord(t, got, r)
		if tc.created.IsZero() && !got.CreatedAt.IsZero() {
			t.Errorf("zero CreatedAt came back as %v", got.CreatedAt)
		}
	}
}

func testSpecBytes(t *testing.T, s store.Store) {
	for i, spec := range [][]byte{
		{0, 1, 2, 0xff, 0xfe, '"', '\\', 0},
		[]byte(`{"listeners":[{"portMapping":{"port":8080,"protocol":"http"}}],"ünïcode":"✓"}`),
		make([]byte, 256<<10), // large spec
		{},
	} {
		r := newRecord(nodeKey("m", string(rune('a'+i))))
		r.Spec = spec
		create(t, s, r)
		checkRecord(t, mustGet(t, s, r.Key), r)
	}
}
