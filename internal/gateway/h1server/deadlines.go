package h1server

import (
	"time"
)

// The timeouts of a connection's waiting phases: the wait for a request
// (IdleTimeout) and the reading of its head (ReadHeaderTimeout).
//
// As read deadlines on the socket they were three deadline changes a
// request (the idle one, the header one, none while the handler runs),
// each a timer added to or removed from the runtime's heap: about 1.1 µs
// of a request's 26 µs of CPU (docs/performance.md). Here a connection
// notes the deadline of its phase in one word, and a sweeper, one per
// server and running only while it has connections, ends the phases that
// overrun: it takes the word with a compare-and-swap, then interrupts the
// read with a read deadline in the past. The connection takes the word
// the same way when it leaves a phase, so a read is never interrupted
// after its phase is over: a connection that loses that race takes the
// phase for timed out, as a read deadline would have.
//
// A timeout ends late by up to one sweep period: an eighth of the
// shorter timeout, between 5 ms and 500 ms.
//
// The sweeper also arms the route timeouts of the requests it finds
// running (reqctx's DeferTimeouts): a request that ends within two
// periods, nearly every one, never has a timer. Those timeouts fire at
// their deadline, as a timer set at once would.

// phaseOverrun is the phase word once the sweeper has ended the phase.
const phaseOverrun = -1

// epoch is what phase deadlines count from: monotonic time, as socket
// deadlines, so that a step of the wall clock moves no timeout.
var epoch = time.Now()

// enterPhase starts a waiting phase that ends d after now (no deadline
// when d <= 0); false when the previous phase overran.
func (c *conn) enterPhase(now time.Time, d time.Duration) bool {
	old := c.phase.Load()
	if old == phaseOverrun {
		return false
	}
	var deadline int64
	if d > 0 {
		deadline = int64(now.Add(d).Sub(epoch)) // > 0: now is after epoch
	}
	return c.phase.CompareAndSwap(old, deadline)
}

// leavePhase ends the waiting phase: the handler runs without a read
// deadline. False when the phase overran (the connection must close).
func (c *conn) leavePhase() bool {
	old := c.phase.Load()
	return old != phaseOverrun && c.phase.CompareAndSwap(old, 0)
}

// sweepPeriod is how often the sweeper looks, from the server's
// timeouts; 0 when there is none to enforce.
func (s *Server) sweepPeriod() time.Duration {
	d := s.ReadHeaderTimeout
	if i := s.IdleTimeout; i > 0 && (d <= 0 || i < d) {
		d = i
	}
	if d <= 0 {
		return 0
	}
	return min(max(d/8, 5*time.Millisecond), 500*time.Millisecond)
}

// sweep ends the overrun phases, and arms the route timeouts of the
// requests it finds running (reqctx's DeferTimeouts); the server's
// connection set calls it every sweepPeriod while it has connections.
func sweep(conns []*conn) {
	now := int64(time.Since(epoch))
	for _, c := range conns {
		if d := c.phase.Load(); d > 0 && now >= d && c.phase.CompareAndSwap(d, phaseOverrun) {
			c.rwc.SetReadDeadline(aLongTimeAgo)
		}
		if rc := c.req.Load(); rc != nil {
			rc.Arm()
		}
	}
}
