package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/meshgate/meshgate/internal/store"
)

// Retry policy for writes that lose a serialization race. Every write that
// changes something also updates the revision row, so two concurrent
// changing writes always conflict and one of them runs again; the budget
// is sized for a burst of writers on one hot row, and the jitter spreads
// the losers out so they do not collide again in lockstep.
const (
	maxWriteAttempts = 30
	retryBaseDelay   = time.Millisecond
	retryMaxDelay    = 50 * time.Millisecond
)

// notifyChannel is the LISTEN/NOTIFY channel committed changes are
// announced on; Changes listens to it.
const notifyChannel = "meshgate_changes"

// bumpRevision increments the revision and queues the notification in one
// round trip. PostgreSQL delivers a NOTIFY only when its transaction
// commits, and the payload is the revision the commit made visible.
const bumpRevision = `WITH bumped AS (
	UPDATE meta SET revision = revision + 1 WHERE id = 1 RETURNING revision
)
SELECT pg_notify('` + notifyChannel + `', revision::text) FROM bumped`

// Write runs fn in one SERIALIZABLE transaction. When PostgreSQL aborts the
// transaction because a concurrent one won (serialization failure or
// deadlock, at any statement or at commit), Write rolls back and runs fn
// again on a fresh snapshot, up to maxWriteAttempts times with a short
// jittered pause; fn only touches the database through its Tx, so running
// it again is safe. An error fn returns is returned unchanged and never
// retried — unless a statement fn ran had already lost such a race: then
// the transaction was aborted under fn, what fn decided from it is void, and
// the attempt is retried like any other lost race. Running out of attempts
// wraps store.ErrUnavailable. A Write called from inside fn is a separate
// transaction on another pooled connection: it waits for rows the outer one
// has written, until its context ends.
func (s *Store) Write(ctx context.Context, fn func(store.Tx) error) error {
	for attempt := 1; ; attempt++ {
		again, err := s.writeOnce(ctx, fn)
		if !again {
			return err
		}
		if attempt == maxWriteAttempts {
			return fmt.Errorf("store/postgres: write: still losing to concurrent writes after %d attempts: %w", attempt, err)
		}
		s.retries.Add(1)
		if err := sleep(ctx, jitter(retryBaseDelay, retryMaxDelay, attempt)); err != nil {
			return fmt.Errorf("store/postgres: write: waiting to retry: %w", err)
		}
	}
}

// writeOnce makes one attempt; again reports that it lost a race (or
// found a dead pooled connection before anything ran) and Write should run
// fn again. err is then why, for when the attempts run out.
func (s *Store) writeOnce(ctx context.Context, fn func(store.Tx) error) (again bool, err error) {
	pgTx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.Serializable})
	if err != nil {
		// A pooled connection the server closed while it sat idle fails
		// here without having sent anything; another one may be fine.
		return ctx.Err() == nil && pgconn.SafeToRetry(err), fail(ctx, "begin write", err)
	}
	t := &tx{pgTx: pgTx, writable: true}
	committed := false
	// Deferred, so a panic in fn also rolls back and returns the
	// connection to the pool before the panic goes on up.
	defer func() {
		t.finish()
		if !committed {
			rollback(pgTx)
		}
	}()

	fnErr := fn(t)
	t.finish()
	if lost := t.lostRace(); lost != nil {
		if ctx.Err() != nil {
			return false, fail(ctx, "write", ctx.Err())
		}
		return true, fail(ctx, "write", lost)
	}
	if fnErr != nil {
		return false, fnErr
	}
	// fn may have succeeded on statements that ran before the context
	// ended; the caller has given up, so nothing is committed.
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("store/postgres: write: %w", err)
	}
	if t.changed.Load() {
		tag, err := pgTx.Exec(ctx, bumpRevision)
		if err != nil {
			return lostRace(err) && ctx.Err() == nil, fail(ctx, "bump revision", err)
		}
		if tag.RowsAffected() != 1 {
			// Watchers would never hear of this write: refuse it.
			return false, fmt.Errorf("store/postgres: bump revision: the meta row is missing: %w", store.ErrUnavailable)
		}
	}
	if err := pgTx.Commit(ctx); err != nil {
		// Under SERIALIZABLE the conflict may only show at commit. Any
		// other commit error leaves the outcome unknown (the connection
		// may have dropped after the server committed), so it is not
		// retried: fn would run against its own committed result.
		return lostRace(err) && ctx.Err() == nil, fail(ctx, "commit", err)
	}
	committed = true
	return false, nil
}

// jitter returns a random pause for the given retry: "full jitter" over an
// exponentially growing window, capped.
func jitter(base, limit time.Duration, attempt int) time.Duration {
	window := limit
	if attempt < 30 {
		window = min(limit, base<<attempt)
	}
	return time.Duration(rand.Int64N(int64(window))) + 1
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
