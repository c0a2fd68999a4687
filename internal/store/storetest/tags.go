package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/meshgate/meshgate/internal/store"
)

func setTags(t *testing.T, s store.Store, uid string, tags ...store.Tag) {
	t.Helper()
	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.SetTags(ctx, uid, tags) })
}

func testTagsSetReplace(t *testing.T, s store.Store) {
	r := newRecord(nodeKey("m", "n"))
	other := newRecord(nodeKey("m", "other"))
	create(t, s, r, store.Tag{Key: "z", Value: "1"}, store.Tag{Key: "a", Value: "2"}, store.Tag{Key: "B", Value: ""})
	create(t, s, other, store.Tag{Key: "a", Value: "other"})

	// Ordered by key, byte order.
	want := []store.Tag{{Key: "B", Value: ""}, {Key: "a", Value: "2"}, {Key: "z", Value: "1"}}
	if got := tagsOf(t, s, r.UID); !slices.Equal(got, want) {
		t.Fatalf("Tags after Create = %v, want %v", got, want)
	}

	setTags(t, s, r.UID, store.Tag{Key: "a", Value: "changed"}, store.Tag{Key: "new", Value: "v"})
	want = []store.Tag{{Key: "a", Value: "changed"}, {Key: "new", Value: "v"}}
	if got := tagsOf(t, s, r.UID); !slices.Equal(got, want) {
		t.Fatalf("Tags after SetTags = %v, want %v", got, want)
	}

	setTags(t, s, r.UID)
	if got := tagsOf(t, s, r.UID); len(got) != 0 {
		t.Fatalf("Tags after SetTags(none) = %v, want none", got)
	}
	// The other resource's tags were never touched.
	if got := tagsOf(t, s, other.UID); !slices.Equal(got, []store.Tag{{Key: "a", Value: "other"}}) {
		t.Errorf("other resource's tags = %v", got)
	}
	if got := tagsOf(t, s, "uid-unknown"); len(got) != 0 {
		t.Errorf("Tags of an unknown uid = %v, want none", got)
	}
}

func testTagsGoWithResource(t *testing.T, s store.Store) {
	r := newRecord(nodeKey("m", "n"))
	create(t, s, r, store.Tag{Key: "a", Value: "1"})
	setTags(t, s, r.UID, store.Tag{Key: "b", Value: "2"})
	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.Delete(ctx, r.Key, 1) })
	if got := tagsOf(t, s, r.UID); len(got) != 0 {
		t.Errorf("Tags after Delete = %v, want none", got)
	}
}

func testSetTagsUnknownUID(t *testing.T, s store.Store) {
	ctx := testContext(t)
	err := s.Write(ctx, func(tx store.Tx) error {
		return tx.SetTags(ctx, "uid-unknown", []store.Tag{{Key: "a", Value: "1"}})
	})
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SetTags on an unknown uid: %v, want ErrNotFound", err)
	}
	if got := tagsOf(t, s, "uid-unknown"); len(got) != 0 {
		t.Errorf("Tags = %v, want none", got)
	}
}
