package yield

import (
	"net"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
)

func TestPays(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	if !Pays() {
		t.Error("Pays() = false with GOMAXPROCS=1")
	}
	runtime.GOMAXPROCS(2)
	if Pays() {
		t.Error("Pays() = true with GOMAXPROCS=2")
	}
}

// TestBeforeRead: with one P, a goroutine made ready just before
// BeforeRead runs during it when it yields, and not otherwise. (The
// scheduler takes from its global queue, where a yield puts the yielding
// goroutine, first once in 61 turns: so "nearly always".)
func TestBeforeRead(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	for _, tc := range []struct {
		on       bool
		buffered int
		yields   bool
	}{
		{true, 0, true},
		{true, 1, false},
		{false, 0, false},
	} {
		const n = 200
		ran := 0
		for range n {
			var r atomic.Bool
			done := make(chan struct{})
			go func() { r.Store(true); close(done) }()
			BeforeRead(tc.on, tc.buffered)
			if r.Load() {
				ran++
			}
			<-done
		}
		if tc.yields && ran < n*9/10 || !tc.yields && ran > n/10 {
			t.Errorf("BeforeRead(%v, %d): a ready goroutine ran during it %d times in %d, want yields=%v",
				tc.on, tc.buffered, ran, n, tc.yields)
		}
	}
}

// BenchmarkEmptyRead is what a yield saves when the bytes then came: a
// read of a loopback socket that has nothing yet (EAGAIN), its system
// call and the runtime's wrapping of it (0.49 µs on the benchmark
// machine, a VM).
func BenchmarkEmptyRead(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if peer := <-accepted; peer != nil {
		defer peer.Close()
	}
	rc, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		b.Fatal(err)
	}
	var buf [4096]byte
	rc.Control(func(fd uintptr) {
		for b.Loop() {
			if _, err := syscall.Read(int(fd), buf[:]); err != syscall.EAGAIN {
				b.Fatalf("read of an empty socket: %v, want EAGAIN", err)
			}
		}
	})
}
