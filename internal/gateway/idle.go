package gateway

import (
	"errors"
	"io"
	"sync/atomic"
	"time"
)

// errStreamIdle ends a request whose route's idle timeout passed with
// nothing happening on its stream (context.Cause of its context).
var errStreamIdle = errors.New("stream idle timeout")

// idleTimer is a route's idle timeout (App Mesh's timeout.idle, Envoy's
// route idle_timeout) for one request: fire runs once nothing has happened
// on the stream for d. Each event (the client's body, the response's
// head and body, an upgraded connection's bytes either way) touches it.
// An event stores the time only; the timer, when it runs out, looks at
// the last event and waits again for the rest, so events cost no timer
// operation.
type idleTimer struct {
	d    time.Duration
	last atomic.Int64 // nanoseconds since idleEpoch of the last event
	done atomic.Bool
	t    *time.Timer
	fire func()
}

var idleEpoch = time.Now()

func idleNow() int64 { return int64(time.Since(idleEpoch)) }

func startIdle(d time.Duration, fire func()) *idleTimer {
	it := &idleTimer{d: d, fire: fire}
	it.last.Store(idleNow())
	it.t = time.AfterFunc(d, it.check)
	return it
}

// touch records an event; a nil timer is a route without idle timeout.
func (it *idleTimer) touch() {
	if it != nil {
		it.last.Store(idleNow())
	}
}

func (it *idleTimer) check() {
	if it.done.Load() {
		return
	}
	if idle := time.Duration(idleNow() - it.last.Load()); idle < it.d {
		it.t.Reset(it.d - idle)
		return
	}
	it.fire()
}

// stop ends the timer with the request.
func (it *idleTimer) stop() {
	it.done.Store(true)
	it.t.Stop()
}

// idleReader touches the timer at every read that brings bytes.
type idleReader struct {
	r  io.Reader
	it *idleTimer
}

func (r idleReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		r.it.touch()
	}
	return n, err
}
