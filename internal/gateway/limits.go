package gateway

import (
	"context"
	"sync/atomic"

	"github.com/meshgate/meshgate/internal/ir"
)

// limiter is a listener's connection pool applied as Envoy's circuit
// breakers: at most max requests in flight; for HTTP/1 listeners up to
// maxPending more wait for a slot; anything beyond fails at once (503 with
// x-envoy-overloaded), as App Mesh's gateway did on its self-redirect
// cluster.
type limiter struct {
	max        int64
	maxPending int64 // < 0 = unbounded
	active     atomic.Int64
	pending    atomic.Int64
	slots      chan struct{} // nil when unlimited
}

// newLimiter returns nil (no limit) when the listener has no connection pool.
func newLimiter(l *ir.ConnectionLimits, protocol ir.Protocol) *limiter {
	if l == nil {
		return nil
	}
	lim := &limiter{maxPending: 0}
	switch protocol {
	case ir.HTTP:
		lim.max = int64(l.MaxConnections)
		lim.maxPending = -1 // App Mesh's default maxPendingRequests is 2147483647
		if l.MaxPendingRequests > 0 {
			lim.maxPending = int64(l.MaxPendingRequests)
		}
	default:
		lim.max = int64(l.MaxRequests)
	}
	if lim.max <= 0 {
		return nil
	}
	lim.slots = make(chan struct{}, lim.max)
	return lim
}

// acquire takes a slot, waiting as a pending request when allowed. It
// returns false on overflow or when ctx ends while waiting.
func (l *limiter) acquire(ctx context.Context) bool {
	if l == nil {
		return true
	}
	select {
	case l.slots <- struct{}{}:
		l.active.Add(1)
		return true
	default:
	}
	if l.maxPending == 0 {
		return false
	}
	if n := l.pending.Add(1); l.maxPending > 0 && n > l.maxPending {
		l.pending.Add(-1)
		return false
	}
	defer l.pending.Add(-1)
	select {
	case l.slots <- struct{}{}:
		l.active.Add(1)
		return true
	case <-ctx.Done():
		return false
	}
}

func (l *limiter) release() {
	if l == nil {
		return
	}
	l.active.Add(-1)
	<-l.slots
}
