package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/meshgate/meshgate/internal/store"
)

var _ store.Store = (*Store)(nil)

// Store is a store.Store kept in one SQLite database file.
type Store struct {
	// wdb holds the one connection every Write runs on; see doc.go.
	wdb *sql.DB
	// rdb holds the query-only connections Read and Revision use.
	rdb *sql.DB

	closeOnce sync.Once
	closeErr  error
}

// Open opens (creating if needed) the database at path, and its parent
// directory, and migrates its schema to the current version.
func Open(path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("store/sqlite: open: empty path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store/sqlite: open %q: %w", path, err)
	}
	dirs, err := makeParents(abs)
	if err != nil {
		return nil, fmt.Errorf("store/sqlite: open %q: create directory: %w: %w", path, store.ErrUnavailable, err)
	}
	ctx := context.Background()

	wdb, err := sql.Open("sqlite", dsn(abs, true))
	if err != nil {
		return nil, fmt.Errorf("store/sqlite: open %q: %w", path, err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	wdb.SetConnMaxIdleTime(0)
	if err := checkPragmas(ctx, wdb); err != nil {
		_ = wdb.Close()
		return nil, fmt.Errorf("store/sqlite: open %q: %w", path, err)
	}
	if err := migrate(ctx, wdb); err != nil {
		_ = wdb.Close()
		return nil, fmt.Errorf("store/sqlite: open %q: %w", path, err)
	}
	if err := syncDirs(dirs); err != nil {
		_ = wdb.Close()
		return nil, fmt.Errorf("store/sqlite: open %q: %w: %w", path, store.ErrUnavailable, err)
	}

	rdb, err := sql.Open("sqlite", dsn(abs, false))
	if err != nil {
		_ = wdb.Close()
		return nil, fmt.Errorf("store/sqlite: open %q: %w", path, err)
	}
	// WAL readers do not block each other or the writer, so allow about
	// one per CPU and keep them open: opening a connection reparses the
	// schema.
	readers := max(4, runtime.GOMAXPROCS(0))
	rdb.SetMaxOpenConns(readers)
	rdb.SetMaxIdleConns(readers)
	rdb.SetConnMaxLifetime(0)
	rdb.SetConnMaxIdleTime(0)
	if err := rdb.PingContext(ctx); err != nil {
		_ = rdb.Close()
		_ = wdb.Close()
		return nil, fmt.Errorf("store/sqlite: open %q: %w", path, fail(ctx, "open reader", err))
	}
	return &Store{wdb: wdb, rdb: rdb}, nil
}

// checkPragmas verifies the settings durability rests on actually took:
// SQLite silently keeps its old journal mode when it cannot switch (on a
// file system without shared memory, say), and the DSN is applied per
// connection without reporting results.
func checkPragmas(ctx context.Context, db *sql.DB) error {
	var mode string
	if err := db.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
		return fail(ctx, "read journal_mode", err)
	}
	if mode != "wal" {
		return fmt.Errorf("store/sqlite: journal_mode is %q, want wal", mode)
	}
	var sync, fk int
	if err := db.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&sync); err != nil {
		return fail(ctx, "read synchronous", err)
	}
	if sync != 2 { // FULL
		return fmt.Errorf("store/sqlite: synchronous is %d, want 2 (FULL)", sync)
	}
	if err := db.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk); err != nil {
		return fail(ctx, "read foreign_keys", err)
	}
	if fk != 1 {
		return errors.New("store/sqlite: foreign keys are off")
	}
	return nil
}

// Read runs fn in a read transaction. The snapshot is taken at its first
// statement and holds until fn returns, however many writes commit meanwhile.
func (s *Store) Read(ctx context.Context, fn func(store.Tx) error) error {
	sqlTx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fail(ctx, "begin read", err)
	}
	t := &tx{sqlTx: sqlTx}
	defer func() {
		t.finish()
		// Rolling back is how a read transaction ends; nothing is lost.
		_ = sqlTx.Rollback()
	}()
	return fn(t)
}

// Write runs fn in a write transaction on the single write connection.
// Calling Write from inside fn deadlocks until ctx ends: the connection is
// taken.
func (s *Store) Write(ctx context.Context, fn func(store.Tx) error) error {
	sqlTx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return fail(ctx, "begin write", err)
	}
	t := &tx{sqlTx: sqlTx, writable: true}
	committed := false
	// Deferred, so a panic in fn also rolls back and frees the write
	// connection before the panic goes on up.
	defer func() {
		t.finish()
		if !committed {
			_ = sqlTx.Rollback()
		}
	}()
	if err := fn(t); err != nil {
		return err
	}
	if t.changed.Load() {
		if _, err := sqlTx.ExecContext(ctx, `UPDATE meta SET revision = revision + 1 WHERE id = 1`); err != nil {
			return fail(ctx, "bump revision", err)
		}
	}
	if err := sqlTx.Commit(); err != nil {
		return fail(ctx, "commit", err)
	}
	committed = true
	return nil
}

// Revision returns the count of committed writes that changed something.
func (s *Store) Revision(ctx context.Context) (int64, error) {
	var rev int64
	if err := s.rdb.QueryRowContext(ctx, `SELECT revision FROM meta WHERE id = 1`).Scan(&rev); err != nil {
		return 0, fail(ctx, "read revision", err)
	}
	return rev, nil
}

// Close closes the database. Later calls return the first call's result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		// Readers first: the last connection to close checkpoints the WAL
		// into the main file, and that should be the writer.
		rerr := s.rdb.Close()
		werr := s.wdb.Close()
		if err := errors.Join(rerr, werr); err != nil {
			s.closeErr = fmt.Errorf("store/sqlite: close: %w: %w", store.ErrUnavailable, err)
		}
	})
	return s.closeErr
}
