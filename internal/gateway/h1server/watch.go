package h1server

import (
	"sync"
	"time"

	"github.com/meshgate/meshgate/internal/gateway/reqctx"
)

// watchDelay is how long a request runs before its connection is watched
// for the client going away. net/http watches from the start of every
// request, with a read per request; most requests are answered within
// this delay, so the watch's read (and its goroutine) is only paid by the
// slow ones, whose cancellation comes watchDelay later at most. It is
// well above the gateway's own queueing under load: with 2 ms, a
// saturated gateway (p50 4-5 ms) watched most requests, and served 10 %
// fewer of them than with 100 ms (docs/performance.md).
const watchDelay = 50 * time.Millisecond

// watch notices a client that closes its connection while the handler
// runs, and cancels the request's context, as net/http's background read
// does. It reads one byte at most: a pipelined request's first byte is
// kept for the next read.
//
// Its timer belongs to the connection, not to a request: a request arms
// the watch without touching the timer when it is already set, and the
// timer, when it fires early for the request then running, sets itself
// for the rest of that request's delay. A busy connection's timer fires
// at most once per watchDelay, where resetting and stopping it for each
// request added and removed a timer in the runtime's heap every time.
type watch struct {
	c       *conn
	mu      sync.Mutex
	state   watchState
	timer   *time.Timer
	pending bool        // the timer is set
	req     *reqctx.Ctx // the request's context, ended when the client goes; watched from watchDelay after its Start
	done    chan struct{}
	gone    bool // the client closed (or the read failed): don't reuse
}

type watchState uint8

const (
	watchOff watchState = iota
	watchArmed
	watchReading
	watchStopped // the handler returned: arming is a no-op until the next request
)

// reset prepares the watch for a request whose context is req.
func (w *watch) reset(req *reqctx.Ctx) {
	w.mu.Lock()
	w.req, w.state, w.gone = req, watchOff, false
	w.mu.Unlock()
}

// arm starts the watch, watchDelay after the request started, once the
// request's body has been read (a read of the connection would take the
// body's bytes).
func (w *watch) arm() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.state != watchOff {
		return
	}
	w.state = watchArmed
	if w.pending {
		return // it fires within watchDelay, and waits for the rest then
	}
	w.pending = true
	if w.timer == nil {
		w.timer = time.AfterFunc(watchDelay, w.read)
	} else {
		w.timer.Reset(watchDelay)
	}
}

// read waits for the client on the timer's goroutine.
func (w *watch) read() {
	w.mu.Lock()
	w.pending = false
	if w.state != watchArmed {
		w.mu.Unlock()
		return // the request it was set for is done; the next arms it
	}
	if left := watchDelay - time.Since(w.req.Start()); left > 0 {
		w.pending = true
		w.timer.Reset(left)
		w.mu.Unlock()
		return
	}
	w.state = watchReading
	if w.done == nil {
		w.done = make(chan struct{}, 1)
	}
	w.mu.Unlock()
	c := w.c
	n, err := c.rwc.Read(c.stash[:])
	w.mu.Lock()
	if n > 0 {
		c.hasStash = true
	} else if err != nil && w.state == watchReading {
		w.gone = true
		w.req.Cancel(nil)
	}
	w.mu.Unlock()
	w.done <- struct{}{}
}

// stop ends the watch when the handler returns, waiting for a read in
// progress to give up.
func (w *watch) stop() {
	w.mu.Lock()
	switch w.state {
	case watchReading:
		w.state = watchStopped
		w.mu.Unlock()
		w.c.rwc.SetReadDeadline(aLongTimeAgo)
		<-w.done
		w.c.rwc.SetReadDeadline(time.Time{})
		return
	}
	w.state = watchStopped
	w.mu.Unlock()
}
