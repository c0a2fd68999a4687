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
