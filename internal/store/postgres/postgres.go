package postgres

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/meshgate/meshgate/internal/store"
)

var _ store.Store = (*Store)(nil)

const (
	// defaultConnectTimeout bounds each connection attempt when the DSN
	// sets no connect_timeout, so an unreachable server answers
	// ErrUnavailable in seconds instead of after the kernel's TCP timeout
	// (minutes), whatever deadline the caller's context has.
	defaultConnectTimeout = 10 * time.Second
	// cleanupTimeout bounds a rollback or close that runs after the
	// caller's context may already be done.
	cleanupTimeout = 5 * time.Second
)

// Store is a store.Store kept in a PostgreSQL database.
type Store struct {
	pool *pgxpool.Pool
	// listenConfig is what Changes connects with: the pool's settings, on a
	// connection of its own, since LISTEN is per session.
	listenConfig *pgx.ConnConfig
	// retries counts attempts Write ran again after a lost race, for
	// tests (and, later, a metric).
	retries atomic.Int64
	// listenIdle is how long a Changes connection waits in silence before
	// it pings the server, to notice a connection that died quietly.
	listenIdle time.Duration

	// closing is canceled by Close, which then waits for the Changes
	// goroutines to end. mu orders Changes' listeners.Add before that wait.
	closing   context.Context
	stop      context.CancelFunc
	mu        sync.Mutex
	closed    bool
	listeners sync.WaitGroup

	closeOnce sync.Once
}

// Open connects to the database dsn names — a postgres:// or postgresql://
// URL or a keyword=value string, as libpq and pgx accept, including
// pgxpool's pool_* settings — and migrates its schema to the current
// version. It fails with an error wrapping store.ErrUnavailable when the
// server cannot be reached; ctx bounds the whole of it.
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's parse errors redact the password.
		return nil, fmt.Errorf("store/postgres: open: %w", err)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = defaultConnectTimeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store/postgres: open: %w", err)
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("store/postgres: open %s: %w", where(cfg.ConnConfig), err)
	}
	closing, stop := context.WithCancel(context.Background())
	return &Store{
		pool:         pool,
		listenConfig: cfg.ConnConfig.Copy(),
		listenIdle:   30 * time.Second,
		closing:      closing,
		stop:         stop,
	}, nil
}

// where names the server and database for error messages, without the
// credentials a DSN may carry.
func where(c *pgx.ConnConfig) string {
	return fmt.Sprintf("database %q on %s:%d", c.Database, c.Host, c.Port)
}

// Read runs fn in a REPEATABLE READ READ ONLY transaction: one snapshot,
// taken at its first statement, for the whole of fn however many writes
// commit meanwhile. Read-only snapshot transactions never fail to
// serialize, so Read runs fn once.
func (s *Store) Read(ctx context.Context, fn func(store.Tx) error) error {
	pgTx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fail(ctx, "begin read", err)
	}
	t := &tx{pgTx: pgTx}
	defer func() {
		t.finish()
		// Rolling back is how a read transaction ends; nothing is lost.
		rollback(pgTx)
	}()
	return fn(t)
}

// Revision returns the count of committed writes that changed something.
func (s *Store) Revision(ctx context.Context) (int64, error) {
	var rev int64
	if err := s.pool.QueryRow(ctx, `SELECT revision FROM meta WHERE id = 1`).Scan(&rev); err != nil {
		return 0, fail(ctx, "read revision", err)
	}
	return rev, nil
}

// Close stops the Changes listeners and closes the pool, waiting for
// connections in use to be returned. Later calls do nothing.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.stop()
		s.listeners.Wait()
		s.pool.Close()
	})
	return nil
}

// rollback ends a transaction that is not to be committed. It runs on its
// own context: the caller's may be what ended the transaction, and a
// connection left inside a transaction must not go back to the pool (pgx
// closes it when the rollback fails).
func rollback(pgTx pgx.Tx) {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	// An error has nowhere to go: the caller already has its answer, and
	// pgx has discarded the connection.
	_ = pgTx.Rollback(ctx)
}
