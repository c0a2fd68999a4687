package upstream

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/meshgate/meshgate/internal/gateway/reqctx"
	"github.com/meshgate/meshgate/internal/gateway/yield"
)

// h1Client is an endpoint's HTTP/1.1 client and connection pool: the
// http.RoundTripper of plaintext and TLS HTTP/1.1 clusters (HTTP/2 and
// gRPC clusters keep http.Transport).
//
// http.Transport runs two goroutines per connection (a writer and a
// reader that peeks for the next response while the connection is idle)
// and hands every request and response between them and the caller over
// channels. Here the caller's goroutine writes the request and reads the
// response; each pooled connection keeps one bufio.Reader and Writer for
// its life. What the transport does for the gateway is kept, with its
// rules (net/http's transport.go is the reference):
//
//   - the request is written by (*http.Request).Write, the transport's own
//     writer, so the bytes on the wire are the same (the transport adds
//     nothing else with compression off and keep-alives on); a request
//     body is written from a goroutine of its own, so a server that answers
//     before it has read the body, or streams while it reads, works;
//   - the response is read by readSimpleResponse when it has the common
//     shape (response.go), else by http.ReadResponse; 1xx responses other than
//     101 are reported through httptrace (Got1xxResponse, Got100Continue)
//     and skipped; the response headers, 1xx included, are limited to
//     10 MiB as by the transport's default;
//   - a connection returns to the pool when its response body has reached
//     EOF (so trailers are read), the response and request allow keep-alive,
//     the request was completely written (waiting up to 50 ms for a body
//     still being written, as the transport does) and nothing unsolicited
//     followed the response; closing a body early, any error and a
//     cancelled context close the connection;
//   - cancellation: a context.AfterFunc closes the connection when the
//     request's context is done, which ends blocked reads and writes; the
//     error reported is then the context's cause;
//   - a 101 with Upgrade returns a body that is the connection (readable,
//     writable, closable; CloseWrite as the transport's), never pooled;
//   - a request that failed on a reused connection before any response
//     byte is retried on another connection by the transport's rules
//     (shouldRetryRequest): when nothing of it was written and it has no
//     body or can rewind it (GetBody), or when it is replayable (no body or
//     GetBody, and an idempotent method or an Idempotency-Key) and the
//     connection failed or hit EOF before the first byte of the response;
//   - the transport learns that an idle connection was closed by the
//     server from its reader goroutine; without one, a connection is
//     checked before reuse (a non-blocking MSG_PEEK: EOF, an error or
//     unsolicited bytes mean it is dead) when the request could not be
//     retried if the connection turned out dead, or when it has been idle
//     for a second or more; replayable requests on connections reused
//     sooner rely on the retry;
//   - idle connections are kept most recently used first, up to maxIdle,
//     and closed after idleTimeout; CloseIdleConnections closes them (the
//     drainer's closeIdle), close refuses to pool from then on. Connections
//     are made by dial, the endpoint's, so they are tracked for draining
//     and TLS origination is unchanged.
//
// Not carried over: Request.Cancel (deprecated; the gateway uses
// contexts), proxies, compression, Expect: 100-continue waiting (the
// transport's ExpectContinueTimeout is 0 for clusters, so it sends the
// body at once too), and dialing while waiting for a busy connection to
// become idle.
type h1Client struct {
	dial        func(context.Context) (net.Conn, error)
	idleTimeout time.Duration // 0: no limit
	maxIdle     int

	mu     sync.Mutex
	idle   []*h1Conn // oldest first; reused from the end
	closed bool
	timer  *time.Timer // closes connections idle for idleTimeout
	armed  bool
}

const (
	maxResponseHeaderBytes = 10 << 20 // http.Transport's default
	h1BufferSize           = 4 << 10  // http.Transport's buffer sizes
	// maxWriteWaitBeforeReuse is how long a finished response waits for
	// its request body to be completely written before the connection is
	// given up instead (http.Transport's maxWriteWaitBeforeConnReuse).
	maxWriteWaitBeforeReuse = 50 * time.Millisecond
	// probeIdleAfter: connections idle at least this long are checked
	// before reuse whatever the request.
	probeIdleAfter = time.Second
)

var (
	errReadOnClosedResBody = errors.New("http: read on closed response body")
	errCannotRewind        = errors.New("net/http: cannot rewind body after connection loss")
)

func newH1Client(dial func(context.Context) (net.Conn, error), idleTimeout time.Duration, maxIdle int) *h1Client {
	return &h1Client{dial: dial, idleTimeout: idleTimeout, maxIdle: maxIdle}
}

// h1Conn is one connection. Between requests it is in the pool; during a
// request it belongs to the caller, and to the request body's writer
// goroutine for the writes.
type h1Conn struct {
	c        *h1Client
	conn     net.Conn
	raw      syscall.RawConn // for the liveness check; nil if unavailable
	tlsState *tls.ConnectionState
	br       *bufio.Reader
	bw       *bufio.Writer
	yield    bool // yield.s

	// Set by the pool.
	reused bool
	idleAt time.Time

	// The reading side (the caller's goroutine).
	readLimit int64
	sawEOF    bool

	nwrite   atomic.Int64 // bytes written to conn
	closed   atomic.Bool
	canceled atomic.Bool // closed because the request's context ended
	cancelFn func()      // pc.cancel, bound once rather than per request
	writing  bool        // a body writer goroutine has not reported yet
	writeErr chan error  // its result; capacity 1
}

func (pc *h1Conn) Read(p []byte) (int, error) {
	if pc.readLimit <= 0 {
		return 0, fmt.Errorf("read limit of %d bytes exhausted", maxResponseHeaderBytes)
	}
	if int64(len(p)) > pc.readLimit {
		p = p[:pc.readLimit]
	}
	n, err := pc.conn.Read(p)
	if err == io.EOF {
		pc.sawEOF = true
	}
	pc.readLimit -= int64(n)
	return n, err
}

func (pc *h1Conn) Write(p []byte) (int, error) {
	n, err := pc.conn.Write(p)
	pc.nwrite.Add(int64(n))
	return n, err
}

func (pc *h1Conn) close() {
	if pc.closed.CompareAndSwap(false, true) {
		pc.conn.Close()
	}
}

// cancel runs when the current request's context is done.
func (pc *h1Conn) cancel() {
	pc.canceled.Store(true)
	pc.close()
}

func (c *h1Client) newConn(conn net.Conn) *h1Conn {
	pc := &h1Conn{c: c, conn: conn, writeErr: make(chan error, 1), yield: yield.Pays()}
	pc.cancelFn = pc.cancel
	pc.br = bufio.NewReaderSize(pc, h1BufferSize)
	pc.bw = bufio.NewWriterSize(pc, h1BufferSize)
	inner := conn
	if tc, ok := conn.(*tls.Conn); ok {
		cs := tc.ConnectionState()
		pc.tlsState = &cs
		inner = tc.NetConn()
	}
	if tc, ok := inner.(*trackedConn); ok {
		inner = tc.Conn
	}
	if sc, ok := inner.(syscall.Conn); ok {
		pc.raw, _ = sc.SyscallConn()
	}
	return pc
}

// alive reports whether an idle connection may still be used: nothing
// was received on it since its last response (not even EOF).
func (pc *h1Conn) alive() bool {
	if pc.br.Buffered() > 0 {
		return false
	}
	return pc.raw == nil || peekAlive(pc.raw)
}

// RoundTrip sends one request on a pooled or new connection.
func (c *h1Client) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := checkRequest(req); err != nil {
		closeRequestBody(req)
		return nil, err
	}
	ctx := req.Context()
	trace := httptrace.ContextClientTrace(ctx)
	orig := req
	if hasBody(req) {
		// As the transport's setupRewindBody: know whether the body was
		// read, to tell whether a retry must rewind it.
		r := *req
		r.Body = &trackingBody{ReadCloser: req.Body}
		req = &r
	}
	for {
		if ctx.Err() != nil {
			closeRequestBody(req)
			return nil, context.Cause(ctx)
		}
		pc, err := c.getConn(ctx, req, trace)
		if err != nil {
			closeRequestBody(req)
			if ctx.Err() != nil {
				// As the transport: the cancellation probably caused the
				// failure, and is what the caller wants to know.
				return nil, context.Cause(ctx)
			}
			return nil, err
		}
		resp, err := pc.roundTrip(ctx, req, orig, trace)
		if err == nil {
			return resp, nil
		}
		if !pc.shouldRetry(req, err) {
			var nw nothingWrittenError
			if errors.As(err, &nw) {
				err = nw.err
			}
			var fb beforeResponseError
			if errors.As(err, &fb) {
				err = fb.err
			}
			if tb, ok := req.Body.(*trackingBody); ok && !tb.closed.Load() {
				tb.Close()
			}
			return nil, err
		}
		if pc.writing {
			// As the transport: the old attempt's writer (its connection
			// is closed, so it is ending) lets go of the body first.
			<-pc.writeErr
			pc.writing = false
		}
		if req, err = rewindBody(req); err != nil {
			return nil, err
		}
	}
}

// CloseIdleConnections closes the pooled connections. Connections in use
// return to the pool when their response is done.
func (c *h1Client) CloseIdleConnections() {
	c.mu.Lock()
	idle := c.idle
	c.idle = nil
	c.mu.Unlock()
	for _, pc := range idle {
		pc.close()
	}
}

// close empties the pool and keeps it empty: connections finishing later
// are closed instead of pooled.
func (c *h1Client) close() {
	c.mu.Lock()
	c.closed = true
	if c.timer != nil {
		c.timer.Stop()
	}
	c.mu.Unlock()
	c.CloseIdleConnections()
}

// getConn returns the most recently used idle connection, checked when
// the request could not be retried on a dead one (or the connection has
// been idle for a while), or a new connection.
func (c *h1Client) getConn(ctx context.Context, req *http.Request, trace *httptrace.ClientTrace) (*h1Conn, error) {
	probe := !isReplayable(req)
	for {
		c.mu.Lock()
		n := len(c.idle)
		if n == 0 {
			c.mu.Unlock()
			break
		}
		pc := c.idle[n-1]
		c.idle[n-1] = nil
		c.idle = c.idle[:n-1]
		c.mu.Unlock()
		idleFor := time.Since(pc.idleAt)
		if (probe || idleFor >= probeIdleAfter) && !pc.alive() {
			pc.close()
			continue
		}
		if trace != nil && trace.GotConn != nil {
			trace.GotConn(httptrace.GotConnInfo{Conn: pc.conn, Reused: true, WasIdle: true, IdleTime: idleFor})
		}
		return pc, nil
	}
	conn, err := c.dial(ctx)
	if err != nil {
		return nil, err
	}
	pc := c.newConn(conn)
	if trace != nil && trace.GotConn != nil {
		trace.GotConn(httptrace.GotConnInfo{Conn: pc.conn})
	}
	return pc, nil
}

// put returns a connection to the pool, or closes it.
func (c *h1Client) put(pc *h1Conn) {
	now := time.Now()
	c.mu.Lock()
	if c.closed || len(c.idle) >= c.maxIdle {
		c.mu.Unlock()
		pc.close()
		return
	}
	pc.reused = true
	pc.idleAt = now
	c.idle = append(c.idle, pc)
	if c.idleTimeout > 0 && !c.armed {
		c.armed = true
		if c.timer == nil {
			c.timer = time.AfterFunc(c.idleTimeout, c.expire)
		} else {
			c.timer.Reset(c.idleTimeout)
		}
	}
	c.mu.Unlock()
}

// expire closes the connections idle for idleTimeout and schedules itself
// for the next one to expire. The pool is ordered by idleAt.
func (c *h1Client) expire() {
	now := time.Now()
	c.mu.Lock()
	if c.closed {
		c.armed = false
		c.mu.Unlock()
		return
	}
	n := 0
	for n < len(c.idle) && now.Sub(c.idle[n].idleAt) >= c.idleTimeout {
		n++
	}
	stale := make([]*h1Conn, n)
	copy(stale, c.idle[:n])
	m := copy(c.idle, c.idle[n:])
	clear(c.idle[m:])
	c.idle = c.idle[:m]
	if m > 0 {
		c.timer.Reset(c.idle[0].idleAt.Add(c.idleTimeout).Sub(now))
	} else {
		c.armed = false
	}
	c.mu.Unlock()
	for _, pc := range stale {
		pc.close()
	}
}

// roundTrip makes one exchange on pc. orig is the caller's request (req
// may be its copy with a tracking body).
func (pc *h1Conn) roundTrip(ctx context.Context, req, orig *http.Request, trace *httptrace.ClientTrace) (*http.Response, error) {
	pc.canceled.Store(false)
	stop := reqctx.AfterFunc(ctx, pc.cancelFn)
	start := pc.nwrite.Load()

	if !hasBody(req) {
		var err error
		if !writeHead(pc.bw, req, trace) {
			err = req.Write(pc.bw)
		}
		if err == nil {
			err = pc.bw.Flush()
		}
		if err != nil {
			return nil, pc.fail(ctx, stop, req, start, err, false)
		}
	} else {
		// Written while the response is read, as the transport does, in
		// case the server answers before it has read the whole body.
		pc.writing = true
		go pc.writeRequest(req)
	}

	pc.readLimit = maxResponseHeaderBytes
	yield.BeforeRead(pc.yield, pc.br.Buffered()) // the response is on its way
	if _, err := pc.br.Peek(1); err != nil {
		return nil, pc.fail(ctx, stop, req, start, err, true)
	}
	if trace != nil && trace.GotFirstResponseByte != nil {
		trace.GotFirstResponseByte()
	}
	var resp *http.Response
	var simple *simpleResponse
	for {
		if r, ok := readSimpleResponse(pc.br, req); ok {
			resp, simple = &r.Response, r // final: not 1xx
			break
		}
		var err error
		resp, err = http.ReadResponse(pc.br, req)
		if err != nil {
			if pc.readLimit <= 0 {
				err = fmt.Errorf("net/http: server response headers exceeded %d bytes; aborted", maxResponseHeaderBytes)
			}
			return nil, pc.fail(ctx, stop, req, start, pc.headError(err), false)
		}
		code := resp.StatusCode
		if code < 100 || code > 199 || code == http.StatusSwitchingProtocols {
			break
		}
		// 101 is final (golang.org/issue/26161); the others are not.
		if code == http.StatusContinue && trace != nil && trace.Got100Continue != nil {
			trace.Got100Continue()
		}
		if got := got1xx(ctx, trace); got != nil {
			if err := got(code, textproto.MIMEHeader(resp.Header)); err != nil {
				if !stop.Stop() {
					err = context.Cause(ctx)
				}
				pc.close()
				return nil, err
			}
			// The caller saw it and bounds how many it takes: the limit is
			// for one header block.
			pc.readLimit = maxResponseHeaderBytes
		}
	}
	pc.readLimit = math.MaxInt64
	resp.Request = orig
	resp.TLS = pc.tlsState

	if resp.StatusCode == http.StatusSwitchingProtocols {
		if !stop.Stop() {
			pc.close()
			return nil, context.Cause(ctx)
		}
		if !isProtocolSwitch(resp.Header) {
			pc.close() // a 1xx ends keep-alive (the transport's rule)
			return resp, nil
		}
		// The connection is the caller's now: never pooled, closed with
		// the body (or by a drain).
		resp.Body = &upgradedBody{br: pc.br, pc: pc}
		return resp, nil
	}

	keep := !resp.Close && !req.Close
	if req.Method == http.MethodHead || resp.ContentLength == 0 {
		// No body: ReadResponse gave http.NoBody; the exchange is over.
		pc.release(keep, stop)
		return resp, nil
	}
	var body *h1Body
	if simple != nil {
		body = &simple.h1
	} else {
		body = new(h1Body)
	}
	*body = h1Body{pc: pc, rc: resp.Body, keep: keep, stop: stop, ctx: ctx}
	resp.Body = body
	return resp, nil
}

// headError is err, an error reading a response head: the endpoint's
// protocol error, unless the connection failed under it or ended in the
// middle of the head (a termination, as Envoy tells them apart).
func (pc *h1Conn) headError(err error) error {
	var ne net.Error
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &ne) ||
		pc.sawEOF && pc.br.Buffered() == 0 {
		return err
	}
	return &ProtocolError{Err: err}
}

// writeRequest writes a request with a body, on its own goroutine.
func (pc *h1Conn) writeRequest(req *http.Request) {
	err := req.Write(pc.bw)
	if err == nil {
		err = pc.bw.Flush()
	}
	pc.writeErr <- err // first, so a reader woken by the close finds it
	if err != nil {
		// As the transport: a failed write ends the connection, which
		// also ends the wait for a response that will not come.
		pc.close()
	}
}

// wroteRequest reports whether the request was completely written,
// waiting a little for a body writer that has not finished yet.
func (pc *h1Conn) wroteRequest() bool {
	if !pc.writing {
		return true
	}
	var err error
	select {
	case err = <-pc.writeErr:
	default:
		t := time.NewTimer(maxWriteWaitBeforeReuse)
		defer t.Stop()
		select {
		case err = <-pc.writeErr:
		case <-t.C:
			return false // still writing: the connection is given up
		}
	}
	pc.writing = false
	return err == nil
}

// release ends an exchange whose response was read completely: the
// connection goes back to the pool when it can carry another request.
func (pc *h1Conn) release(keep bool, stop reqctx.Stop) {
	if !stop.Stop() {
		keep = false // the context ended: the connection is being closed
	}
	keep = keep && pc.wroteRequest() && !pc.sawEOF && pc.br.Buffered() == 0 && !pc.closed.Load()
	if !keep {
		pc.close()
		return
	}
	pc.c.put(pc)
}

// fail ends a failed exchange: the connection is closed, and the error is
// the context's cause when it ended the exchange, then an error reading
// the request body, then the body writer's error, then err. firstByte
// marks err as an error reading the first byte of the response; the
// error's type tells shouldRetry what happened.
func (pc *h1Conn) fail(ctx context.Context, stop reqctx.Stop, req *http.Request, start int64, err error, firstByte bool) error {
	canceled := !stop.Stop()
	pc.close()
	if canceled || pc.canceled.Load() {
		return context.Cause(ctx)
	}
	if pc.writing {
		select {
		case werr := <-pc.writeErr:
			pc.writing = false
			if werr != nil {
				err, firstByte = werr, false
			}
		default:
		}
	}
	if tb, ok := req.Body.(*trackingBody); ok {
		if rerr := tb.readErr(); rerr != nil {
			return rerr
		}
	}
	if firstByte {
		err = beforeResponseError{err}
	}
	if pc.nwrite.Load() == start {
		return nothingWrittenError{err}
	}
	return err
}

// shouldRetry is the transport's shouldRetryRequest.
func (pc *h1Conn) shouldRetry(req *http.Request, err error) bool {
	if !pc.reused {
		// A fresh connection: the server did not hang up on an idle one,
		// and retrying could loop forever against one that refuses.
		return false
	}
	if _, ok := err.(nothingWrittenError); ok {
		return outgoingLength(req) == 0 || req.GetBody != nil
	}
	if !isReplayable(req) {
		return false
	}
	_, ok := err.(beforeResponseError)
	return ok
}

// nothingWrittenError: the exchange failed before any byte of the request
// reached the connection.
type nothingWrittenError struct{ err error }

func (e nothingWrittenError) Error() string { return e.err.Error() }
func (e nothingWrittenError) Unwrap() error { return e.err }

// beforeResponseError: reading the first byte of the response failed
// (the transport's transportReadFromServerError).
type beforeResponseError struct{ err error }

func (e beforeResponseError) Error() string { return e.err.Error() }
func (e beforeResponseError) Unwrap() error { return e.err }

// h1Body is a response body being read from its connection.
type h1Body struct {
	pc   *h1Conn
	rc   io.ReadCloser // ReadResponse's body
	keep bool
	stop reqctx.Stop
	ctx  context.Context

	mu     sync.Mutex
	closed bool
	rerr   error // the connection was released with it (io.EOF on success)
}

func (b *h1Body) Read(p []byte) (int, error) {
	b.mu.Lock()
	closed, rerr := b.closed, b.rerr
	b.mu.Unlock()
	if closed {
		return 0, errReadOnClosedResBody
	}
	if rerr != nil {
		return 0, rerr
	}
	n, err := b.rc.Read(p)
	if err != nil {
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.rerr != nil {
			return n, b.rerr
		}
		switch {
		case b.closed:
			// Close ran meanwhile and closed the connection.
		case err == io.EOF:
			b.pc.release(b.keep, b.stop)
		default:
			canceled := !b.stop.Stop()
			b.pc.close()
			if canceled || b.pc.canceled.Load() {
				err = context.Cause(b.ctx)
			}
		}
		b.rerr = err
	}
	return n, err
}

// Close before EOF closes the connection rather than reading what is
// left, as the transport does.
func (b *h1Body) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	if b.rerr == nil {
		b.stop.Stop()
		b.pc.close()
	}
	return nil
}

// upgradedBody is the body of a 101 Switching Protocols response: the
// connection itself, after whatever the server sent behind the 101 that is
// already buffered (the transport's readWriteCloserBody).
type upgradedBody struct {
	br *bufio.Reader // until drained
	pc *h1Conn
}

func (b *upgradedBody) Read(p []byte) (int, error) {
	if b.br != nil {
		if n := b.br.Buffered(); n == 0 {
			b.br = nil
		} else {
			if len(p) > n {
				p = p[:n]
			}
			n, err := b.br.Read(p)
			if b.br.Buffered() == 0 {
				b.br = nil
			}
			return n, err
		}
	}
	return b.pc.conn.Read(p)
}

func (b *upgradedBody) Write(p []byte) (int, error) { return b.pc.conn.Write(p) }

func (b *upgradedBody) Close() error {
	b.pc.close()
	return nil
}

func (b *upgradedBody) CloseWrite() error {
	if cw, ok := b.pc.conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return fmt.Errorf("CloseWrite: %w", http.ErrNotSupported)
}

// trackingBody is the transport's readTrackingBody: whether the request
// body was read or closed decides whether a retry needs to rewind it. It
// also keeps the body's read error, which the exchange reports first.
type trackingBody struct {
	io.ReadCloser
	didRead atomic.Bool
	closed  atomic.Bool
	err     atomic.Pointer[error]
}

func (b *trackingBody) Read(p []byte) (int, error) {
	b.didRead.Store(true)
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		b.err.CompareAndSwap(nil, &err)
	}
	return n, err
}

func (b *trackingBody) Close() error {
	if !b.closed.CompareAndSwap(false, true) {
		return nil
	}
	return b.ReadCloser.Close()
}

func (b *trackingBody) readErr() error {
	if p := b.err.Load(); p != nil {
		return *p
	}
	return nil
}

// rewindBody is the transport's: req as it is if its body was never
// touched, else a copy with the body from GetBody.
func rewindBody(req *http.Request) (*http.Request, error) {
	tb, ok := req.Body.(*trackingBody)
	if !ok || !tb.didRead.Load() && !tb.closed.Load() {
		return req, nil
	}
	tb.Close()
	if req.GetBody == nil {
		return nil, errCannotRewind
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, err
	}
	r := *req
	r.Body = &trackingBody{ReadCloser: body}
	return &r, nil
}

func hasBody(req *http.Request) bool { return req.Body != nil && req.Body != http.NoBody }

func closeRequestBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// outgoingLength is the request's Content-Length, -1 for an unknown one.
func outgoingLength(req *http.Request) int64 {
	if !hasBody(req) {
		return 0
	}
	if req.ContentLength != 0 {
		return req.ContentLength
	}
	return -1
}

// isReplayable is net/http's Request.isReplayable.
func isReplayable(req *http.Request) bool {
	if hasBody(req) && req.GetBody == nil {
		return false
	}
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	_, ok := req.Header["Idempotency-Key"]
	if !ok {
		_, ok = req.Header["X-Idempotency-Key"]
	}
	return ok
}

func isProtocolSwitch(h http.Header) bool {
	return h.Get("Upgrade") != "" && httpguts.HeaderValuesContainsToken(h["Connection"], "Upgrade")
}

// checkRequest refuses what the transport refuses before sending.
func checkRequest(req *http.Request) error {
	switch {
	case req.URL == nil:
		return errors.New("http: nil Request.URL")
	case req.Header == nil:
		return errors.New("http: nil Request.Header")
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return fmt.Errorf("unsupported protocol scheme %q", req.URL.Scheme)
	}
	if err := validateHeaders(req.Header); err != "" {
		return fmt.Errorf("net/http: invalid header %s", err)
	}
	if err := validateHeaders(req.Trailer); err != "" {
		return fmt.Errorf("net/http: invalid trailer %s", err)
	}
	if req.Method != "" && !validMethod(req.Method) {
		return fmt.Errorf("net/http: invalid method %q", req.Method)
	}
	if req.URL.Host == "" {
		return errors.New("http: no Host in request URL")
	}
	return nil
}

func validateHeaders(h http.Header) string {
	for k, vv := range h {
		if !httpguts.ValidHeaderFieldName(k) {
			return fmt.Sprintf("field name %q", k)
		}
		for _, v := range vv {
			if !httpguts.ValidHeaderFieldValue(v) {
				return fmt.Sprintf("field value for %q", k)
			}
		}
	}
	return ""
}

// validMethod: a token (RFC 7230 §3.1.1).
func validMethod(m string) bool {
	return len(m) > 0 && strings.IndexFunc(m, func(r rune) bool { return !httpguts.IsTokenRune(r) }) == -1
}

// writeHead writes a request without a body as (*http.Request).Write
// would, without its formatting and allocations, and with the header
// fields in the map's order rather than sorted by name (the order of a
// name's values is kept: it is the only order HTTP gives a meaning to);
// false
// (nothing written) for what it leaves to Write: Connection: close,
// Transfer-Encoding, CONNECT, opaque URLs, hosts that need punycode or
// lose a zone, control bytes in the target (Write's error), and traces
// that watch the writing.
func writeHead(bw *bufio.Writer, req *http.Request, trace *httptrace.ClientTrace) bool {
	if req.Close || len(req.TransferEncoding) != 0 || req.Method == http.MethodConnect || req.URL.Opaque != "" {
		return false
	}
	if trace != nil && (trace.WroteHeaderField != nil || trace.WroteHeaders != nil || trace.WroteRequest != nil) {
		return false
	}
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	for i := 0; i < len(host); i++ {
		if host[i] >= 0x80 || host[i] == '%' {
			return false
		}
	}
	if !httpguts.ValidHostHeader(host) {
		host = "" // as Write: an invalid Host is sent empty
	}
	path := req.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	query := req.URL.ForceQuery || req.URL.RawQuery != ""
	if hasCTL(path) || query && hasCTL(req.URL.RawQuery) {
		return false
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	bw.WriteString(method)
	bw.WriteByte(' ')
	bw.WriteString(path)
	if query {
		bw.WriteByte('?')
		bw.WriteString(req.URL.RawQuery)
	}
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(host)
	bw.WriteString("\r\n")
	ua := "Go-http-client/1.1" // Write's default
	if vv, ok := req.Header["User-Agent"]; ok {
		ua = ""
		if len(vv) > 0 {
			ua = vv[0]
		}
	}
	if ua != "" {
		// A valid header value has no newline to replace.
		bw.WriteString("User-Agent: ")
		bw.WriteString(textproto.TrimString(ua))
		bw.WriteString("\r\n")
	}
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		bw.WriteString("Content-Length: 0\r\n") // servers expect one
	}
	writeFields(bw, req.Header)
	bw.WriteString("\r\n")
	return true
}

// writeFields writes h as (http.Header).WriteSubset does with the fields
// (*http.Request).Write writes itself left out, unsorted: sorting them
// was a tenth of the head's cost.
func writeFields(bw *bufio.Writer, h http.Header) {
	for k, vv := range h {
		switch k {
		case "Host", "User-Agent", "Content-Length", "Transfer-Encoding", "Trailer":
			continue
		}
		if !httpguts.ValidHeaderFieldName(k) {
			continue // as WriteSubset: dropped
		}
		for _, v := range vv {
			if strings.IndexByte(v, '\n') >= 0 || strings.IndexByte(v, '\r') >= 0 { // faster than ContainsAny
				v = newlineToSpace.Replace(v)
			}
			bw.WriteString(k)
			bw.WriteString(": ")
			bw.WriteString(textproto.TrimString(v))
			bw.WriteString("\r\n")
		}
	}
}

// newlineToSpace is net/http's headerNewlineToSpace.
var newlineToSpace = strings.NewReplacer("\n", " ", "\r", " ")

func hasCTL(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] == 0x7f {
			return true
		}
	}
	return false
}

// got1xx is the receiver of a request's 1xx responses: its trace's hook,
// else its reqctx.Informational; nil when it has neither.
func got1xx(ctx context.Context, trace *httptrace.ClientTrace) func(int, textproto.MIMEHeader) error {
	if trace != nil && trace.Got1xxResponse != nil {
		return trace.Got1xxResponse
	}
	if inf := reqctx.InformationalOf(ctx); inf != nil {
		return inf.Got1xx
	}
	return nil
}
