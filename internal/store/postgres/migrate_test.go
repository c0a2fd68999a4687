package postgres

import (
	"errors"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/meshgate/meshgate/internal/store"
)

// TestMigrateConcurrently starts four replicas at once on one empty
// database: all open, the schema is created once, and each can write.
func TestMigrateConcurrently(t *testing.T) {
	dsn := newDatabase(t)
	ctx := testContext(t)
	const replicas = 4
	stores := make([]*Store, replicas)
	errs := make([]error, replicas)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Go(func() {
			<-start
			stores[i], errs[i] = Open(ctx, dsn)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("replica %d: Open: %v", i, err)
		}
		t.Cleanup(func() { _ = stores[i].Close() })
	}
	for i, s := range stores {
		mustCreate(t, s, record(nodeKey("m", string(rune('a'+i)))))
	}

	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var version, versionRows, metaRows int
	var rev int64
	if err := conn.QueryRow(ctx, `SELECT max(version), count(*) FROM schema_version`).Scan(&version, &versionRows); err != nil {
		t.Fatal(err)
	}
	if version != schemaVersion || versionRows != 1 {
		t.Errorf("schema_version: version %d in %d rows, want %d in 1", version, versionRows, schemaVersion)
	}
	if err := conn.QueryRow(ctx, `SELECT max(revision), count(*) FROM meta`).Scan(&rev, &metaRows); err != nil {
		t.Fatal(err)
	}
	if rev != replicas || metaRows != 1 {
		t.Errorf("meta: revision %d in %d rows, want %d in 1", rev, metaRows, replicas)
	}
}

// TestReopenKeepsData: opening a migrated database migrates nothing and
// loses nothing.
func TestReopenKeepsData(t *testing.T) {
	dsn := newDatabase(t)
	first := openStore(t, dsn)
	r := record(nodeKey("m", "kept"))
	mustCreate(t, first, r)
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	second := openStore(t, dsn)
	if !exists(t, second, r.Key) {
		t.Fatalf("%v lost across reopen", r.Key)
	}
	if rev, err := second.Revision(testContext(t)); err != nil || rev != 1 {
		t.Errorf("Revision = %d, %v; want 1", rev, err)
	}
}

// TestRefusesNewerSchema: a database migrated by a newer binary is not
// opened, and the refusal is not an outage to retry.
func TestRefusesNewerSchema(t *testing.T) {
	dsn := newDatabase(t)
	s := openStore(t, dsn)
	ctx := testContext(t)
	if _, err := s.pool.Exec(ctx, `UPDATE schema_version SET version = version + 1`); err != nil {
		t.Fatal(err)
	}
	_, err := Open(ctx, dsn)
	if err == nil || errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Open of a newer schema: %v, want a refusal that is not ErrUnavailable", err)
	}
	t.Log(err)
}
