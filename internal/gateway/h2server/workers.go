package h2server

import (
	"net/http"
	"sync"
)

// maxIdleWorkers bounds the handler goroutines kept between streams.
const maxIdleWorkers = 128

// workers runs stream handlers on goroutines kept between streams. A
// goroutine's stack starts small and grows, by copying, to what the
// handler's calls need (the proxy's are deep): a new goroutine per
// stream paid that growth on every request; a kept one has grown
// already. gRPC-go's server offers the same (NumStreamWorkers).
type workers struct {
	mu     sync.Mutex
	idle   []chan job
	closed bool
}

// job is one stream's handler run.
type job struct {
	c   *conn
	st  *stream
	req *http.Request
	h   http.Handler
}

// run starts j on an idle worker, or on a new one.
func (ws *workers) run(j job) {
	ws.mu.Lock()
	if n := len(ws.idle); n > 0 {
		next := ws.idle[n-1] // the most recently used: its stack is hot
		ws.idle = ws.idle[:n-1]
		ws.mu.Unlock()
		next <- j
		return
	}
	ws.mu.Unlock()
	go ws.work(j)
}

// work runs jobs until the pool has enough idle workers or closes.
func (ws *workers) work(j job) {
	var next chan job
	for {
		j.c.runHandler(j.st, j.req, j.h)
		j = job{}
		ws.mu.Lock()
		if ws.closed || len(ws.idle) >= maxIdleWorkers {
			ws.mu.Unlock()
			return
		}
		if next == nil {
			next = make(chan job, 1)
		}
		ws.idle = append(ws.idle, next)
		ws.mu.Unlock()
		var ok bool
		if j, ok = <-next; !ok {
			return
		}
	}
}

// close ends the idle workers; busy ones end after their stream.
func (ws *workers) close() {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	ws.closed = true
	for _, ch := range ws.idle {
		close(ch)
	}
	ws.idle = nil
}
