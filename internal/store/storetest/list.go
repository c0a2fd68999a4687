package storetest

import (
	"context"
	"slices"
	"testing"

	"github.com/meshgate/meshgate/internal/store"
)

// list runs List in its own Read.
func list(t *testing.T, s store.Store, kind store.Kind, mesh, parent, after string, limit int) []store.Record {
	t.Helper()
	var out []store.Record
	read(t, s, func(ctx context.Context, tx store.Tx) (err error) {
		out, err = tx.List(ctx, kind, mesh, parent, after, limit)
		return err
	})
	return out
}

func count(t *testing.T, s store.Store, kind store.Kind, mesh, parent string) int {
	t.Helper()
	var n int
	read(t, s, func(ctx context.Context, tx store.Tx) (err error) {
		n, err = tx.Count(ctx, kind, mesh, parent)
		return err
	})
	return n
}

func testListOrderAndPages(t *testing.T, s store.Store) {
	// Created out of order; byte order puts upper case before lower case
	// and '-' before '_' before letters, and multi-byte UTF-8 last.
	created := []string{"b", "a_1", "é", "a", "B", "a-1", "ab", "Z9", "a0"}
	want := []string{"B", "Z9", "a", "a-1", "a0", "a_1", "ab", "b", "é"}
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, n := range created {
			if err := tx.Create(ctx, newRecord(nodeKey("m", n)), nil); err != nil {
				return err
			}
		}
		return nil
	})

	all := list(t, s, store.KindVirtualNode, "m", "", "", 100)
	if got := names(all); !slices.Equal(got, want) {
		t.Fatalf("List = %v, want %v", got, want)
	}
	for _, r := range all {
		checkRecord(t, r, newRecord(r.Key))
	}

	for _, limit := range []int{1, 2, 4, len(want), len(want) + 1} {
		var got []string
		after := ""
		for pages := 0; ; pages++ {
			if pages > len(want)+1 {
				t.Fatalf("limit %d: paging does not end; got %v", limit, got)
			}
			page := list(t, s, store.KindVirtualNode, "m", "", after, limit)
			if len(page) > limit {
				t.Fatalf("limit %d: page of %d", limit, len(page))
			}
			got = append(got, names(page)...)
			if len(page) < limit {
				break
			}
			after = page[len(page)-1].Name
		}
		if !slices.Equal(got, want) {
			t.Errorf("limit %d: pages gave %v, want %v", limit, got, want)
		}
	}

	// after need not name a record, and is exclusive.
	if got := names(list(t, s, store.KindVirtualNode, "m", "", "a", 3)); !slices.Equal(got, []string{"a-1", "a0", "a_1"}) {
		t.Errorf("after a: %v", got)
	}
	if got := names(list(t, s, store.KindVirtualNode, "m", "", "a.", 2)); !slices.Equal(got, []string{"a0", "a_1"}) {
		t.Errorf("after a.: %v", got)
	}
	if got := list(t, s, store.KindVirtualNode, "m", "", "é", 10); len(got) != 0 {
		t.Errorf("after the last: %v, want none", names(got))
	}
	if n := count(t, s, store.KindVirtualNode, "m", ""); n != len(want) {
		t.Errorf("Count = %d, want %d", n, len(want))
	}
}

func testListCountScope(t *testing.T, s store.Store) {
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, k := range []store.Key{
			nodeKey("m1", "n2"), nodeKey("m1", "n1"), nodeKey("m2", "n3"),
			routerKey("m1", "r1"), routerKey("m1", "r2"),
			routeKey("m1", "r1", "b"), routeKey("m1", "r1", "a"), routeKey("m1", "r2", "c"),
			routeKey("m2", "r1", "d"),
			gatewayRouteKey("m1", "r1", "g"),
		} {
			if err := tx.Create(ctx, newRecord(k), nil); err != nil {
				return err
			}
		}
		return nil
	})
	for _, tc := range []struct {
		kind         store.Kind
		mesh, parent string
		want         []string
	}{
		{store.KindVirtualNode, "m1", "", []string{"n1", "n2"}},
		{store.KindVirtualNode, "m2", "", []string{"n3"}},
		{store.KindVirtualNode, "m3", "", nil},
		{store.KindVirtualRouter, "m1", "", []string{"r1", "r2"}},
		{store.KindRoute, "m1", "r1", []string{"a", "b"}},
		{store.KindRoute, "m1", "r2", []string{"c"}},
		{store.KindRoute, "m2", "r1", []string{"d"}},
		{store.KindRoute, "m1", "", nil},
		{store.KindGatewayRoute, "m1", "r1", []string{"g"}},
		{store.KindVirtualService, "m1", "", nil},
	} {
		got := names(list(t, s, tc.kind, tc.mesh, tc.parent, "", 100))
		if !slices.Equal(got, tc.want) {
			t.Errorf("List(%s, %q, %q) = %v, want %v", tc.kind, tc.mesh, tc.parent, got, tc.want)
		}
		if n := count(t, s, tc.kind, tc.mesh, tc.parent); n != len(tc.want) {
			t.Errorf("Count(%s, %q, %q) = %d, want %d", tc.kind, tc.mesh, tc.parent, n, len(tc.want))
		}
	}
}

func testListCountMeshes(t *testing.T, s store.Store) {
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, n := range []string{"mesh-b", "mesh-a", "mesh-c"} {
			if err := tx.Create(ctx, newRecord(meshKey(n)), nil); err != nil {
				return err
			}
		}
		// A node named like a mesh is not a mesh.
		return tx.Create(ctx, newRecord(nodeKey("mesh-a", "mesh-0")), nil)
	})
	want := []string{"mesh-a", "mesh-b", "mesh-c"}
	for _, scope := range [][2]string{{"", ""}, {"mesh-a", ""}, {"elsewhere", "parent"}} {
		if got := names(list(t, s, store.KindMesh, scope[0], scope[1], "", 10)); !slices.Equal(got, want) {
			t.Errorf("List meshes with mesh %q parent %q = %v, want %v", scope[0], scope[1], got, want)
		}
		if n := count(t, s, store.KindMesh, scope[0], scope[1]); n != len(want) {
			t.Errorf("Count meshes with mesh %q parent %q = %d, want %d", scope[0], scope[1], n, len(want))
		}
	}
	if got := names(list(t, s, store.KindMesh, "x", "y", "mesh-a", 1)); !slices.Equal(got, []string{"mesh-b"}) {
		t.Errorf("List meshes after mesh-a, limit 1 = %v, want [mesh-b]", got)
	}
	for _, r := range list(t, s, store.KindMesh, "", "", "", 10) {
		checkRecord(t, r, newRecord(meshKey(r.Name)))
	}
}

func testListCarriesRefs(t *testing.T, s store.Store) {
	a, b := nodeKey("m", "a"), nodeKey("m", "b")
	recs := []store.Record{
		newRecord(routeKey("m", "r", "1"), a, b),
		newRecord(routeKey("m", "r", "2")),
		newRecord(routeKey("m", "r", "3"), b),
		newRecord(routeKey("m", "other", "2"), a), // same name, other parent
	}
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, r := range recs {
			if err := tx.Create(ctx, r, nil); err != nil {
				return err
			}
		}
		return nil
	})
	got := list(t, s, store.KindRoute, "m", "r", "", 10)
	if len(got) != 3 {
		t.Fatalf("List = %v, want 3 routes", names(got))
	}
	for i, r := range got {
		checkRecord(t, r, recs[i])
	}
	// A later page carries its own refs.
	got = list(t, s, store.KindRoute, "m", "r", "1", 2)
	if len(got) != 2 {
		t.Fatalf("List after 1 = %v, want 2 routes", names(got))
	}
	checkRecord(t, got[0], recs[1])
	checkRecord(t, got[1], recs[2])
}

func testListBadLimit(t *testing.T, s store.Store) {
	create(t, s, newRecord(nodeKey("m", "n")))
	ctx := testContext(t)
	for _, limit := range []int{0, -1} {
		err := s.Read(ctx, func(tx store.Tx) error {
			_, err := tx.List(ctx, store.KindVirtualNode, "m", "", "", limit)
			return err
		})
		if err == nil {
			t.Errorf("List with limit %d succeeded, want an error", limit)
		}
	}
}
