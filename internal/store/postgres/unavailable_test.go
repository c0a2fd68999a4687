package postgres

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meshgate/meshgate/internal/store"
)

// These tests need no PostgreSQL server: they are about not having one.

// TestOpenClosedPort: nothing listens, so the connection is refused.
func TestOpenClosedPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	s, err := Open(ctx, "postgres://meshgate@"+addr+"/meshgate?sslmode=disable")
	if err == nil {
		s.Close()
		t.Fatal("Open succeeded with nothing listening")
	}
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Open: %v, want ErrUnavailable", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("Open took %v to fail", took)
	}
}

// blackhole accepts connections and never answers, like a host that is up
// while its database hangs.
func blackhole(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// TestOpenHangingServerHonorsContext: the caller's deadline ends the wait,
// and the error says the caller's deadline passed.
func TestOpenHangingServerHonorsContext(t *testing.T) {
	addr := blackhole(t)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	s, err := Open(ctx, "postgres://meshgate@"+addr+"/meshgate?sslmode=disable")
	if err == nil {
		s.Close()
		t.Fatal("Open succeeded against a server that never answers")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Open: %v, want context.DeadlineExceeded", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Open took %v, long past its 500ms deadline", took)
	}
}

// TestOpenHangingServerConnectTimeout: with no caller deadline, the
// connect timeout ends the wait, and that is an outage, not the caller's
// deadline.
func TestOpenHangingServerConnectTimeout(t *testing.T) {
	addr := blackhole(t)
	start := time.Now()
	s, err := Open(context.Background(), "postgres://meshgate@"+addr+"/meshgate?sslmode=disable&connect_timeout=1")
	if err == nil {
		s.Close()
		t.Fatal("Open succeeded against a server that never answers")
	}
	if !errors.Is(err, store.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Open: %v, want ErrUnavailable and not the caller's deadline", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("Open took %v with connect_timeout=1", took)
	}
}

// TestOpenBadDSN: a DSN pgx cannot parse is a configuration error.
func TestOpenBadDSN(t *testing.T) {
	_, err := Open(context.Background(), "postgres://meshgate:secret@127.0.0.1:notaport/db")
	if err == nil || errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Open: %v, want a parse error", err)
	}
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("the error shows the password: %v", err)
	}
}
