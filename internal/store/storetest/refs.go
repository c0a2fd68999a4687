package storetest

import (
	"context"
	"slices"
	"testing"

	"github.com/meshgate/meshgate/internal/store"
)

func testReferrers(t *testing.T, s store.Store) {
	n1, n2, unused := nodeKey("m", "n1"), nodeKey("m", "n2"), nodeKey("m", "unused")
	svc := serviceKey("m", "svc")
	recs := []store.Record{
		newRecord(n1), newRecord(n2), newRecord(unused),
		// Created in an order unlike the one Referrers must return.
		newRecord(serviceKey("m", "svc"), n1),
		newRecord(routeKey("m", "rt-b", "x"), n1, n2, n1), // n1 twice
		newRecord(routeKey("m", "rt-a", "x"), n2, n1),
		newRecord(gatewayRouteKey("m", "gw", "to-svc"), svc),
		newRecord(serviceKey("other", "svc"), n1), // refs may cross meshes
	}
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, r := range recs {
			if err := tx.Create(ctx, r, nil); err != nil {
				return err
			}
		}
		return nil
	})
	for _, tc := range []struct {
		target store.Key
		want   []store.Key
	}{
		{n1, []store.Key{
			routeKey("m", "rt-a", "x"),
			routeKey("m", "rt-b", "x"),
			serviceKey("m", "svc"),
			serviceKey("other", "svc"),
		}},
		{n2, []store.Key{routeKey("m", "rt-a", "x"), routeKey("m", "rt-b", "x")}},
		{svc, []store.Key{gatewayRouteKey("m", "gw", "to-svc")}},
		{unused, nil},
		{nodeKey("m", "never-created"), nil},
		{nodeKey("other", "n1"), nil}, // same name, other mesh
	} {
		got := referrers(t, s, tc.target)
		if !slices.Equal(got, tc.want) {
			t.Errorf("Referrers(%v) = %v, want %v", tc.target, got, tc.want)
		}
	}
	// The record keeps both mentions of n1.
	checkRecord(t, mustGet(t, s, routeKey("m", "rt-b", "x")), recs[4])
}

func testRefsFollowUpdateDelete(t *testing.T, s store.Store) {
	a, b, c := nodeKey("m", "a"), nodeKey("m", "b"), nodeKey("m", "c")
	rt := newRecord(routeKey("m", "r", "rt"), a, b)
	svc := newRecord(serviceKey("m", "svc"), a)
	create(t, s, rt)
	create(t, s, svc)

	next := rt
	next.Version = 2
	next.Refs = []store.Key{b, c}
	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.Update(ctx, next, 1) })
	for _, tc := range []struct {
		target store.Key
		want   []store.Key
	}{
		{a, []store.Key{svc.Key}},
		{b, []store.Key{rt.Key}},
		{c, []store.Key{rt.Key}},
	} {
		if got := referrers(t, s, tc.target); !slices.Equal(got, tc.want) {
			t.Errorf("after Update, Referrers(%v) = %v, want %v", tc.target, got, tc.want)
		}
	}
	checkRecord(t, mustGet(t, s, rt.Key), next)

	// An update without refs drops them all.
	none := next
	none.Version = 3
	none.Refs = nil
	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.Update(ctx, none, 2) })
	if got := referrers(t, s, b); len(got) != 0 {
		t.Errorf("after Update without refs, Referrers(b) = %v, want none", got)
	}
	if got := mustGet(t, s, rt.Key); len(got.Refs) != 0 {
		t.Errorf("Refs after Update without refs = %v", got.Refs)
	}

	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.Delete(ctx, svc.Key, 1) })
	if got := referrers(t, s, a); len(got) != 0 {
		t.Errorf("after Delete, Referrers(a) = %v, want none", got)
	}
}
