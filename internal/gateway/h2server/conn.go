package h2server

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meshgate/meshgate/internal/gateway/yield"
	"golang.org/x/net/http2"
)

// Receive windows: what a client may send ahead of the handlers reading
// it, per stream and per connection (net/http's defaults).
const (
	streamWindow = 1 << 20
	connWindow   = 1 << 20
	// A window is refunded once this much of it was read, so that a
	// small body costs no WINDOW_UPDATE.
	refundThreshold = 64 << 10
	// initialWindow is the protocol's window before SETTINGS.
	initialWindow = 65535
	// maxWindow is a flow-control window's upper bound (RFC 9113 §6.9.1).
	maxWindow = 1<<31 - 1
)

// conn is one HTTP/2 connection. Its goroutine (serve) reads every frame
// and owns the stream table's admissions; handlers write their frames
// themselves under wmu.
type conn struct {
	srv        *Server
	nc         net.Conn
	tlsState   *tls.ConnectionState
	remoteAddr string
	ctx        context.Context // the base of its streams' contexts
	br         *bufio.Reader
	fr         *http2.Framer
	hr         *headerReader // the framer's reading of header blocks, without its allocations

	// Written by serve only (maxStreamID under mu too).
	maxStreamID       uint32 // highest stream the client opened
	refusedByHandlers int    // streams refused while the handler slots were full
	lingering         bool   // an error GOAWAY was sent: linger before closing

	// mu guards the stream table and the counts below.
	mu        sync.Mutex
	streams   map[uint32]*stream
	open      int    // streams open or half-closed (the RFC's count)
	handlers  int    // handlers running
	lastID    uint32 // after GOAWAY: the last stream processed
	goingAway bool
	idle      *time.Timer

	// wmu serializes writing: the framer's write side, the HPACK
	// encoder, the send windows (conn and streams') and peer settings.
	wmu           sync.Mutex
	wcond         sync.Cond // send window grew, or a stream or the conn ended
	writers       atomic.Int32
	flushOwed     bool // a response's writer yielded and flushes next (endResponseWrite)
	yield         bool // yield.Pays()
	bw            *bufio.Writer
	writeDeadline time.Time     // the socket's (writeDeadliner)
	henc          *fieldEncoder // writes into hbuf
	hbuf          []byte
	werr          error // the first write error; every later write fails
	prefaced      bool  // the server\'s SETTINGS are written
	sendConn      int64 // connection send window
	peerInit      int64 // the client's SETTINGS_INITIAL_WINDOW_SIZE
	peerMaxFrame  uint32

	// inflow guards the receive windows.
	inflow    sync.Mutex
	recvConn  int64 // what the client may still send on the connection
	unackConn int64 // read by handlers, not yet refunded
}

func newConn(s *Server, nc net.Conn) *conn {
	c := &conn{srv: s, nc: nc, yield: yield.Pays(), remoteAddr: nc.RemoteAddr().String(),
		streams: make(map[uint32]*stream), sendConn: initialWindow, peerInit: initialWindow,
		peerMaxFrame: 16384, recvConn: initialWindow}
	if tc, ok := nc.(*tls.Conn); ok {
		st := tc.ConnectionState()
		c.tlsState = &st
	}
	c.wcond.L = &c.wmu
	c.br = bufio.NewReaderSize(newFrameCounter(nc, s.maxHeaderListSize()), 16<<10)
	c.bw = bufio.NewWriterSize(writeDeadliner{c}, 16<<10)
	c.fr = http2.NewFramer(c.bw, c.br)
	c.hr = newHeaderReader(s.maxHeaderListSize())
	c.fr.SetReuseFrames()
	c.fr.SetMaxReadFrameSize(16384) // the protocol's default, not raised in SETTINGS
	c.henc = newFieldEncoder(&c.hbuf)
	ctx := context.WithValue(context.Background(), http.LocalAddrContextKey, nc.LocalAddr())
	if s.ConnContext != nil {
		ctx = s.ConnContext(ctx, nc)
	}
	// Values only: close cancels each stream itself, so streams do not
	// register in (and leave) a parent's set of children as they come
	// and go.
	c.ctx = ctx
	return c
}

// writeDeadliner bounds each socket write by the server's WriteTimeout
// (T). Moving a socket's deadline moves a timer in the runtime's heap:
// once a write, that was 1.7 % of the CPU an h2c request cost. So the
// deadline moves only when less than T is left, and then to 1.25 T away:
// a blocked write fails between T and 1.25 T after it began, and a busy
// connection moves its deadline once every T/4. Writes run under wmu.
type writeDeadliner struct{ c *conn }

func (w writeDeadliner) Write(p []byte) (int, error) {
	c := w.c
	t := c.srv.writeTimeout()
	if now := time.Now(); c.writeDeadline.Sub(now) < t {
		c.writeDeadline = now.Add(t + t/4)
		c.nc.SetWriteDeadline(c.writeDeadline)
	}
	return c.nc.Write(p)
}

// errConnClosed fails the writes and reads of a connection that ended.
var errConnClosed = errors.New("h2server: connection closed")

// serve runs the connection: preface, settings, then frames until the
// client or an error ends it.
func (c *conn) serve() {
	if c.srv.ConnState != nil {
		c.srv.ConnState(c.nc, http.StateNew)
	}
	defer c.close()
	if err := c.readPreface(); err != nil {
		return
	}
	c.mu.Lock()
	if d := c.srv.IdleTimeout; d > 0 {
		c.idle = time.AfterFunc(d, c.idleExpired)
	}
	c.mu.Unlock()
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			if !c.readError(err) {
				return
			}
			continue
		}
		if err := c.processFrame(f); err != nil {
			if !c.readError(err) {
				return
			}
		}
	}
}

// readPreface reads the client's preface and first SETTINGS, answering
// with the server's SETTINGS and connection window.
func (c *conn) readPreface() error {
	if d := c.srv.ReadHeaderTimeout; d > 0 {
		c.nc.SetReadDeadline(time.Now().Add(d))
	}
	var preface [len(http2.ClientPreface)]byte
	if _, err := io.ReadFull(c.br, preface[:]); err != nil || string(preface[:]) != http2.ClientPreface {
		return errors.New("h2server: bad connection preface")
	}
	c.startWrite()
	c.fr.WriteSettings(
		http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: c.srv.maxStreams()},
		http2.Setting{ID: http2.SettingMaxHeaderListSize, Val: c.srv.maxHeaderListSize()},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: streamWindow},
	)
	c.fr.WriteWindowUpdate(0, connWindow-initialWindow)
	c.prefaced = true
	err := c.endWrite()
	c.inflow.Lock()
	c.recvConn = connWindow
	c.inflow.Unlock()
	if err != nil {
		return err
	}
	f, err := c.fr.ReadFrame()
	if err != nil {
		c.readError(err)
		return err
	}
	sf, ok := f.(*http2.SettingsFrame)
	if !ok || sf.IsAck() {
		c.goAwayNow(http2.ErrCodeProtocol, errors.New("the client preface lacks SETTINGS"))
		return errors.New("h2server: no SETTINGS after the preface")
	}
	c.nc.SetReadDeadline(time.Time{})
	if err := c.processSettings(sf); err != nil {
		c.readError(err)
		return err
	}
	return nil
}

// readError handles an error of reading or processing a frame; false
// ends the connection.
func (c *conn) readError(err error) bool {
	var se http2.StreamError
	var ce http2.ConnectionError
	switch {
	case errors.As(err, &se):
		c.resetStream(se.StreamID, se.Code)
		return true
	case errors.As(err, &ce):
		c.goAwayNow(http2.ErrCode(ce), c.fr.ErrorDetail())
		return false
	case errors.Is(err, http2.ErrFrameTooLarge):
		c.goAwayNow(http2.ErrCodeFrameSize, nil)
		return false
	case errors.Is(err, errContinuationFlood):
		c.goAwayNow(http2.ErrCodeEnhanceYourCalm, err)
		return false
	}
	return false // the socket failed or the client closed it
}

// goAwayNow sends GOAWAY with code and ends the connection.
func (c *conn) goAwayNow(code http2.ErrCode, detail error) {
	c.mu.Lock()
	last := c.maxStreamID
	c.mu.Unlock()
	var debug []byte
	if detail != nil {
		debug = []byte(detail.Error())
	}
	c.startWrite()
	c.fr.WriteGoAway(last, code, debug)
	c.endWrite()
	c.lingering = true
}

// goAway starts a graceful close: the client learns the last stream that
// will be processed; the connection ends when those are done.
func (c *conn) goAway() {
	c.mu.Lock()
	if c.goingAway {
		c.mu.Unlock()
		return
	}
	c.goingAway = true
	c.lastID = c.maxStreamID
	last, done := c.lastID, c.open == 0 && c.handlers == 0
	c.mu.Unlock()
	c.startWrite()
	if c.prefaced {
		c.fr.WriteGoAway(last, http2.ErrCodeNo, nil)
	} else {
		done = true // the server's SETTINGS must come first: just close
	}
	c.endWrite()
	if done {
		c.closeSoon()
	}
}

// closeSoon closes a connection that has said GOAWAY and has nothing
// left to serve, after a moment for the client to read it.
func (c *conn) closeSoon() {
	time.AfterFunc(50*time.Millisecond, func() { c.nc.Close() })
}

// idleExpired closes a connection that has had no stream for
// IdleTimeout.
func (c *conn) idleExpired() {
	c.mu.Lock()
	idle := c.open == 0 && c.handlers == 0
	c.mu.Unlock()
	if idle {
		c.goAway()
	}
}

// close ends the connection: every stream's handler sees its context
// cancelled and its body fail.
func (c *conn) close() {
	if c.lingering {
		c.linger()
	}
	c.nc.Close()
	c.mu.Lock()
	if c.idle != nil {
		c.idle.Stop()
	}
	streams := make([]*stream, 0, len(c.streams))
	for _, st := range c.streams {
		streams = append(streams, st)
	}
	c.mu.Unlock()
	for _, st := range streams {
		st.abort(errConnClosed)
	}
	c.wmu.Lock()
	if c.werr == nil {
		c.werr = errConnClosed
	}
	c.wcond.Broadcast()
	c.wmu.Unlock()
	if c.srv.ConnState != nil {
		c.srv.ConnState(c.nc, http.StateClosed)
	}
}

// linger lets a client that is cut with an error read the GOAWAY saying
// why: closing with its bytes unread would reset the connection, and
// the reset can discard the GOAWAY before the client reads it.
func (c *conn) linger() {
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	c.nc.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	io.Copy(io.Discard, io.LimitReader(c.nc, 256<<10))
}

// resetOnClose makes closing nc reset the TCP connection (SO_LINGER 0):
// what a client stopped reading is dropped, not kept queued by the
// kernel. Wrappers (TLS, the listener's sniffing) are looked through.
func resetOnClose(nc net.Conn) {
	for {
		if l, ok := nc.(interface{ SetLinger(int) error }); ok {
			l.SetLinger(0)
			return
		}
		u, ok := nc.(interface{ NetConn() net.Conn })
		if !ok {
			return
		}
		nc = u.NetConn()
	}
}

// ---- writing ----

// startWrite takes the write lock; the writer that leaves last flushes
// (endWrite), so frames from handlers finishing together share a write.
func (c *conn) startWrite() {
	c.writers.Add(1)
	c.wmu.Lock()
}

// endWrite releases the write lock, flushing when no other writer waits;
// it returns the connection's write error, if any.
func (c *conn) endWrite() error {
	c.release()
	err := c.werr
	c.wmu.Unlock()
	return err
}

// endResponseWrite is endWrite at the end of a response. With one P
// (yield), the last writer gives the other ready goroutines a turn
// before it flushes: the handlers of the connection's other streams that
// end their responses meanwhile leave the flush to it, and the responses
// go out in one write, one TCP segment, where each took its own (h2c:
// 1.0 -> 0.4 writes to the client a request). Only a handler that is done
// waits for it; every other write (a streaming Flush, control frames, a
// GOAWAY before a close) still flushes at once.
func (c *conn) endResponseWrite() error {
	if c.yield && c.writers.Load() == 1 && c.werr == nil && c.bw.Buffered() > 0 {
		c.writers.Add(-1) // while it waits, others flush at their end
		owed := c.flushOwed
		c.flushOwed = true
		c.wmu.Unlock()
		if owed {
			return nil // a writer that yielded before flushes this too
		}
		runtime.Gosched()
		c.startWrite()
		c.flushOwed = false
	}
	return c.endWrite()
}

// release gives up the writer's turn, flushing when it is the last one.
// wmu is held.
func (c *conn) release() {
	if c.writers.Add(-1) == 0 && c.werr == nil && c.bw.Buffered() > 0 {
		if err := c.bw.Flush(); err != nil {
			c.writeFailed(err)
		}
	}
}

// writeFailed ends the connection after a write failed (the client stops
// reading past WriteTimeout, or left): every writer and waiter fails with
// err and the reader ends the connection. wmu is held.
func (c *conn) writeFailed(err error) {
	if c.werr == nil {
		c.werr = err
		if errors.Is(err, os.ErrDeadlineExceeded) {
			resetOnClose(c.nc)
		}
		c.nc.Close()
		c.wcond.Broadcast()
	}
}

// waitWindow waits, wmu held, for the next change of a send window or
// the end of a stream or of the connection (the caller checks which);
// the frames written so far are flushed first.
func (c *conn) waitWindow() {
	c.release()
	c.wcond.Wait()
	c.writers.Add(1)
}

// writeHeaderBlock writes a header block hpack-encoded in c.hbuf as
// HEADERS and as many CONTINUATIONs as the peer's frame size needs.
// wmu is held.
func (c *conn) writeHeaderBlock(id uint32, endStream bool) error {
	block := c.hbuf
	max := int(c.peerMaxFrame)
	first := block
	if len(first) > max {
		first = first[:max]
	}
	block = block[len(first):]
	err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: first,
		EndStream: endStream, EndHeaders: len(block) == 0})
	for err == nil && len(block) > 0 {
		frag := block
		if len(frag) > max {
			frag = frag[:max]
		}
		block = block[len(frag):]
		err = c.fr.WriteContinuation(id, len(block) == 0, frag)
	}
	c.hbuf = c.hbuf[:0]
	if err != nil {
		c.writeFailed(err)
	}
	return c.werr
}

// resetStream answers a stream error on id with RST_STREAM; a stream
// still in the table ends on the server's side.
func (c *conn) resetStream(id uint32, code http2.ErrCode) {
	c.mu.Lock()
	st := c.streams[id]
	c.mu.Unlock()
	if st != nil {
		c.resetOwn(st, code)
		return
	}
	c.startWrite()
	c.fr.WriteRSTStream(id, code)
	c.endWrite()
}

// resetOwn ends st with RST_STREAM code, unless it was reset already
// (by either side: no RST_STREAM answers one, RFC 9113 §5.4.2).
func (c *conn) resetOwn(st *stream, code http2.ErrCode) {
	c.startWrite()
	already := st.reset
	if !already {
		st.reset = true
		c.wcond.Broadcast()
		c.fr.WriteRSTStream(st.id, code)
	}
	c.endWrite()
	st.abort(fmt.Errorf("h2server: stream reset by the server (%v)", code))
	c.closeStream(st, true, true)
}

// closeStream records that a side of st ended; the stream leaves the
// table when both have.
func (c *conn) closeStream(st *stream, remote, local bool) {
	c.mu.Lock()
	c.closeStreamLocked(st, remote, local, false)
	c.mu.Unlock()
}

// closeStreamLocked is closeStream with mu held; handlerDone also frees
// the stream's handler slot.
func (c *conn) closeStreamLocked(st *stream, remote, local, handlerDone bool) {
	if remote {
		st.remoteClosed = true
	}
	if local {
		st.localClosed = true
	}
	if handlerDone && st.handling {
		st.handling = false
		c.handlers--
	}
	if st.remoteClosed && st.localClosed && !st.gone {
		st.gone = true
		delete(c.streams, st.id)
		c.open--
	}
	c.noteIdle(c.open == 0 && c.handlers == 0)
}

// endLocal records, wmu held, that st's response is ending (and whether
// its handler is done), before the frame that says so is flushed: a
// client that sends its next request as soon as it reads the end must
// find the stream's slot free (RFC 9113 §5.1.2).
func (c *conn) endLocal(st *stream, handlerDone bool) {
	c.mu.Lock()
	c.closeStreamLocked(st, false, true, handlerDone)
	c.mu.Unlock()
}

// noteIdle arms the idle timer when the connection has nothing left,
// and closes a connection going away. mu is held.
func (c *conn) noteIdle(done bool) {
	if !done {
		return
	}
	if c.goingAway {
		c.closeSoon()
		return
	}
	if c.idle != nil {
		c.idle.Reset(c.srv.IdleTimeout)
	}
}
