package h2server

import (
	"errors"
	"io"
	"net/http"
	"net/textproto"
	"sync"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// requestBody is a request's body: DATA frames the reading goroutine
// received, waiting for the handler to read them. What it holds is
// bounded by the stream's receive window, which is refunded to the
// client as the handler reads.
type requestBody struct {
	st   *stream
	mu   sync.Mutex
	cond sync.Cond
	buf  []byte
	r    int   // read offset in buf
	err  error // io.EOF once the stream ended, or why it failed
	// closed: the handler closed the body; what still arrives is dropped.
	closed        bool
	needsContinue bool
	declared      int64 // Content-Length, or -1
	received      int64
	window        int64 // what the client may still send on the stream
	unack         int64 // read, not yet refunded
	// trailer is Request.Trailer: the client's trailers (gotTrailer)
	// reach it when the handler reads the body's end, as in net/http.
	trailer    http.Header
	gotTrailer http.Header
}

func newRequestBody(st *stream, declared int64, trailer http.Header, needsContinue bool) *requestBody {
	b := &requestBody{st: st, declared: declared, window: streamWindow, trailer: trailer, needsContinue: needsContinue}
	b.cond.L = &b.mu
	return b
}

var errBodyClosed = errors.New("h2server: read on closed body")

// receive takes one DATA frame's payload (size counts its padding too).
func (b *requestBody) receive(data []byte, end bool, size int64) error {
	id := b.st.id
	var dropped int64
	defer func() { b.st.c.refund(nil, dropped) }() // after mu: it may write
	b.mu.Lock()
	defer b.mu.Unlock()
	// A violation is answered with RST_STREAM, and only then does the
	// handler see its body fail (resetOwn), so it cannot answer first.
	if size > b.window {
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeFlowControl}
	}
	b.window -= size
	b.received += int64(len(data))
	if b.declared >= 0 && (b.received > b.declared || end && b.received != b.declared) {
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeProtocol}
	}
	if b.closed || b.err != nil {
		dropped = int64(len(data))
	} else {
		if b.r == len(b.buf) {
			b.buf, b.r = b.buf[:0], 0
		}
		b.buf = append(b.buf, data...)
	}
	if end && b.err == nil {
		b.err = io.EOF
	}
	b.cond.Broadcast()
	return nil
}

// receiveTrailers ends the body with the client's trailers; the fields
// the request declared (Trailer) reach Request.Trailer, as in net/http.
func (b *requestBody) receiveTrailers(fields []hpack.HeaderField) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.declared >= 0 && b.received != b.declared {
		return http2.StreamError{StreamID: b.st.id, Code: http2.ErrCodeProtocol}
	}
	for _, hf := range fields {
		key := textproto.CanonicalMIMEHeaderKey(hf.Name)
		if !httpguts.ValidTrailerHeader(key) {
			return http2.StreamError{StreamID: b.st.id, Code: http2.ErrCodeProtocol}
		}
		if _, declared := b.trailer[key]; declared {
			if b.gotTrailer == nil {
				b.gotTrailer = make(http.Header)
			}
			b.gotTrailer[key] = append(b.gotTrailer[key], hf.Value)
		}
	}
	if b.err == nil {
		b.err = io.EOF
	}
	b.cond.Broadcast()
	return nil
}

func (b *requestBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	if b.needsContinue {
		b.needsContinue = false
		b.mu.Unlock()
		b.st.c.writeContinue(b.st)
		b.mu.Lock()
	}
	for b.r == len(b.buf) && b.err == nil {
		b.cond.Wait()
	}
	if b.r == len(b.buf) {
		err := b.err
		b.endTrailers()
		b.mu.Unlock()
		return 0, err
	}
	n := copy(p, b.buf[b.r:])
	b.r += n
	var err error
	if b.r == len(b.buf) && b.err == io.EOF {
		err = io.EOF
		b.endTrailers()
	}
	b.mu.Unlock()
	b.st.c.refund(b, int64(n))
	return n, err
}

// endTrailers moves the trailers received into Request.Trailer once the
// handler read the body's end; mu is held.
func (b *requestBody) endTrailers() {
	if b.err == io.EOF && b.gotTrailer != nil {
		for k, vv := range b.gotTrailer {
			b.trailer[k] = vv
		}
		b.gotTrailer = nil
	}
}

// Close drops what is buffered and what still arrives; the client is
// told to stop sending when the handler ends (RST_STREAM NO_ERROR).
func (b *requestBody) Close() error {
	b.mu.Lock()
	dropped := int64(len(b.buf) - b.r)
	b.closed = true
	b.buf, b.r = nil, 0
	if b.err == nil {
		b.err = errBodyClosed
	}
	b.cond.Broadcast()
	b.mu.Unlock()
	b.st.c.refund(nil, dropped)
	return nil
}

// fail ends the body with err unless it already ended.
func (b *requestBody) fail(err error) {
	b.mu.Lock()
	b.failLocked(err)
	b.mu.Unlock()
}

func (b *requestBody) failLocked(err error) {
	if b.err == nil {
		b.err = err
	}
	b.cond.Broadcast()
}

// refundStream notes n bytes read; it returns the stream window to give
// back now (zero while below the threshold, or once the stream ended).
func (b *requestBody) refundStream(n int64) int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return 0
	}
	b.unack += n
	if b.unack < refundThreshold {
		return 0
	}
	inc := b.unack
	b.unack = 0
	b.window += inc
	return inc
}

// refund gives read (or dropped) bytes back to the client's windows:
// the connection's always, b's stream's too when b is set.
func (c *conn) refund(b *requestBody, n int64) {
	if n <= 0 {
		return
	}
	var connInc, streamInc int64
	c.inflow.Lock()
	c.unackConn += n
	if c.unackConn >= refundThreshold {
		connInc, c.unackConn = c.unackConn, 0
		c.recvConn += connInc
	}
	c.inflow.Unlock()
	if b != nil {
		streamInc = b.refundStream(n)
	}
	if connInc == 0 && streamInc == 0 {
		return
	}
	c.startWrite()
	if connInc > 0 {
		c.fr.WriteWindowUpdate(0, uint32(connInc))
	}
	if streamInc > 0 && !b.st.reset {
		c.fr.WriteWindowUpdate(b.st.id, uint32(streamInc))
	}
	c.endWrite()
}
