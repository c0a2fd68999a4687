package h1server

import (
	"context"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshgate/meshgate/internal/gateway/reqctx"
)

// TestPhaseHandOver: a connection's phases and a sweeper racing to end
// them agree on every phase: the connection leaves it (or enters the
// next) exactly when the sweeper did not take it, so a read is never
// interrupted after its phase is over. A connection that loses a phase
// closes: the test goes on with a new one.
func TestPhaseHandOver(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("the race needs two Ps")
	}
	var cur atomic.Pointer[conn]
	cur.Store(&conn{})
	taken := map[int64]bool{}
	var mu sync.Mutex
	var stop atomic.Bool
	done := make(chan struct{})
	go func() { // the sweeper's step, every deadline already past
		defer close(done)
		for !stop.Load() {
			c := cur.Load()
			if d := c.phase.Load(); d > 0 && c.phase.CompareAndSwap(d, phaseOverrun) {
				mu.Lock()
				taken[d] = true
				mu.Unlock()
			}
		}
	}()
	base := epoch
	left, lost := map[int64]bool{}, map[int64]bool{}
	giveUp := time.Now().Add(5 * time.Second)
	for i := 0; i < 20000 || len(lost) == 0 && time.Now().Before(giveUp); i++ {
		c := cur.Load()
		now := base.Add(time.Duration(i) * time.Second)
		d := int64(now.Add(time.Millisecond).Sub(epoch))
		switch {
		case !c.enterPhase(now, time.Millisecond):
			cur.Store(&conn{}) // the previous phase overran: closed
		case c.leavePhase():
			left[d] = true
		default:
			lost[d] = true
			cur.Store(&conn{})
		}
	}
	stop.Store(true)
	<-done
	for d := range lost {
		if !taken[d] {
			t.Fatalf("phase %d: the connection lost it, the sweeper did not take it", d)
		}
	}
	for d := range left {
		if taken[d] {
			t.Fatalf("phase %d: left by the connection and taken by the sweeper", d)
		}
	}
	if len(left) == 0 || len(lost) == 0 {
		t.Fatalf("no race: %d phases left, %d lost", len(left), len(lost))
	}
}

// TestSweeperComesAndGoes: the sweeper runs while the server has
// connections, stops after the last one, and starts again with the next:
// whose header timeout it still enforces.
func TestSweeperComesAndGoes(t *testing.T) {
	s := &Server{Handler: http.HandlerFunc(okHandler), ReadHeaderTimeout: 200 * time.Millisecond, IdleTimeout: time.Second}
	ts := startServer(t, s)
	sweeping := s.conns.Sweeping
	cl := dialClient(t, ts.addr)
	cl.write("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	if resp, body := cl.response("GET", 2*time.Second); resp.StatusCode != 200 || body != "ok" {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
	if !sweeping() {
		t.Fatal("no sweeper with a connection open")
	}
	cl.c.Close()
	deadline := time.Now().Add(3 * time.Second)
	for sweeping() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if sweeping() {
		t.Fatal("the sweeper still runs without connections")
	}
	cl = dialClient(t, ts.addr)
	cl.write("GET / HTTP/1.1\r\n") // and nothing more
	for s.conns.Len() == 0 && time.Now().Before(deadline.Add(time.Second)) {
		time.Sleep(time.Millisecond)
	}
	if !sweeping() {
		t.Fatal("no sweeper for the new connection")
	}
	if took := cl.expectClosed(3 * time.Second); took < 150*time.Millisecond { // from the connection's start
		t.Fatalf("closed after %v, before the header timeout", took)
	}
}

func TestSweepPeriod(t *testing.T) {
	for _, tc := range []struct {
		header, idle, want time.Duration
	}{
		{0, 0, 0},
		{10 * time.Second, 0, 500 * time.Millisecond},
		{10 * time.Second, time.Second, 125 * time.Millisecond},
		{time.Second, 10 * time.Second, 125 * time.Millisecond},
		{0, 80 * time.Millisecond, 10 * time.Millisecond},
		{20 * time.Millisecond, 0, 5 * time.Millisecond},
	} {
		s := &Server{ReadHeaderTimeout: tc.header, IdleTimeout: tc.idle}
		if got := s.sweepPeriod(); got != tc.want {
			t.Errorf("header %v idle %v: %v, want %v", tc.header, tc.idle, got, tc.want)
		}
	}
}

// TestSweeperArmsRouteTimeouts: a timeout the handler sets on its request
// (as the proxy sets the route's) longer than two sweep periods gets no
// timer until the sweeper finds the request running, and then fires at
// its deadline; shorter ones get their timer at once.
func TestSweeperArmsRouteTimeouts(t *testing.T) {
	type result struct {
		err     error
		elapsed time.Duration
	}
	for _, tc := range []struct {
		name    string
		timeout time.Duration
	}{
		{"deferred", 300 * time.Millisecond}, // sweep period 20 ms: deferred beyond 40 ms
		{"at once", 30 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := make(chan result, 1)
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				start := time.Now()
				ctx, cancel := reqctx.WithTimeout(r.Context(), tc.timeout)
				defer cancel()
				select {
				case <-ctx.Done():
				case <-time.After(5 * time.Second):
				}
				res <- result{ctx.Err(), time.Since(start)}
			})
			s := &Server{Handler: h, ReadHeaderTimeout: 160 * time.Millisecond, IdleTimeout: time.Second}
			if p := s.sweepPeriod(); p != 20*time.Millisecond {
				t.Fatalf("sweep period %v", p)
			}
			ts := startServer(t, s)
			cl := dialClient(t, ts.addr)
			cl.write("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
			var r result
			select {
			case r = <-res:
			case <-time.After(10 * time.Second):
				t.Fatal("the handler never returned")
			}
			if r.err != context.DeadlineExceeded {
				t.Fatalf("the request's context ended with %v after %v, want the timeout", r.err, r.elapsed)
			}
			if r.elapsed < tc.timeout || r.elapsed > tc.timeout+2*time.Second {
				t.Errorf("the timeout of %v fired after %v", tc.timeout, r.elapsed)
			}
		})
	}
}
