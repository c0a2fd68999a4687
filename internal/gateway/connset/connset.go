// Package connset is a server's set of open connections, for a graceful
// shutdown: once shut it takes no new connection, and Wait polls until
// the last one is gone. The gateway's HTTP/1.1 and HTTP/2 servers share
// it.
package connset

import (
	"context"
	"sync"
	"time"
)

// Set holds the open connections of a server. The zero value is ready.
type Set[C comparable] struct {
	mu       sync.Mutex
	conns    map[C]struct{}
	shut     bool
	sweeping bool
}

// Add adds c; false once the set is shut (the caller then keeps c).
func (s *Set[C]) Add(c C) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shut {
		return false
	}
	if s.conns == nil {
		s.conns = make(map[C]struct{})
	}
	s.conns[c] = struct{}{}
	return true
}

// Remove removes c.
func (s *Set[C]) Remove(c C) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// Shut makes Add refuse from now on, and returns the connections open.
func (s *Set[C]) Shut() []C {
	s.mu.Lock()
	s.shut = true
	s.mu.Unlock()
	return s.Open()
}

// Open returns the connections open now.
func (s *Set[C]) Open() []C {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]C, 0, len(s.conns))
	for c := range s.conns {
		out = append(out, c)
	}
	return out
}

// Sweep starts the set's sweeper unless it runs: every period it calls
// visit with the open connections, from one goroutine that stops once
// the set is empty. A server calls it after each Add, so that the
// sweeper runs exactly while the server has connections; visit is the
// same on every call. A period of 0 starts nothing.
func (s *Set[C]) Sweep(period time.Duration, visit func([]C)) {
	if period <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.sweeping {
		s.sweeping = true
		go s.sweep(period, visit)
	}
}

func (s *Set[C]) sweep(period time.Duration, visit func([]C)) {
	t := time.NewTicker(period)
	defer t.Stop()
	var conns []C
	for range t.C {
		s.mu.Lock()
		if len(s.conns) == 0 {
			s.sweeping = false // a connection added from now on starts another
			s.mu.Unlock()
			return
		}
		for c := range s.conns {
			conns = append(conns, c)
		}
		s.mu.Unlock()
		visit(conns)
		clear(conns) // holds no connection until the next period
		conns = conns[:0]
	}
}

// Sweeping reports whether the sweeper runs.
func (s *Set[C]) Sweeping() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sweeping
}

// Len is the number of open connections.
func (s *Set[C]) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Wait calls done, from every millisecond to every half second, until it
// reports true (nil) or ctx ends (ctx's error).
func Wait(ctx context.Context, done func() bool) error {
	wait := time.Millisecond
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for !done() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		}
		if wait < 500*time.Millisecond {
			wait *= 2
		}
		timer.Reset(wait)
	}
	return nil
}
