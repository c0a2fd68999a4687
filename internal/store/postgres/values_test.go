package postgres

import (
	"errors"
	"testing"

	"github.com/meshgate/meshgate/internal/store"
)

// TestValueNotStorable: PostgreSQL's TEXT cannot hold a NUL byte. Such a
// value is refused as the caller's error, not reported as an outage a
// client would retry forever, and the store goes on working.
func TestValueNotStorable(t *testing.T) {
	s := openFresh(t)
	ctx := testContext(t)
	for name, fn := range map[string]func(tx store.Tx) error{
		"name": func(tx store.Tx) error { return tx.Create(ctx, record(nodeKey("m", "a\x00b")), nil) },
		"tag": func(tx store.Tx) error {
			return tx.Create(ctx, record(nodeKey("m", "tagged")), []store.Tag{{Key: "k", Value: "\x00"}})
		},
		"token": func(tx store.Tx) error { return tx.PutToken(ctx, store.Token{Scope: "s", Token: "\x00"}) },
	} {
		err := s.Write(ctx, fn)
		if err == nil || errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s with a NUL byte: %v, want an error that is not ErrUnavailable", name, err)
		}
	}
	if exists(t, s, nodeKey("m", "tagged")) {
		t.Error("the record of the refused tag was kept")
	}
	mustCreate(t, s, record(nodeKey("m", "fine")))
}
