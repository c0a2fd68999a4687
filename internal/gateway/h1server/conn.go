package h1server

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meshgate/meshgate/internal/gateway/httpdate"
	"github.com/meshgate/meshgate/internal/gateway/reqctx"
	"github.com/meshgate/meshgate/internal/gateway/yield"
)

// conn is one downstream connection.
type conn struct {
	s      *Server
	rwc    net.Conn
	br     *bufio.Reader // reads through conn.Read
	bw     *bufio.Writer
	yield  bool            // yield.s
	ctx    context.Context // the base of its requests' contexts: values only
	remote string
	tls    *tls.ConnectionState
	state  atomic.Int32               // http.ConnState
	since  atomic.Int64               // unix seconds of the last state change
	phase  atomic.Int64               // the deadline of the waiting phase (deadlines.go)
	req    atomic.Pointer[reqctx.Ctx] // the running request's, while the sweeper arms its timeouts

	head    []byte        // the request head being parsed
	out     []byte        // a response head being assembled
	pending []byte        // response bytes held until the framing is known
	fields  []headerField // appendFields' sorting space
	header  http.Header   // the response header map, cleared per request

	// Read side: a byte the disconnect watch read, the body idle timer.
	stash    [1]byte
	hasStash bool
	inBody   bool
	idle     time.Duration
	timer    *time.Timer
	expired  atomic.Bool
	watch    watch
	hijacked bool
	cur      *response // the request being served
	last     *body     // the body of the last request, if it had one
}

var (
	readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4<<10) }}
	writers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 4<<10) }}
)

// ServeConn serves c until it closes, fails, is hijacked or the server
// shuts down. It returns false at once, c untouched, when the server has
// been shut down.
func (s *Server) ServeConn(rwc net.Conn) bool {
	c := &conn{s: s, rwc: rwc, idle: s.BodyIdleTimeout, header: make(http.Header), yield: yield.Pays()}
	c.watch.c = c
	if !s.conns.Add(c) {
		return false
	}
	s.conns.Sweep(s.sweepPeriod(), sweep)
	c.setState(http.StateNew)
	c.br = readers.Get().(*bufio.Reader)
	c.br.Reset(c)
	c.bw = writers.Get().(*bufio.Writer)
	c.bw.Reset(rwc)
	defer c.end()
	c.ctx = context.WithValue(context.Background(), http.LocalAddrContextKey, rwc.LocalAddr())
	if s.ConnContext != nil {
		c.ctx = s.ConnContext(c.ctx, rwc)
	}
	c.ctx = context.WithValue(c.ctx, connKey{}, c)
	c.remote = rwc.RemoteAddr().String()
	if tc, ok := rwc.(interface{ ConnectionState() tls.ConnectionState }); ok {
		st := tc.ConnectionState()
		c.tls = &st
	}
	c.serve()
	return true
}

type connKey struct{}

// serve reads and answers requests until the connection is done with.
func (c *conn) serve() {
	s := c.s
	limit := s.MaxHeaderBytes
	if limit <= 0 {
		limit = http.DefaultMaxHeaderBytes
	}
	limit += 4096 // net/http's slack: the edge checks the exact limit
	// One clock reading serves each pair of a state change and a phase's
	// deadline (the state's time is kept in seconds).
	idle := s.IdleTimeout
	if idle <= 0 {
		idle = s.ReadHeaderTimeout
	}
	now := time.Now()
	for first := true; ; first = false {
		if !first {
			// Wait for the next request under the idle timeout; the header
			// timeout starts with its first byte, as in net/http.
			if !c.enterPhase(now, idle) {
				return
			}
			yield.BeforeRead(c.yield, c.br.Buffered()) // the client reads the response first
			if _, err := c.br.Peek(1); err != nil {
				return
			}
			now = time.Now()
		}
		if !c.enterPhase(now, s.ReadHeaderTimeout) {
			return
		}
		err := c.readHead(limit)
		if len(c.head) > 0 || err != nil && c.br.Buffered() > 0 {
			c.setStateAt(http.StateActive, now)
		}
		if err != nil {
			var se *statusError
			if errors.As(err, &se) {
				c.setStateAt(http.StateActive, now)
				c.reject(se)
			}
			return
		}
		if !c.leavePhase() {
			return // the head came after the header timeout
		}
		if !c.serveRequest(now) || s.shutdown.Load() || c.expired.Load() {
			// A body read the body idle timeout ended left the socket's
			// read deadline in the past: the connection is done.
			return
		}
		now = time.Now()
		c.setStateAt(http.StateIdle, now)
		if cap(c.head) > 64<<10 {
			c.head = nil // an unusually large head: don't keep its buffer
		}
	}
}

// reject answers a request the server refuses before any handler, in
// net/http's words, and closes.
func (c *conn) reject(e *statusError) {
	text := http.StatusText(e.code)
	var msg string
	switch {
	case e == errExpectation:
		msg = "HTTP/1.1 417 Expectation Failed\r\nConnection: close\r\nDate: " + httpdate.Now() + "\r\nContent-Length: 0\r\n\r\n"
	case e == errUnsupportedTE:
		msg = fmt.Sprintf("HTTP/1.1 %d %s%sUnsupported transfer encoding", e.code, text, errorHeaders)
	case e.text != "":
		msg = fmt.Sprintf("HTTP/1.1 %d %s: %s%s%d %s: %s", e.code, text, e.text, errorHeaders, e.code, text, e.text)
	default:
		msg = fmt.Sprintf("HTTP/1.1 %d %s%s%d %s", e.code, text, errorHeaders, e.code, text)
	}
	c.rwc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	c.bw.WriteString(msg)
	c.bw.Flush()
	if e == errTooLarge {
		c.lingerClose()
	}
}

const errorHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

// lingerClose half-closes the connection and reads what the client still
// sends, for a while, so that closing with unread bytes does not reset
// the connection before the client has read the answer.
func (c *conn) lingerClose() {
	if cw, ok := c.rwc.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	c.rwc.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	io.Copy(io.Discard, io.LimitReader(c.rwc, 256<<10))
}

// Read is what the buffered reader reads from: a byte the disconnect
// watch took first, then the connection, a request body's reads bounded
// by the body idle timeout.
func (c *conn) Read(p []byte) (int, error) {
	if c.hasStash {
		c.hasStash = false
		p[0] = c.stash[0]
		return 1, nil
	}
	if !c.inBody || c.idle <= 0 {
		return c.rwc.Read(p)
	}
	if c.timer == nil {
		c.timer = time.AfterFunc(c.idle, c.expire)
	} else {
		c.timer.Reset(c.idle)
	}
	n, err := c.rwc.Read(p)
	c.timer.Stop()
	if err != nil && c.expired.Load() {
		err = ErrBodyIdle
	}
	return n, err
}

// expire ends a body read that got nothing for the body idle timeout.
func (c *conn) expire() {
	c.expired.Store(true)
	c.rwc.SetReadDeadline(aLongTimeAgo)
}

var aLongTimeAgo = time.Unix(1, 0)

// serveRequest parses the head read and runs the handler; it reports
// whether the connection may serve another request. The request started
// at start: its first byte's arrival (the connection's acceptance for the
// first request).
func (c *conn) serveRequest(start time.Time) bool {
	w := &response{c: c, contentLength: -1}
	base := http.Request{RemoteAddr: c.remote, TLS: c.tls, Body: http.NoBody}
	if err := c.parse(&base, &w.url, &w.q); err != nil {
		c.reject(err)
		return false
	}
	rc := &w.rc
	rc.Init(c.ctx, start)
	defer rc.Cancel(nil)
	if p := c.s.sweepPeriod(); p > 0 {
		// The sweeper arms the timeouts of the requests it finds running.
		rc.DeferTimeouts(2 * p)
		c.req.Store(rc)
		defer c.req.Store(nil)
	}
	var ctx context.Context = rc
	if w.q.problem != "" {
		ctx = context.WithValue(ctx, problemKey{}, w.q.problem)
	}
	w.req = *base.WithContext(ctx) // WithContext's copy stays on the stack
	r := &w.req
	c.cur = w
	defer func() { c.cur = nil }()
	switch {
	case w.q.problem != "":
		w.closeAfter = true // its framing can't be trusted: never read further
	case w.q.chunked || w.q.length > 0:
		w.body = body{w: w, r: r, chunked: w.q.chunked, remain: w.q.length}
		w.continue100 = w.q.continue100
		r.Body = &w.body
		if c.last != nil {
			c.last.detach()
		}
		c.last = &w.body
	}
	if w.q.close {
		w.closeAfter = true
	}
	c.watch.reset(rc)
	if r.Body == http.NoBody {
		c.watch.arm()
	}
	c.serveHandler(w, r)
	c.watch.stop()
	if c.hijacked {
		return false
	}
	if w.aborted {
		return false
	}
	w.finish()
	if w.closeAfter && (w.q.problem != "" || w.body.unread()) {
		// Bytes of the request may still be on their way: closing with
		// them unread would reset the connection under the answer.
		c.lingerClose()
	}
	return !w.closeAfter && !c.watch.gone
}

// serveHandler runs the handler, recovering a panic as net/http does:
// http.ErrAbortHandler ends the response where it is, silently.
func (c *conn) serveHandler(w *response, r *http.Request) {
	defer func() {
		if err := recover(); err != nil {
			w.aborted = true
			if err != http.ErrAbortHandler {
				const size = 64 << 10
				buf := make([]byte, size)
				buf = buf[:runtime.Stack(buf, false)]
				c.logf("http: panic serving %v: %v\n%s", c.remote, err, buf)
			}
		}
	}()
	if r.RequestURI == "*" && r.Method == "OPTIONS" && w.q.problem == "" {
		// As net/http: "OPTIONS *" is the server's, not a resource's.
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
		return
	}
	c.s.Handler.ServeHTTP(w, r)
}

func (c *conn) logf(format string, args ...any) {
	if l := c.s.ErrorLog; l != nil {
		l.Printf(format, args...)
	} else {
		log.Printf(format, args...)
	}
}

// end releases the connection when serve returns.
func (c *conn) end() {
	c.s.conns.Remove(c)
	if c.timer != nil {
		c.timer.Stop()
	}
	if c.hijacked {
		return // the handler owns the connection and its buffers
	}
	c.bw.Flush()
	c.rwc.Close()
	if c.last != nil {
		c.last.detach() // before the reader goes back to the pool
	}
	c.setState(http.StateClosed)
	c.br.Reset(nil)
	readers.Put(c.br)
	c.bw.Reset(nil)
	writers.Put(c.bw)
}

func (c *conn) setState(st http.ConnState) { c.setStateAt(st, time.Now()) }

func (c *conn) setStateAt(st http.ConnState, now time.Time) {
	if http.ConnState(c.state.Swap(int32(st))) == st && st != http.StateNew {
		return
	}
	c.since.Store(now.Unix())
	if h := c.s.ConnState; h != nil {
		h(c.rwc, st)
	}
}
