package connset

import (
	"context"
	"sort"
	"testing"
	"time"
)

func TestSet(t *testing.T) {
	var s Set[int]
	for i := range 3 {
		if !s.Add(i) {
			t.Fatalf("Add(%d) refused before Shut", i)
		}
	}
	s.Remove(1)
	open := s.Shut()
	sort.Ints(open)
	if len(open) != 2 || open[0] != 0 || open[1] != 2 || s.Len() != 2 {
		t.Fatalf("Shut returned %v (Len %d), want [0 2]", open, s.Len())
	}
	if s.Add(3) {
		t.Fatal("Add after Shut succeeded")
	}
	if s.Len() != 2 {
		t.Fatalf("Len %d after a refused Add, want 2", s.Len())
	}
}

func TestWait(t *testing.T) {
	calls := 0
	if err := Wait(context.Background(), func() bool { calls++; return calls == 4 }); err != nil || calls != 4 {
		t.Fatalf("Wait = %v after %d calls, want nil after 4", err, calls)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := Wait(ctx, func() bool { return false }); err != context.DeadlineExceeded {
		t.Fatalf("Wait = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Wait returned %v after its context ended", d)
	}
}

// TestSweep: the sweeper visits the open connections each period while
// there are any, stops when the set is empty, and a later Sweep starts
// it again.
func TestSweep(t *testing.T) {
	var s Set[int]
	visits := make(chan []int, 100)
	visit := func(conns []int) {
		c := append([]int(nil), conns...)
		sort.Ints(c)
		select {
		case visits <- c:
		default:
		}
	}
	next := func() []int {
		t.Helper()
		select {
		case c := <-visits:
			return c
		case <-time.After(5 * time.Second):
			t.Fatal("no visit")
			return nil
		}
	}
	s.Sweep(0, visit) // no period: nothing
	s.Add(1)
	s.Add(2)
	if s.Sweeping() {
		t.Fatal("a sweeper without a period")
	}
	s.Sweep(2*time.Millisecond, visit)
	s.Sweep(2*time.Millisecond, visit)
	if c := next(); len(c) != 2 || c[0] != 1 || c[1] != 2 {
		t.Fatalf("visited %v, want [1 2]", c)
	}
	s.Remove(1)
	for c := next(); len(c) != 1 || c[0] != 2; c = next() {
	}
	s.Remove(2)
	deadline := time.Now().Add(5 * time.Second)
	for s.Sweeping() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if s.Sweeping() {
		t.Fatal("the sweeper still runs with no connection")
	}
	for len(visits) > 0 {
		if c := <-visits; len(c) == 0 {
			t.Fatal("visited an empty set")
		}
	}
	s.Add(3)
	s.Sweep(2*time.Millisecond, visit)
	if c := next(); len(c) != 1 || c[0] != 3 {
		t.Fatalf("visited %v after the restart, want [3]", c)
	}
	s.Remove(3)
}
