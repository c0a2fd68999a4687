package upstream

import (
	"sync"
	"time"
)

// drainable is something taken out of service that may still carry
// requests: a removed cluster, or an endpoint DNS no longer returns.
type drainable interface {
	closeIdle() // close pooled connections that carry nothing
	idle() bool // nothing open, nothing being opened
	close()     // close everything now
}

// drainer closes retired clusters and endpoints once their in-flight
// requests are done, or at DrainTimeout. Polling the pools costs nothing
// on the request path; a per-request in-flight counter would.
type drainer struct {
	timeout time.Duration
	poll    time.Duration

	mu     sync.Mutex
	items  []drainItem
	closed bool
	wake   chan struct{}
	stop   chan struct{}
	done   chan struct{}
}

type drainItem struct {
	d        drainable
	deadline time.Time
}

func newDrainer(timeout time.Duration) *drainer {
	d := &drainer{
		timeout: timeout,
		poll:    min(max(timeout/4, 10*time.Millisecond), time.Second),
		wake:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	go d.loop()
	return d
}

// add hands x to the drainer. The first check waits one poll, so a
// request that picked x just before it was retired can still connect.
func (d *drainer) add(x drainable) {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		x.close()
		return
	}
	d.items = append(d.items, drainItem{d: x, deadline: time.Now().Add(d.timeout)})
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *drainer) loop() {
	defer close(d.done)
	t := time.NewTicker(d.poll)
	defer t.Stop()
	for {
		d.mu.Lock()
		empty := len(d.items) == 0
		d.mu.Unlock()
		if empty {
			select {
			case <-d.stop:
				return
			case <-d.wake:
				t.Reset(d.poll)
				continue
			}
		}
		select {
		case <-d.stop:
			return
		case <-d.wake:
		case now := <-t.C:
			d.sweep(now)
		}
	}
}

func (d *drainer) sweep(now time.Time) {
	d.mu.Lock()
	items := d.items
	d.items = nil
	d.mu.Unlock()
	var keep []drainItem
	for _, it := range items {
		it.d.closeIdle()
		if it.d.idle() || now.After(it.deadline) {
			it.d.close()
			continue
		}
		keep = append(keep, it)
	}
	d.mu.Lock()
	d.items = append(keep, d.items...)
	d.mu.Unlock()
}

// close stops the drainer and closes whatever it still holds.
func (d *drainer) close() {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	d.closed = true
	d.mu.Unlock()
	close(d.stop)
	<-d.done
	d.mu.Lock()
	items := d.items
	d.items = nil
	d.mu.Unlock()
	for _, it := range items {
		it.d.close()
	}
}
