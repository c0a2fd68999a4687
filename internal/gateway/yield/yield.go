// Package yield decides when a connection's goroutine should give the
// other ready goroutines their turn first: before a read that would most
// likely find no bytes yet (an HTTP/1.1 client's next request after a
// response, an upstream's response just after its request), and before
// flushing an HTTP/2 response that others may join (h2server).
//
// A read that finds nothing costs a system call (0.49 µs on the benchmark
// machine, BenchmarkEmptyRead), then a park, and a wake-up when the bytes
// come. A turn first runs the work already waiting, and by its end the
// bytes have often arrived: the read finds them at once. Under load it
// took the gateway's reads from 4.0 to 3.3 a request on HTTP/1.1, and its
// CPU per request down 3-9 % (docs/performance.md).
//
// It pays with one P (GOMAXPROCS=1) only: with more, a turn wakes an
// idle P to take the yielding goroutine, a thread wake-up that costs more
// than the read it saves (measured: 1-3 % more CPU per request at light
// load with GOMAXPROCS=2).
package yield

import "runtime"

// Pays reports whether turns pay in this process now: it has one P. A
// connection asks once, when it starts.
func Pays() bool { return runtime.GOMAXPROCS(0) == 1 }

// BeforeRead yields when on (Pays' answer) and nothing is buffered: the
// read to come would go to the socket.
func BeforeRead(on bool, buffered int) {
	if on && buffered == 0 {
		runtime.Gosched()
	}
}
