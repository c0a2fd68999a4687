package h2server

import (
	"io"
	"net"
	"net/http"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// writeCounter counts the writes to a server's connection.
type writeCounter struct {
	net.Conn
	writes *atomic.Int32
}

func (c writeCounter) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// TestResponsesShareAWrite: with one P, responses that end together on
// a connection go out in fewer writes than one each (endResponseWrite),
// and every one of them arrives whole.
func TestResponsesShareAWrite(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	const n = 6
	release := make(chan struct{})
	var waiting atomic.Int32
	h := func(w http.ResponseWriter, r *http.Request) {
		waiting.Add(1)
		<-release
		io.WriteString(w, "ok "+r.URL.Path)
	}
	var writes atomic.Int32
	ts := stServerWrap(t, &Server{Handler: http.HandlerFunc(h)}, func(c net.Conn) net.Conn {
		return writeCounter{Conn: c, writes: &writes}
	})
	cl := stDial(t, ts.addr)
	var ids []uint32
	for range n {
		ids = append(ids, cl.get("/x"))
	}
	deadline := time.Now().Add(5 * time.Second)
	for waiting.Load() < n && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if waiting.Load() < n {
		t.Fatalf("%d of %d handlers started", waiting.Load(), n)
	}
	before := writes.Load()
	close(release)
	for id, resp := range cl.responses(ids, 5*time.Second) {
		if resp.status != http.StatusOK || string(resp.body) != "ok /x" {
			t.Errorf("stream %d: %d %q", id, resp.status, resp.body)
		}
	}
	if got := writes.Load() - before; got > n/2 {
		t.Errorf("%d responses ending together took %d writes, want at most %d", n, got, n/2)
	}
}
