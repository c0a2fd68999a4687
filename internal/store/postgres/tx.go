package postgres

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/meshgate/meshgate/internal/store"
)

var _ store.Tx = (*tx)(nil)

// tx is the store.Tx handed to Read and Write callbacks.
type tx struct {
	pgTx     pgx.Tx
	writable bool

	// mu serializes statements: a pgx connection runs one at a time, and fn
	// may share the Tx between goroutines. It also guards lost.
	mu sync.Mutex
	// lost is the first error that showed this transaction lost a
	// serialization race. PostgreSQL has aborted the transaction by then,
	// so whatever fn concluded afterwards is void and Write runs fn again.
	lost error

	// changed records that some statement modified a row, so Write bumps
	// the revision exactly when watchers have something to reload.
	changed atomic.Bool
	// done is set once Read or Write is finishing; fn may have kept the Tx.
	done atomic.Bool
}

// finish marks the Tx done, waiting for a statement another goroutine of fn
// may still be running, so the connection is free for commit or rollback.
func (t *tx) finish() {
	t.mu.Lock()
	t.done.Store(true)
	t.mu.Unlock()
}

// lostRace returns the error that aborted the transaction in a lost
// serialization race, or nil.
func (t *tx) lostRace() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.lost
}

// usable reports why the Tx cannot run a statement, if it cannot.
func (t *tx) usable() error {
	if t.done.Load() {
		return errTxDone
	}
	return nil
}

// writeable is usable plus the read-only check, for the write methods.
// PostgreSQL would refuse the statement too (READ ONLY), but only after
// aborting the whole read transaction.
func (t *tx) writeable() error {
	if err := t.usable(); err != nil {
		return err
	}
	if !t.writable {
		return errReadOnly
	}
	return nil
}

// failed wraps a statement's error and notes a lost race. The caller holds mu.
func (t *tx) failed(ctx context.Context, op string, err error) error {
	if lostRace(err) && t.lost == nil {
		t.lost = err
	}
	return fail(ctx, op, err)
}

// exec runs a statement that returns no rows.
func (t *tx) exec(ctx context.Context, op, sql string, args ...any) (pgconn.CommandTag, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done.Load() {
		return pgconn.CommandTag{}, errTxDone
	}
	tag, err := t.pgTx.Exec(ctx, sql, args...)
	if err != nil {
		return tag, t.failed(ctx, op, err)
	}
	if tag.RowsAffected() > 0 && (tag.Insert() || tag.Update() || tag.Delete()) {
		t.changed.Store(true)
	}
	return tag, nil
}

// queryRow scans the one row a query returns into dest; found is false
// when it returns none.
func (t *tx) queryRow(ctx context.Context, op, sql string, args []any, dest ...any) (found bool, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done.Load() {
		return false, errTxDone
	}
	err = t.pgTx.QueryRow(ctx, sql, args...).Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, t.failed(ctx, op, err)
	}
	return true, nil
}

// query runs a query and calls scan for each row, holding the connection
// until the rows are read.
func (t *tx) query(ctx context.Context, op, sql string, args []any, scan func(pgx.Rows) error) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done.Load() {
		return errTxDone
	}
	rows, err := t.pgTx.Query(ctx, sql, args...)
	if err != nil {
		return t.failed(ctx, op, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			rows.Close()
			return t.failed(ctx, op, err)
		}
	}
	if err := rows.Err(); err != nil {
		return t.failed(ctx, op, err)
	}
	return nil
}
