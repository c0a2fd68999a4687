package storetest

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/meshgate/meshgate/internal/store"
)

func putToken(t *testing.T, s store.Store, tok store.Token) {
	t.Helper()
	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.PutToken(ctx, tok) })
}

// token reads a token in its own Read; the error is Token's.
func token(t *testing.T, s store.Store, scope, tok string, notBefore time.Time) (store.Token, error) {
	t.Helper()
	var (
		got    store.Token
		getErr error
	)
	read(t, s, func(ctx context.Context, tx store.Tx) error {
		got, getErr = tx.Token(ctx, scope, tok, notBefore)
		return nil
	})
	return got, getErr
}

func checkToken(t *testing.T, got, want store.Token) {
	t.Helper()
	if got.Scope != want.Scope || got.Token != want.Token || got.InputHash != want.InputHash {
		t.Errorf("token = %q/%q hash %q, want %q/%q hash %q",
			got.Scope, got.Token, got.InputHash, want.Scope, want.Token, want.InputHash)
	}
	if !bytes.Equal(got.Response, want.Response) {
		t.Errorf("Response = %q, want %q", got.Response, want.Response)
	}
	checkTime(t, "CreatedAt", got.CreatedAt, want.CreatedAt)
}

func testTokenPutGet(t *testing.T, s store.Store) {
	tok := store.Token{
		Scope:     "CreateMesh/111122223333",
		Token:     "client-token-1",
		InputHash: "sha256:abc",
		Response:  []byte(`{"mesh":{"meshName":"m"}}`),
		CreatedAt: base.Add(123456 * time.Microsecond), // sub-millisecond part is dropped
	}
	putToken(t, s, tok)
	got, err := token(t, s, tok.Scope, tok.Token, base.Add(-time.Hour))
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	checkToken(t, got, tok)

	for _, miss := range [][2]string{{tok.Scope, "other"}, {"UpdateMesh/111122223333", tok.Token}, {"", ""}} {
		if _, err := token(t, s, miss[0], miss[1], time.Time{}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Token(%q, %q): %v, want ErrNotFound", miss[0], miss[1], err)
		}
	}
}

func testTokenExpiry(t *testing.T, s store.Store) {
	created := base
	tok := store.Token{Scope: "s", Token: "t", InputHash: "h", Response: []byte("r"), CreatedAt: created}
	putToken(t, s, tok)
	for _, tc := range []struct {
		notBefore time.Time
		found     bool
	}{
		{time.Time{}, true},
		{created.Add(-time.Millisecond), true},
		{created.Add(-time.Nanosecond), true},
		{created, false}, // "created after notBefore" is strict
		{created.Add(time.Millisecond), false},
		{created.Add(24 * time.Hour), false},
	} {
		got, err := token(t, s, "s", "t", tc.notBefore)
		switch {
		case tc.found && err != nil:
			t.Errorf("notBefore %v: %v, want the token", tc.notBefore, err)
		case tc.found:
			checkToken(t, got, tok)
		case !errors.Is(err, store.ErrNotFound):
			t.Errorf("notBefore %v: %+v, %v; want ErrNotFound", tc.notBefore, got, err)
		}
	}
}

func testTokenReplaceAndScope(t *testing.T, s store.Store) {
	old := store.Token{Scope: "CreateMesh/1", Token: "t", InputHash: "h1", Response: []byte("first"), CreatedAt: base}
	otherScope := store.Token{Scope: "CreateMesh/2", Token: "t", InputHash: "h2", Response: []byte("other"), CreatedAt: base}
	putToken(t, s, old)
	putToken(t, s, otherScope)

	// An expired entry is replaced by a fresh one under the same name.
	fresh := store.Token{Scope: old.Scope, Token: old.Token, InputHash: "h3", Response: nil, CreatedAt: base.Add(time.Hour)}
	putToken(t, s, fresh)
	got, err := token(t, s, old.Scope, old.Token, base.Add(time.Minute))
	if err != nil {
		t.Fatalf("Token after replace: %v", err)
	}
	checkToken(t, got, fresh)

	got, err = token(t, s, otherScope.Scope, otherScope.Token, time.Time{})
	if err != nil {
		t.Fatalf("Token in the other scope: %v", err)
	}
	checkToken(t, got, otherScope)
}
