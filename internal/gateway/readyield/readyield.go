// Package readyield lets a connection's goroutine give the other ready
// goroutines their turn before a read that would most likely find no
// bytes yet: an HTTP/1.1 client's next request after a response, an
// upstream's response just after its request.
//
// Such a read costs a system call that finds nothing (about 0.5 µs on the
// benchmark machine), then a park, and a wake-up when the bytes come. A
// yield first runs the work already waiting, and by its end the bytes
// have often arrived: the read finds them at once. Under load it took the
// gateway's reads from 4.0 to 3.2 a request on HTTP/1.1 and its CPU per
// request down 4-6 % on HTTP/1.1 and h2c (docs/performance.md).
//
// It pays with one P (GOMAXPROCS=1) only: with more, a yield wakes an
// idle P to take the yielding goroutine, a thread wake-up that costs more
// than the read it saves (measured: 1-3 % more CPU per request at light
// load with GOMAXPROCS=2).
package readyield

import "runtime"

// Enabled reports whether yields pay in this process now: it has one P.
// A connection asks once, when it starts.
func Enabled() bool { return runtime.GOMAXPROCS(0) == 1 }

// BeforeRead yields when on (Enabled's answer) and nothing is buffered:
// the read to come would go to the socket.
func BeforeRead(on bool, buffered int) {
	if on && buffered == 0 {
		runtime.Gosched()
	}
}
