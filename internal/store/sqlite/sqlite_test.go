package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/meshgate/meshgate/internal/store"
	"github.com/meshgate/meshgate/internal/store/storetest"
)

func openTemp(t testing.TB) (*Store, string) {
	t.Helper()
	// A directory that does not exist yet: Open must create it.
	path := filepath.Join(t.TempDir(), "state", "meshgate.db")
	s, err := Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, path
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, _ := openTemp(t)
		return s
	})
}

func TestPragmas(t *testing.T) {
	s, _ := openTemp(t)
	ctx := testContext(t)
	for _, tc := range []struct {
		db     *sql.DB
		pragma string
		want   string
	}{
		{s.wdb, "journal_mode", "wal"},
		{s.wdb, "synchronous", "2"},
		{s.wdb, "foreign_keys", "1"},
		{s.wdb, "busy_timeout", "5000"},
		{s.rdb, "journal_mode", "wal"},
		{s.rdb, "foreign_keys", "1"},
		{s.rdb, "query_only", "1"},
		{s.rdb, "busy_timeout", "5000"},
	} {
		var got string
		if err := tc.db.QueryRowContext(ctx, "PRAGMA "+tc.pragma).Scan(&got); err != nil {
			t.Fatalf("PRAGMA %s: %v", tc.pragma, err)
		}
		if got != tc.want {
			t.Errorf("PRAGMA %s = %q, want %q", tc.pragma, got, tc.want)
		}
	}
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	ctx := testContext(t)
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	r := store.Record{
		Key: store.Key{Kind: store.KindVirtualNode, Mesh: "m", Name: "n"},
		UID: "u1", Version: 3, Spec: []byte(`{"a":1}`),
		CreatedAt: time.UnixMilli(1_700_000_000_123).UTC(),
		Refs:      []store.Key{{Kind: store.KindVirtualService, Mesh: "m", Name: "s"}},
	}
	if err := s.Write(ctx, func(tx store.Tx) error {
		if err := tx.Create(ctx, r, []store.Tag{{Key: "k", Value: "v"}}); err != nil {
			return err
		}
		return tx.PutToken(ctx, store.Token{Scope: "s", Token: "t", Response: []byte("resp"), CreatedAt: r.CreatedAt})
	}); err != nil {
		t.Fatal(err)
	}
	rev, err := s.Revision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	// A closed store fails as unavailable rather than panicking.
	if err := s.Read(ctx, func(store.Tx) error { return nil }); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Read after Close: %v, want ErrUnavailable", err)
	}
	if err := s.Write(ctx, func(store.Tx) error { return nil }); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Write after Close: %v, want ErrUnavailable", err)
	}

	s2, err := Open(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s2.Close()
	if got, err := s2.Revision(ctx); err != nil || got != rev {
		t.Errorf("Revision after reopen = %d, %v; want %d", got, err, rev)
	}
	if err := s2.Read(ctx, func(tx store.Tx) error {
		got, err := tx.Get(ctx, r.Key)
		if err != nil {
			return err
		}
		if got.UID != r.UID || got.Version != r.Version || string(got.Spec) != string(r.Spec) ||
			!got.CreatedAt.Equal(r.CreatedAt) || !slices.Equal(got.Refs, r.Refs) {
			t.Errorf("after reopen Get = %+v, want %+v", got, r)
		}
		tags, err := tx.Tags(ctx, r.UID)
		if err != nil {
			return err
		}
		if !slices.Equal(tags, []store.Tag{{Key: "k", Value: "v"}}) {
			t.Errorf("after reopen Tags = %v", tags)
		}
		tok, err := tx.Token(ctx, "s", "t", time.Time{})
		if err != nil {
			return err
		}
		if string(tok.Response) != "resp" {
			t.Errorf("after reopen token response = %q", tok.Response)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var version int
	if err := s2.rdb.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version != schemaVersion {
		t.Errorf("schema_version = %d, want %d", version, schemaVersion)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	s, path := openTemp(t)
	ctx := testContext(t)
	if _, err := s.wdb.ExecContext(ctx, `UPDATE schema_version SET version = ?`, schemaVersion+1); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s2, err := Open(path); err == nil {
		s2.Close()
		t.Fatal("Open of a database from a newer schema succeeded")
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(""); err == nil {
		t.Error("Open(\"\") succeeded")
	}
	// The parent "directory" is a regular file.
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(filepath.Join(file, "db")); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Open under a file: %v, want ErrUnavailable", err)
	}
	// A file that is not a database.
	junk := filepath.Join(t.TempDir(), "junk")
	if err := os.WriteFile(junk, []byte("this is not an SQLite database, not even close........................................................................"), 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(junk); err == nil {
		s.Close()
		t.Error("Open of a non-database succeeded")
	}
}

func TestOddPath(t *testing.T) {
	// '?' and '#' would end the file name in a plain DSN.
	path := filepath.Join(t.TempDir(), "a?b#c %20d", "db")
	s, err := Open(path)
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	defer s.Close()
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database not at the path given: %v", err)
	}
}

// TestTwoStoresOneFile covers a second process (an admin tool, a second
// server by mistake) writing the same file: SQLite's locks and the busy
// timeout serialize the two without errors or lost updates.
func TestTwoStoresOneFile(t *testing.T) {
	s1, path := openTemp(t)
	s2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	ctx := testContext(t)
	k := store.Key{Kind: store.KindVirtualNode, Mesh: "m", Name: "counter"}
	if err := s1.Write(ctx, func(tx store.Tx) error {
		return tx.Create(ctx, store.Record{Key: k, UID: "u", Version: 1}, nil)
	}); err != nil {
		t.Fatal(err)
	}
	const perStore = 25
	errs := make(chan error, 2*perStore)
	done := make(chan struct{})
	for _, s := range []*Store{s1, s2} {
		go func() {
			defer func() { done <- struct{}{} }()
			for range perStore {
				errs <- s.Write(ctx, func(tx store.Tx) error {
					r, err := tx.Get(ctx, k)
					if err != nil {
						return err
					}
					r.Version++
					return tx.Update(ctx, r, r.Version-1)
				})
			}
		}()
	}
	<-done
	<-done
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if err := s2.Read(ctx, func(tx store.Tx) error {
		r, err := tx.Get(ctx, k)
		if err == nil && r.Version != 2*perStore+1 {
			t.Errorf("Version = %d, want %d", r.Version, 2*perStore+1)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

func TestTxUnusableAfterReturn(t *testing.T) {
	s, _ := openTemp(t)
	ctx := testContext(t)
	var kept store.Tx
	if err := s.Write(ctx, func(tx store.Tx) error { kept = tx; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := kept.Get(ctx, store.Key{Kind: store.KindMesh, Mesh: "m", Name: "m"}); !errors.Is(err, errTxDone) {
		t.Errorf("Get on a finished Tx: %v, want errTxDone", err)
	}
	if err := kept.Create(ctx, store.Record{Key: store.Key{Kind: store.KindMesh, Mesh: "m", Name: "m"}, UID: "u"}, nil); !errors.Is(err, errTxDone) {
		t.Errorf("Create on a finished Tx: %v, want errTxDone", err)
	}
}

func TestMakeParents(t *testing.T) {
	root := t.TempDir()
	got, err := makeParents(filepath.Join(root, "a", "b", "db"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(root, "a", "b"), filepath.Join(root, "a"), root}
	if !slices.Equal(got, want) {
		t.Errorf("dirs to sync = %v, want %v", got, want)
	}
	if fi, err := os.Stat(filepath.Join(root, "a", "b")); err != nil || !fi.IsDir() {
		t.Errorf("directory not created: %v", err)
	}
	// Existing directory: only itself needs syncing.
	got, err = makeParents(filepath.Join(root, "a", "b", "db"))
	if err != nil || !slices.Equal(got, want[:1]) {
		t.Errorf("second call = %v, %v; want %v", got, err, want[:1])
	}
	if err := syncDirs(got); err != nil {
		t.Errorf("syncDirs: %v", err)
	}
}
