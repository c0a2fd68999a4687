package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Reconnect policy of a Changes listener whose connection failed.
const (
	listenRetryMin = 100 * time.Millisecond
	listenRetryMax = 10 * time.Second
)

// Changes returns a channel that receives a value soon after any Write — by
// this Store or by another replica on the same database — commits a change.
// Signals coalesce: the channel holds at most one, and one signal may stand
// for many commits. It also signals once each time its connection is
// (re)established, the first time included, since a change may have been
// committed while nobody was listening.
//
// A notification can still be missed (PostgreSQL drops them for a session
// that is gone), so watchers keep polling Revision as a safety net and use
// the channel to react sooner, not as the only trigger.
//
// Each call holds one connection of its own, outside the pool, for LISTEN.
// The channel is closed when ctx is done or the Store is closed.
func (s *Store) Changes(ctx context.Context) <-chan struct{} {
	ch := make(chan struct{}, 1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		close(ch)
		return ch
	}
	ctx, cancel := context.WithCancel(ctx)
	stopOnClose := context.AfterFunc(s.closing, cancel)
	s.listeners.Add(1)
	go func() {
		defer s.listeners.Done()
		defer close(ch)
		defer stopOnClose()
		defer cancel()
		s.listen(ctx, ch)
	}()
	return ch
}

// signal sends on ch unless a signal is already waiting there.
func signal(ch chan<- struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// listen connects, LISTENs and forwards notifications until ctx is done,
// reconnecting with jittered exponential backoff whenever the connection
// fails. Errors have nowhere to go: the watcher's Revision poll reports an
// outage.
func (s *Store) listen(ctx context.Context, ch chan<- struct{}) {
	failures := 0
	for ctx.Err() == nil {
		conn, err := s.listenConn(ctx)
		if err == nil {
			failures = 0
			signal(ch)
			_ = s.forward(ctx, conn, ch)
			closeConn(conn)
			if ctx.Err() != nil {
				return
			}
		}
		failures++
		if sleep(ctx, jitter(listenRetryMin, listenRetryMax, failures)) != nil {
			return
		}
	}
}

// listenConn opens the dedicated connection and subscribes.
func (s *Store) listenConn(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, s.listenConfig.Copy())
	if err != nil {
		return nil, fail(ctx, "listen: connect", err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		closeConn(conn)
		return nil, fail(ctx, "listen", err)
	}
	return conn, nil
}

// forward waits for notifications and signals each one. After listenIdle
// of silence it pings the server: a connection can die without a word (a
// host gone, a network partition), and only a round trip finds out.
func (s *Store) forward(ctx context.Context, conn *pgx.Conn, ch chan<- struct{}) error {
	for {
		wait, cancel := context.WithTimeout(ctx, s.listenIdle)
		_, err := conn.WaitForNotification(wait)
		cancel()
		switch {
		case err == nil:
			signal(ch)
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, context.DeadlineExceeded):
			// Only the wait timed out; the connection stays usable.
			ping, cancel := context.WithTimeout(ctx, cleanupTimeout)
			err := conn.Ping(ping)
			cancel()
			if err != nil {
				return fmt.Errorf("store/postgres: listen: ping: %w", err)
			}
		default:
			return fmt.Errorf("store/postgres: listen: %w", err)
		}
	}
}

func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	_ = conn.Close(ctx)
}
