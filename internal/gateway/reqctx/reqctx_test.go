package reqctx

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type valKey struct{}

var errGone = errors.New("client gone")

func isDone(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return true
	default:
		return false
	}
}

func recv(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// TestEnds: how a Ctx ends, and what it and the contexts under it then
// report, as their context.WithCancelCause / WithTimeout counterparts do.
func TestEnds(t *testing.T) {
	for _, tc := range []struct {
		name      string
		end       func(c *Ctx)
		wantErr   error
		wantCause error
	}{
		{"cancel", func(c *Ctx) { c.Cancel(nil) }, context.Canceled, context.Canceled},
		{"cancel with cause", func(c *Ctx) { c.Cancel(errGone) }, context.Canceled, errGone},
		{"timeout", func(c *Ctx) { c.SetTimeout(time.Millisecond) }, context.DeadlineExceeded, context.DeadlineExceeded},
		{"cancel then timeout", func(c *Ctx) { c.Cancel(errGone); c.SetTimeout(time.Millisecond) }, context.Canceled, errGone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCtx(context.WithValue(context.Background(), valKey{}, "v"))
			outer := context.WithValue(c, valKey{}, "outer")
			child, stopChild := context.WithCancel(outer) // a per-try timeout's context, say
			defer stopChild()
			ran := make(chan struct{})
			AfterFunc(outer, func() { close(ran) })
			if isDone(c) || c.Err() != nil {
				t.Fatal("done before it ended")
			}
			tc.end(c)
			recv(t, c.Done(), "the context to end")
			recv(t, ran, "the hook")
			recv(t, child.Done(), "the child context to end")
			time.Sleep(5 * time.Millisecond) // a timer set after the end must not fire
			if err := c.Err(); err != tc.wantErr {
				t.Errorf("Err() = %v, want %v", err, tc.wantErr)
			}
			if err := outer.Err(); err != tc.wantErr {
				t.Errorf("Err() through a value = %v, want %v", err, tc.wantErr)
			}
			for name, ctx := range map[string]context.Context{"ctx": c, "value": outer, "child": child} {
				if got := context.Cause(ctx); got != tc.wantCause {
					t.Errorf("Cause(%s) = %v, want %v", name, got, tc.wantCause)
				}
			}
			if v := c.Value(valKey{}); v != "v" {
				t.Errorf("Value = %v, want the parent's", v)
			}
		})
	}
}

func TestDeadline(t *testing.T) {
	c := newCtx(context.Background())
	defer c.Cancel(nil)
	if _, ok := c.Deadline(); ok {
		t.Fatal("a deadline before any timeout")
	}
	start := time.Now()
	c.SetTimeout(time.Hour)
	first, ok := c.Deadline()
	if !ok || first.Sub(start) < time.Hour-time.Second || first.Sub(start) > time.Hour+time.Second {
		t.Fatalf("deadline %v after SetTimeout(1h) at %v", first, start)
	}
	c.SetTimeout(2 * time.Hour) // later: ignored
	if d, _ := c.Deadline(); !d.Equal(first) {
		t.Errorf("a later timeout moved the deadline to %v", d)
	}
	c.SetTimeout(time.Millisecond) // earlier: wins
	if d, _ := c.Deadline(); !d.Before(first) {
		t.Errorf("an earlier timeout left the deadline at %v", d)
	}
	recv(t, c.Done(), "the earlier timeout")
	if c.Err() != context.DeadlineExceeded {
		t.Errorf("Err() = %v", c.Err())
	}
	child, cancel := context.WithCancel(c)
	defer cancel()
	if d, ok := child.Deadline(); !ok || !d.Before(first) {
		t.Errorf("a child's deadline %v, %v", d, ok)
	}
}

func TestAfterFuncStop(t *testing.T) {
	c := newCtx(context.Background())
	var ran atomic.Int32
	stop1 := c.AfterFunc(func() { ran.Add(1) })
	stop2 := c.AfterFunc(func() { ran.Add(10) })
	stop3 := c.AfterFunc(func() { ran.Add(100) })
	if !stop2.Stop() {
		t.Error("stop before the end: false")
	}
	if stop2.Stop() {
		t.Error("a second stop: true")
	}
	c.Cancel(nil)
	if stop1.Stop() || stop3.Stop() {
		t.Error("stop after the end: true")
	}
	deadline := time.Now().Add(5 * time.Second)
	for ran.Load() != 101 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := ran.Load(); got != 101 {
		t.Fatalf("hooks ran to %d, want 101 (the stopped one must not run)", got)
	}
	done := make(chan struct{})
	if c.AfterFunc(func() { close(done) }).Stop() {
		t.Error("stop of a hook set after the end: true")
	}
	recv(t, done, "a hook set after the end")
}

func TestFrom(t *testing.T) {
	c := newCtx(context.Background())
	defer c.Cancel(nil)
	child, cancel := context.WithCancel(c)
	defer cancel()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		want *Ctx
	}{
		{"itself", c, c},
		{"under values", context.WithValue(context.WithValue(c, valKey{}, 1), valKey{}, 2), c},
		{"under a cancelable context", child, nil},
		{"under a value under a cancelable context", context.WithValue(child, valKey{}, 1), nil},
		{"none", context.Background(), nil},
	} {
		if got := From(tc.ctx); got != tc.want {
			t.Errorf("%s: From = %p, want %p", tc.name, got, tc.want)
		}
	}
}

// TestFallbacks: without a Ctx to own them, WithTimeout and AfterFunc are
// the context package's, and a timeout under a per-try context does not
// end the request.
func TestFallbacks(t *testing.T) {
	c := newCtx(context.Background())
	defer c.Cancel(nil)
	child, cancel := context.WithCancel(c)
	ctx, stop := WithTimeout(child, time.Millisecond)
	defer stop()
	if ctx == child {
		t.Fatal("WithTimeout under a cancelable context did not make its own")
	}
	recv(t, ctx.Done(), "the fallback timeout")
	if ctx.Err() != context.DeadlineExceeded || c.Err() != nil || child.Err() != nil {
		t.Fatalf("errors: timeout %v, request %v, child %v", ctx.Err(), c.Err(), child.Err())
	}
	ran := make(chan struct{})
	AfterFunc(child, func() { close(ran) })
	var stopped atomic.Bool
	s := AfterFunc(child, func() { stopped.Store(true) })
	if !s.Stop() || s.Stop() {
		t.Error("the fallback hook's Stop: not true once, then false")
	}
	cancel()
	recv(t, ran, "the fallback hook")
	if (Stop{}).Stop() {
		t.Error("a zero Stop stopped something")
	}
	if c.Err() != nil {
		t.Fatal("cancelling a child ended the request")
	}
	time.Sleep(10 * time.Millisecond) // a hook not stopped would have run by now
	if stopped.Load() {
		t.Error("a stopped fallback hook ran")
	}
	if same, _ := WithTimeout(c, time.Hour); same != context.Context(c) {
		t.Error("WithTimeout on the request made a new context")
	}
}

// TestCancelableParent: a parent that ends ends the Ctx, and runs its
// hooks, with the parent's cause.
func TestCancelableParent(t *testing.T) {
	parent, cancel := context.WithCancelCause(context.Background())
	c := newCtx(parent)
	ran := make(chan struct{})
	c.AfterFunc(func() { close(ran) })
	cancel(errGone)
	recv(t, ran, "the hook")
	if c.Err() != context.Canceled || context.Cause(c) != errGone {
		t.Fatalf("Err %v, Cause %v", c.Err(), context.Cause(c))
	}
}

// TestCancelRacesTimeout: whichever ends the context first, its error and
// cause agree, and the hook runs once (go test -race).
func TestCancelRacesTimeout(t *testing.T) {
	for range 200 {
		c := newCtx(context.Background())
		var ran atomic.Int32
		c.AfterFunc(func() { ran.Add(1) })
		c.SetTimeout(time.Microsecond)
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); c.Cancel(errGone) }()
		go func() { defer wg.Done(); _ = c.Err(); _, _ = c.Deadline() }()
		wg.Wait()
		<-c.Done()
		switch err, cause := c.Err(), context.Cause(c); {
		case err == context.Canceled && cause == errGone:
		case err == context.DeadlineExceeded && cause == context.DeadlineExceeded:
		default:
			t.Fatalf("Err %v with Cause %v", err, cause)
		}
		deadline := time.Now().Add(5 * time.Second)
		for ran.Load() == 0 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if n := ran.Load(); n != 1 {
			t.Fatalf("hook ran %d times", n)
		}
	}
}

// BenchmarkRequest is a request's context work in the gateway: made by
// the server, a route timeout, the upstream exchange's hook, the end;
// against the same with context.WithCancel, WithTimeout and AfterFunc.
func BenchmarkRequest(b *testing.B) {
	base := context.WithValue(context.Background(), valKey{}, 1)
	hook := func() {}
	b.Run("reqctx", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c := newCtx(base)
			ctx, cancel := WithTimeout(c, 15*time.Second)
			stop := AfterFunc(context.WithValue(ctx, valKey{}, 2), hook)
			stop.Stop()
			cancel()
			c.Cancel(nil)
		}
	})
	b.Run("context", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c, end := context.WithCancel(base)
			ctx, cancel := context.WithTimeout(c, 15*time.Second)
			stop := context.AfterFunc(context.WithValue(ctx, valKey{}, 2), hook)
			stop()
			cancel()
			end()
		}
	})
}

// TestDeferredTimeouts: with DeferTimeouts, a timeout beyond the bound
// has no timer until Arm, which sets it for the deadline SetTimeout set
// (at once when that has passed); a shorter timeout, and a timeout
// tightened once armed, have their timer at once.
func TestDeferredTimeouts(t *testing.T) {
	for _, tc := range []struct {
		name      string
		timeout   time.Duration
		armAfter  time.Duration // -1: never armed
		wantTimer bool          // right after SetTimeout
		wantEnd   bool          // within 200 ms after SetTimeout
	}{
		{"short: timer at once", 20 * time.Millisecond, -1, true, true},
		{"long, never armed: no end", 50 * time.Millisecond, -1, false, false},
		{"long, armed before the deadline", 80 * time.Millisecond, 10 * time.Millisecond, false, true},
		{"long, armed after the deadline: ends at once", 60 * time.Millisecond, 100 * time.Millisecond, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCtx(context.Background())
			defer c.Cancel(nil)
			c.DeferTimeouts(40 * time.Millisecond)
			start := time.Now()
			c.SetTimeout(tc.timeout)
			c.mu.Lock()
			hasTimer := c.timer != nil
			c.mu.Unlock()
			if hasTimer != tc.wantTimer {
				t.Fatalf("timer after SetTimeout: %v, want %v", hasTimer, tc.wantTimer)
			}
			if tc.armAfter >= 0 {
				time.Sleep(tc.armAfter)
				c.Arm()
			}
			select {
			case <-c.Done():
				took := time.Since(start)
				if !tc.wantEnd {
					t.Fatalf("ended after %v without a timer", took)
				}
				if took < tc.timeout {
					t.Errorf("ended after %v, before its timeout %v", took, tc.timeout)
				}
				if c.Err() != context.DeadlineExceeded {
					t.Errorf("Err() = %v", c.Err())
				}
			case <-time.After(200*time.Millisecond - time.Since(start)):
				if tc.wantEnd {
					t.Fatal("did not end")
				}
			}
		})
	}
	// An armed timer follows a tighter timeout.
	c := newCtx(context.Background())
	defer c.Cancel(nil)
	c.DeferTimeouts(40 * time.Millisecond)
	c.SetTimeout(time.Hour)
	c.Arm()
	c.SetTimeout(10 * time.Millisecond)
	recv(t, c.Done(), "the tightened timeout")
}

// newCtx is a request context as the servers make one, in an allocation
// of its own.
func newCtx(parent context.Context) *Ctx {
	c := &Ctx{}
	c.Init(parent, time.Now())
	return c
}
